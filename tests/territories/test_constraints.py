"""Design constraints on a real PostGIS: nesting, bases, drive-time limits, rebalancing, the
workload criterion, and the design command that saves plans.

The grid of tests/territories/grid.py plus, in a database of its own: a parent level
``block`` of 2 x 2 quadrants (nested by parent code), a level ``half`` (west, east) with no
parent codes, two branches at opposite corners and a road along every row and column of
cell centres, a little longer than the grid so that every junction is a crossing (30 km/h:
about 67 s from one cell centre to the next).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from gcrm.access import add_user
from gcrm.cli import cli
from gcrm.core import NotFoundError, ValidationError
from gcrm.ingest import import_addresses
from gcrm.routing import read_road_graph
from gcrm.store import create_db_engine
from gcrm.territories import (
    design_constraints,
    drive_allowed,
    nest_by,
    parse_design_balance,
    parse_max_moves,
    parse_visits,
    plan_start,
    read_bases,
    read_design_units,
    read_plan,
    read_workload,
    save_plan,
)
from tests.databases import new_database
from tests.ingest.committed import write_reference
from tests.territories.grid import GRID_SQL, SIDE, UNITS

CONSTRAINTS_SQL = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('block', NULL, 0, 'Block', 'test'), ('half', NULL, 0, 'Half', 'test');
UPDATE gcrm.area_levels SET parent_level = 'block', nested = true WHERE level = 'cell';
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
SELECT 'block', format('B%s%s', i, j), format('Block %s-%s', i, j), NULL, 'test',
       ST_Multi(ST_MakeEnvelope(24.9 + i * 0.04, 60.1 + j * 0.02,
                                24.94 + i * 0.04, 60.12 + j * 0.02, 4326))
FROM generate_series(0, 1) i, generate_series(0, 1) j;
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
VALUES ('half', 'W', 'West', NULL, 'test',
        ST_Multi(ST_MakeEnvelope(24.9, 60.1, 24.94, 60.14, 4326))),
       ('half', 'E', 'East', NULL, 'test',
        ST_Multi(ST_MakeEnvelope(24.94, 60.1, 24.98, 60.14, 4326)));
UPDATE gcrm.areas
SET parent_code = format('B%s%s', substr(code, 2, 1)::int / 4, substr(code, 3, 1)::int / 4)
WHERE level = 'cell' AND code <> 'ISLAND';
UPDATE gcrm.areas SET parent_code = 'B00' WHERE level = 'cell' AND code = 'ISLAND';
INSERT INTO gcrm.branches (code, name, geom)
VALUES ('BR1', 'South-west', ST_SetSRID(ST_MakePoint(24.905, 60.1025), 4326)),
       ('BR2', 'North-east', ST_SetSRID(ST_MakePoint(24.975, 60.1375), 4326));
INSERT INTO gcrm.roads (ref, class, speed_kmh, name, oneway, geom)
SELECT format('row-%s', j), 'residential', 30, NULL, false,
       ST_SetSRID(ST_MakeLine(ST_MakePoint(24.895, 60.1025 + j * 0.005),
                              ST_MakePoint(24.985, 60.1025 + j * 0.005)), 4326)
FROM generate_series(0, 7) j;
INSERT INTO gcrm.roads (ref, class, speed_kmh, name, oneway, geom)
SELECT format('col-%s', i), 'residential', 30, NULL, false,
       ST_SetSRID(ST_MakeLine(ST_MakePoint(24.905 + i * 0.01, 60.0975),
                              ST_MakePoint(24.905 + i * 0.01, 60.1425)), 4326)
FROM generate_series(0, 7) i
"""


@pytest.fixture(scope="module")
def constrained_url() -> Iterator[str]:
    """A committed database: the grid with blocks, halves, branches and roads."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                for statement in filter(str.strip, (GRID_SQL + ";" + CONSTRAINTS_SQL).split(";")):
                    conn.execute(text(statement))
            yield url
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cells(constrained_url: str) -> gpd.GeoDataFrame:
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            return read_design_units(conn, level="cell", criteria=["customers", "revenue"])
    finally:
        engine.dispose()


def _ij(code: str) -> tuple[int, int]:
    return int(code[1]), int(code[2])


def test_nest_follows_parent_codes_else_the_area_holding_the_unit(constrained_url: str) -> None:
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            blocks = nest_by(conn, level="cell", within="block")
            halves = nest_by(conn, level="cell", within="half")
            with pytest.raises(ValidationError, match=r"--within 'cell' \(rank 1\) is not coarser"):
                nest_by(conn, level="block", within="cell")
            with pytest.raises(NotFoundError, match=r"--within 'county' is not an area level"):
                nest_by(conn, level="cell", within="county")
    finally:
        engine.dispose()
    grid = [f"C{i}{j}" for i in range(SIDE) for j in range(SIDE)]
    assert {c: blocks[c] for c in grid} == {c: f"B{_ij(c)[0] // 4}{_ij(c)[1] // 4}" for c in grid}
    # The island's parent code says B00, though it lies nearest B11: the chain was followed.
    assert blocks["ISLAND"] == "B00" and len(blocks) == UNITS
    # No parent codes for halves: the half holding each cell, the nearest for the island.
    assert {c: halves[c] for c in grid} == {c: "W" if _ij(c)[0] < 4 else "E" for c in grid}
    assert halves["ISLAND"] == "E"


def test_bases_seed_the_unit_holding_them(
    constrained_url: str, cells: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("name,rep,lon,lat\nHome A,Ann,24.955,60.1225\nHome B,,24.915,60.1075\n")
    same = tmp_path / "same.csv"
    same.write_text("name,lon,lat\nOne,24.9051,60.1026\nTwo,24.9052,60.1027\n")
    far = tmp_path / "far.csv"
    far.write_text("name,lon,lat\nMoon,10.0,50.0\n")
    lost = tmp_path / "lost.csv"
    lost.write_text("name,address\nNowhere,Nonexistent Road 999 Atlantis\n")
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn, conn.begin():
            branches = read_bases(conn, "branches", units=cells)
            homes = read_bases(conn, reps, units=cells)
            with pytest.raises(ValidationError, match=r"\['One', 'Two'\] all fall in unit 'C00'"):
                read_bases(conn, same, units=cells)
            with pytest.raises(ValidationError, match=r"'Moon' .* more than 5 km from every unit"):
                read_bases(conn, far, units=cells)
            with pytest.raises(ValidationError, match=r"row 2 .*'Nowhere'.* has no location"):
                read_bases(conn, lost, units=cells)
    finally:
        engine.dispose()
    assert branches.seeds == {1: "C00", 2: "C77"}
    assert branches.labels[1] == ("South-west", 24.905, 60.1025)
    assert homes.seeds == {1: "C54", 2: "C11"} and homes.reps == {1: "Ann"}


def test_bases_at_addresses_are_geocoded(
    constrained_url: str, cells: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    homes = tmp_path / "homes.csv"
    homes.write_text(
        "name,rep,address,lon,lat\n"
        'North,Ann,"Mannerheimintie 10, 00100 Helsinki",,\n'
        "South,Bo,,24.905,60.1025\n",
        encoding="utf-8",
    )
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            import_addresses(conn, write_reference(tmp_path))
            bases = read_bases(conn, homes, units=cells)
            transaction.rollback()
    finally:
        engine.dispose()
    # Mannerheimintie 10 (24.9402, 60.1692) lies 3 km north of the grid: its nearest cell.
    assert bases.table[["lon", "lat"]].iloc[0].tolist() == pytest.approx([24.9402, 60.1692])
    assert bases.seeds == {1: "C47", 2: "C00"} and bases.reps == {1: "Ann", 2: "Bo"}


def test_drive_limits_follow_the_roads(constrained_url: str, cells: gpd.GeoDataFrame) -> None:
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            graph = read_road_graph(conn, store=False)
            bases = read_bases(conn, "branches", units=cells)
    finally:
        engine.dispose()
    # 5 minutes: four steps of ~67 s between cell centres, not five.
    with pytest.raises(ValidationError, match=r"unit\(s\) are farther .*ISLAND.*raise --max-drive"):
        drive_allowed(graph, units=cells, bases=bases, k=2, max_drive_min=5)
    allowed = drive_allowed(graph, units=cells, bases=bases, k=3, max_drive_min=5)
    codes = cells["code"].tolist()
    steps = {c: sum(_ij(c)) for c in codes if c != "ISLAND"}
    expected_sw = [c != "ISLAND" and steps[c] <= 4 for c in codes]
    expected_ne = [c != "ISLAND" and 14 - steps[c] <= 4 for c in codes]
    assert allowed[:, 0].tolist() == expected_sw
    assert allowed[:, 1].tolist() == expected_ne
    assert allowed[:, 2].all()  # a territory without a base has no limit
    # 50 minutes: the island (~10 km off the nearest road, ~41 min at the access speed) is
    # within reach of the north-east branch, not of the south-west one (~16 min farther).
    wide = drive_allowed(graph, units=cells, bases=bases, k=2, max_drive_min=50)
    island = codes.index("ISLAND")
    assert wide[island].tolist() == [False, True]
    assert wide[[i for i in range(len(codes)) if i != island]].all()
    with pytest.raises(ValidationError, match=r"--max-drive-min -1 must be a positive number"):
        drive_allowed(graph, units=cells, bases=bases, k=2, max_drive_min=-1)
    with pytest.raises(ValidationError, match=r"--k 1 is below the 2 bases; use --k 2"):
        drive_allowed(graph, units=cells, bases=bases, k=1, max_drive_min=50)


def test_rebalancing_starts_from_a_stored_plan(
    constrained_url: str, cells: gpd.GeoDataFrame
) -> None:
    assignment = {c: 1 + (_ij(c)[0] >= 4 if c != "ISLAND" else 1) for c in cells["code"]}
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            plan_id = save_plan(
                conn, name="Halves", level="cell", assignment=assignment, created_by="test"
            )
            plan = read_plan(conn, str(plan_id))
            got = design_constraints(
                conn, units=cells, level="cell", from_plan="Halves", max_moves="10%"
            )
            with pytest.raises(ValidationError, match=r"needs --from-plan PLAN"):
                design_constraints(conn, units=cells, level="cell", k=2, max_moves="5")
            with pytest.raises(ValidationError, match=r"needs --base branches or --base FILE"):
                design_constraints(conn, units=cells, level="cell", k=2, max_drive_min=10)
            with pytest.raises(ValidationError, match=r"--k is missing"):
                design_constraints(conn, units=cells, level="cell")
            transaction.rollback()
    finally:
        engine.dispose()
    assert got.start == assignment and got.k == 2 and got.max_moves == 6
    assert got.design_options() == {"start": assignment, "max_moves": 6}
    with pytest.raises(
        ValidationError, match=r"plan of level 'cell', not 'zone'; use --level cell"
    ):
        plan_start(plan, units=cells, level="zone")
    with pytest.raises(ValidationError, match=r"units \['C00'\] have no territory"):
        short = replace(plan, assignment=plan.assignment.drop("C00"))
        plan_start(short, units=cells, level="cell")


def test_move_budgets_visits_and_balance_parse_or_say_what_to_write() -> None:
    assert parse_max_moves("5%", units=UNITS) == 3 and parse_max_moves("70", units=UNITS) == 70
    for bad, says in [("x", "neither a count"), ("2.5", "neither a count"), ("150%", "100 %")]:
        with pytest.raises(ValidationError, match=says):
            parse_max_moves(bad, units=UNITS)
    assert parse_visits("retail:2x30, smb:6x45") == {"retail": (2.0, 30.0), "smb": (6.0, 45.0)}
    with pytest.raises(ValidationError, match=r"'retail:2' is not segment:VISITSxMINUTES"):
        parse_visits("retail:2")
    assert parse_design_balance("customers,workload:2") == {"customers": 1.0, "workload": 2.0}
    with pytest.raises(ValidationError, match=r"'profit' is unknown; use one of .*'workload'"):
        parse_design_balance("profit")


def test_workload_is_visit_hours_of_active_customers(
    constrained_url: str, cells: gpd.GeoDataFrame
) -> None:
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            hours = read_workload(conn, level="cell", visits={"retail": (3.0, 40.0)})
            with pytest.raises(
                ValidationError, match=r"\['smb'\] have no active customer.*'retail'"
            ):
                read_workload(conn, level="cell", visits={"smb": (1.0, 10.0)})
    finally:
        engine.dispose()
    customers = cells.set_index("code")["customers"]
    assert np.allclose(hours.reindex(customers.index).to_numpy(), customers.to_numpy() * 2.0)


def _design(url: str, tmp_path: Path, *args: str, as_user: str | None = None) -> Result:
    env = {"GCRM_DATABASE_URL": url, "GCRM_DATA_DIR": str(tmp_path / "data")}
    acting = ["--as", as_user] if as_user else []
    command = [*acting, "territories", "design", "--level", "cell", *args]
    return CliRunner().invoke(cli, command, env=env)


def test_cli_saves_a_nested_plan_and_rebalances_it(constrained_url: str, tmp_path: Path) -> None:
    nothing = _design(constrained_url, tmp_path, "--k", "4")
    assert nothing.exit_code == 2
    assert "give --name '2026 plan' to save the plan, -o plan.gpkg to write it" in nothing.output
    balance = ["--balance", "customers:1,revenue:1"]
    first = _design(
        constrained_url, tmp_path, "--k", "4", "--within", "block", *balance,
        "--name", "Nested", "--current",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "plan saved: Nested@1 (#" in first.output and "(current)" in first.output
    again = _design(
        constrained_url, tmp_path, "--from-plan", "Nested", "--max-moves", "3", *balance,
        "--name", "Nested", "-o", str(tmp_path / "plan.csv"),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "plan saved: Nested@2 (#" in again.output and (tmp_path / "plan.csv").exists()
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            nested = read_plan(conn, "Nested@1")
            moved = read_plan(conn, "Nested@2")
            blocks = nest_by(conn, level="cell", within="block")
    finally:
        engine.dispose()
    assert nested.is_current and nested.k == 4 and nested.settings["within"] == "block"
    assert nested.created_by.startswith("cli:") and nested.figures["contiguous"]
    # Every territory inside one block: each block's cells share their territory.
    per_block = nested.assignment.groupby(nested.assignment.index.map(blocks)).nunique()
    assert per_block.tolist() == [1, 1, 1, 1]
    assert moved.parent_id == nested.id and moved.settings["method"] == "rebalance"
    assert moved.settings["max_moves"] == 3 and not moved.is_current
    changed = moved.assignment.reindex(nested.assignment.index) != nested.assignment
    assert int(changed.sum()) <= 3


def test_cli_territories_of_branches_within_a_drive_time(
    constrained_url: str, tmp_path: Path
) -> None:
    done = _design(
        constrained_url, tmp_path, "--base", "branches", "--max-drive-min", "50",
        "--name", "By branch",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    short = _design(
        constrained_url, tmp_path, "--base", "branches", "--max-drive-min", "5", "--name", "X"
    )
    assert isinstance(short.exception, ValidationError)
    assert re.search(
        r"farther than that from every base \(ISLAND \(\d+ min\)", str(short.exception)
    )
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            plan = read_plan(conn, "By branch")
    finally:
        engine.dispose()
    assert plan.k == 2 and plan.settings["max_drive_min"] == 50
    bases = plan.territories.set_index("territory")
    assert bases.loc[1, ["name", "base"]].tolist() == ["South-west", "South-west"]
    assert bases.loc[2, ["lon", "lat"]].tolist() == pytest.approx([24.975, 60.1375])
    # Each branch's own cell is in its territory; the island only the north-east reaches.
    assert plan.assignment[["C00", "C77", "ISLAND"]].tolist() == [1, 2, 2]


def test_cli_balances_workload_of_visits(constrained_url: str, tmp_path: Path) -> None:
    lonely = _design(constrained_url, tmp_path, "--k", "3", "--balance", "workload", "--name", "W")
    assert lonely.exit_code == 2 and "--balance workload and --visits go together" in lonely.output
    done = _design(
        constrained_url, tmp_path, "--k", "3", "--balance", "workload:1,customers:1",
        "--visits", "retail:4x30", "--name", "Workload", "-o", str(tmp_path / "w.csv"),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "workload (weight 1): max deviation from the mean" in done.output
    table = pd.read_csv(tmp_path / "w.csv").set_index("code")
    assert np.allclose(table["workload"], table["customers"] * 2.0)


def test_cli_designs_for_a_planner_and_refuses_a_manager(
    constrained_url: str, tmp_path: Path
) -> None:
    engine = create_db_engine(constrained_url)
    try:
        with engine.begin() as conn:
            add_user(conn, "pia", role="planner", scopes=["cell:C00", "cell:C01", "cell:C10"])
            add_user(conn, "max", role="manager", scopes=["all"])
    finally:
        engine.dispose()
    args = ["--k", "2", "--name", "Pia's plan"]
    refused = _design(constrained_url, tmp_path, *args, as_user="max")
    assert refused.exit_code == 2 and "may not use designing" in refused.output
    done = _design(constrained_url, tmp_path, *args, as_user="pia")
    assert done.exit_code == 0, done.output
    engine = create_db_engine(constrained_url)
    try:
        with engine.connect() as conn:
            plan = read_plan(conn, "Pia's plan")
    finally:
        engine.dispose()
    # Saved under the planner's name, designed on the areas of her scope.
    assert plan.created_by == "pia" and sorted(plan.assignment.index) == ["C00", "C01", "C10"]


def test_cli_nests_the_territories_of_bases_in_their_bases_areas(
    constrained_url: str, tmp_path: Path
) -> None:
    bare = _design(
        constrained_url,
        tmp_path,
        "--base",
        "branches",
        "--within",
        "block",
        "-o",
        str(tmp_path / "x.csv"),
    )
    assert isinstance(bare.exception, ValidationError)
    assert "2 block area(s) have no base (B01, B10); add a base in each" in str(bare.exception)
    out = tmp_path / "halves.csv"
    done = _design(
        constrained_url, tmp_path, "--base", "branches", "--within", "half",
        "--max-drive-min", "50", "-o", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    got = pd.read_csv(out).set_index("code")["territory"]
    # One territory per branch, each the half its branch stands in (the island is east's).
    expected = {c: 1 if c != "ISLAND" and _ij(c)[0] < 4 else 2 for c in got.index}
    assert got.to_dict() == expected
