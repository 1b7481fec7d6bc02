"""Publishing a plan on a real PostGIS: the territory level and its units, every customer's
and lead's territory, exports and the API, the cube, replacing a publication, scopes kept,
enrichment of new points, and the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, text

from gcrm.access import act_as, add_user, principal_by_name, scoped_engine
from gcrm.api.customers import read_customer
from gcrm.cli import cli, main
from gcrm.core import ValidationError
from gcrm.cube import build_region_cube, load_cube
from gcrm.enrich import enrich_points
from gcrm.exports import TERRITORY_COLUMNS, read_points
from gcrm.store import create_db_engine
from gcrm.territories import (
    design_territories,
    publish_plan,
    read_design_units,
    read_plan,
    read_publications,
    save_plan,
)
from tests.databases import new_database
from tests.territories.grid import GRID_SQL, UNITS

# Two counties over the grid (west: columns 0-3, east: 4-7; the island in neither), the
# cells under them, and a lead in every cell.
COUNTIES_AND_LEADS = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('county', NULL, 0, 'County', 'test');
UPDATE gcrm.area_levels SET parent_level = 'county' WHERE level = 'cell';
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) VALUES
    ('county', 'W', 'West', NULL, 'test', ST_Multi(ST_MakeEnvelope(24.9, 60.1, 24.94, 60.14, 4326))),
    ('county', 'E', 'East', NULL, 'test', ST_Multi(ST_MakeEnvelope(24.94, 60.1, 24.98, 60.14, 4326)));
UPDATE gcrm.customer_enrichment e SET area_codes = e.area_codes || jsonb_build_object('county', c.code)
FROM gcrm.areas c WHERE c.level = 'county' AND ST_Contains(c.geom, e.geom);
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, geom)
SELECT 'L-' || a.code, 'Lead', 'retail', 'shop', 'test', ST_PointOnSurface(a.geom)
FROM gcrm.areas a WHERE a.level = 'cell';
INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes)
SELECT r.external_id, r.geom, jsonb_build_object('cell', substr(r.external_id, 3))
FROM gcrm.lead_records r;
UPDATE gcrm.lead_enrichment e SET area_codes = e.area_codes || jsonb_build_object('county', c.code)
FROM gcrm.areas c WHERE c.level = 'county' AND ST_Contains(c.geom, e.geom)
"""
REPS = {1: "Ann", 2: "Bo"}
NAMES = {1: "North", 2: "South"}


@pytest.fixture(scope="module")
def owner() -> Iterator[Engine]:
    """A committed grid database of this module's own (publishing writes areas)."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                for sql in (GRID_SQL, COUNTIES_AND_LEADS):
                    for statement in filter(str.strip, sql.split(";")):
                        conn.execute(text(statement))
                add_user(conn, "west", role="manager", scopes=["county:W"])
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def plans(owner: Engine) -> tuple[int, int]:
    """Two plans of the cells: 4 territories (two named, with reps), and 3."""
    with owner.connect() as conn:
        units = read_design_units(conn, level="cell", criteria=["customers", "revenue"])
    balance = {"customers": 1.0, "revenue": 1.0}
    four = design_territories(units, k=4, balance=balance, seed=0)
    three = design_territories(units, k=3, balance=balance, seed=1)
    with owner.begin() as conn:
        a = save_plan(
            conn,
            name="Four",
            level="cell",
            assignment=four.assignment,
            created_by="planner",
            reps=REPS,
            territory_names=NAMES,
        )
        b = save_plan(
            conn, name="Three", level="cell", assignment=three.assignment, created_by="planner"
        )
    return a, b


def _codes(conn: Connection, table: str) -> pd.DataFrame:
    rows = conn.execute(text(f"SELECT external_id, area_codes FROM {table}")).all()
    return pd.DataFrame([{"external_id": r[0], **r[1]} for r in rows]).set_index("external_id")


def _scoped_ids(owner: Engine, user: str = "west") -> dict[str, list[str]]:
    """What ``user`` (west: a manager of county:W) reads through the application's engine."""
    with owner.connect() as conn:
        principal = principal_by_name(conn, user)
    engine = scoped_engine(owner.url.render_as_string(hide_password=False))
    try:
        with act_as(principal), engine.connect() as conn:
            return {
                view: sorted(conn.execute(text(f"SELECT external_id FROM gcrm.{view}")).scalars())
                for view in ("customers", "leads")
            }
    finally:
        engine.dispose()


def _check_placed(conn: Connection, plan_id: int) -> None:
    """Every customer and lead carries its cell's territory and the cell as its unit."""
    plan = read_plan(conn, plan_id)
    for table in ("gcrm.customer_enrichment", "gcrm.lead_enrichment"):
        codes = _codes(conn, table)
        expected = codes["cell"].map(lambda c: f"T{plan.assignment[c]:02d}")
        assert codes["territory"].tolist() == expected.tolist()
        assert codes["territory_unit"].tolist() == codes["cell"].tolist()


def test_publish_writes_the_levels_codes_exports_api_and_cube(
    owner: Engine, plans: tuple[int, int]
) -> None:
    a, _b = plans
    before = _scoped_ids(owner)
    assert before["customers"] and before["leads"]
    with owner.connect() as conn:  # nothing published: the columns are there, empty
        unpublished = read_points(conn, entity="customers")
        assert unpublished[list(TERRITORY_COLUMNS)].isna().all().all()
        body = json.loads(read_customer(conn, unpublished["external_id"].iloc[0]))
        assert (body["territory"], body["rep"]) == (None, None)
    with owner.begin() as conn:
        publication = publish_plan(conn, a, published_by="planner")
    assert (publication.level, publication.unit_level) == ("territory", "territory_unit")
    assert publication.territories == 4 and publication.units == UNITS
    assert publication.placed == publication.totals
    with owner.connect() as conn:
        plan = read_plan(conn, a)
        assert plan.is_current
        levels = conn.execute(
            text(
                "SELECT level, parent_level, nested FROM gcrm.area_levels "
                "WHERE level LIKE 'territory%' ORDER BY level"
            )
        ).all()
        assert [tuple(r) for r in levels] == [
            ("territory", None, False),
            ("territory_unit", "territory", True),
        ]
        areas = pd.read_sql(
            text(
                "SELECT code, name, derivation, ST_Area(geom) AS area FROM gcrm.areas "
                "WHERE level = 'territory' ORDER BY code"
            ),
            conn,
        )
        assert areas["code"].tolist() == ["T01", "T02", "T03", "T04"]
        assert areas["name"].tolist()[:2] == ["North (Ann)", "South (Bo)"]
        assert set(areas["derivation"]) == {f"plan:{a}"}
        # Each territory is the union of its units: the same area, no unit lost.
        units = pd.read_sql(
            text(
                "SELECT parent_code AS code, sum(ST_Area(geom)) AS area FROM gcrm.areas "
                "WHERE level = 'territory_unit' GROUP BY 1 ORDER BY 1"
            ),
            conn,
        )
        assert units["area"].to_numpy() == pytest.approx(areas["area"].to_numpy())
        parents = dict(
            conn.execute(
                text("SELECT code, parent_code FROM gcrm.areas WHERE level = 'territory_unit'")
            ).all()
        )
        assert parents == {c: f"T{t:02d}" for c, t in plan.assignment.items()}
        _check_placed(conn, a)

        customers = read_points(conn, entity="customers")
        leads = read_points(conn, entity="leads")
        for frame in (customers, leads):
            assert set(TERRITORY_COLUMNS) <= set(frame.columns)
            number = frame["area_cell"].map(plan.assignment)
            assert frame["territory"].tolist() == [NAMES.get(t, f"Territory {t}") for t in number]
            assert frame["rep"].fillna("").tolist() == [REPS.get(t, "") for t in number]

        one = customers[customers["rep"].notna()].iloc[0]
        body = json.loads(read_customer(conn, one["external_id"]))
        assert (body["territory"], body["rep"]) == (one["territory"], one["rep"])
        assert body["area_territory"] == f"T{plan.assignment[one['area_cell']]:02d}"

        cube = build_region_cube(conn)
        level = cube["level"].to_numpy()
        on_level = np.flatnonzero(level == "territory")
        assert sorted(cube["code"].to_numpy()[on_level]) == ["T01", "T02", "T03", "T04"]
        active = cube["customers"].isel(month=-1).sum("segment")
        by_territory = active.isel(area=on_level).sum()
        by_cell = active.isel(area=np.flatnonzero(level == "cell")).sum()
        assert int(by_territory) == int(by_cell) == len(customers)
        unit_parent = cube["parent"].to_numpy()[cube["level"].to_numpy() == "territory_unit"]
        assert set(unit_parent) == {f"territory:T0{t}" for t in range(1, 5)}

    # Adding keys to the area codes neither widens nor narrows a county's scope.
    assert _scoped_ids(owner) == before
    # A rep scoped to a territory sees its customers and leads.
    with owner.begin() as conn:
        add_user(conn, "rep1", role="manager", scopes=["territory:T01"])
    first = {
        "customers": sorted(
            customers.loc[customers["area_cell"].map(plan.assignment) == 1, "external_id"]
        ),
        "leads": sorted(leads.loc[leads["area_cell"].map(plan.assignment) == 1, "external_id"]),
    }
    assert first["customers"] and _scoped_ids(owner, "rep1") == first


def test_publishing_another_plan_replaces_the_first(owner: Engine, plans: tuple[int, int]) -> None:
    a, b = plans
    with owner.begin() as conn:
        publish_plan(conn, a, published_by="planner")
        second = publish_plan(conn, "Three@1", published_by="manager")
    assert second.territories == 3
    with owner.connect() as conn:
        codes = conn.execute(
            text("SELECT code FROM gcrm.areas WHERE level = 'territory' ORDER BY code")
        ).scalars()
        assert list(codes) == ["T01", "T02", "T03"]
        _check_placed(conn, b)
        current = read_publications(conn)
        assert current[["level", "plan_id", "published_by"]].values.tolist() == [
            ["territory", b, "manager"]
        ]
        assert read_plan(conn, "current").id == b
        # Plan "Three" has no names or reps: the default names, no rep.
        customers = read_points(conn, entity="customers")
        assert customers["territory"].str.startswith("Territory ").all()
        assert customers["rep"].isna().all()


def test_a_point_outside_the_new_plans_units_loses_its_territory(
    owner: Engine, plans: tuple[int, int]
) -> None:
    a, _b = plans
    with owner.connect() as conn:  # rolled back on close
        publish_plan(conn, a, published_by="planner")
        conn.execute(text("DELETE FROM gcrm.territory_plan_units WHERE code = 'C00'"))
        publish_plan(conn, a, published_by="planner")
        codes = _codes(conn, "gcrm.customer_enrichment")
    moved = codes["cell"] == "C00"
    assert moved.any()
    assert codes.loc[moved, "territory"].isna().all()
    assert codes.loc[~moved, "territory"].notna().all()


def test_enrichment_places_new_points_in_their_territory(
    owner: Engine, plans: tuple[int, int]
) -> None:
    a, _b = plans
    with owner.connect() as conn:  # rolled back on close
        publish_plan(conn, a, published_by="planner")
        # A new customer inside cell C35, on no edge.
        conn.execute(
            text(
                "INSERT INTO gcrm.customer_records (external_id, name, segment, status, "
                "signup_date, geom, geocode_precision, geocode_score, geocode_source) "
                "SELECT 'NEW-1', 'New', 'retail', 'active', '2025-03-01', "
                "ST_PointOnSurface(geom), 'rooftop', 1, 'test' "
                "FROM gcrm.areas WHERE level = 'cell' AND code = 'C35'"
            )
        )
        expected = f"T{read_plan(conn, a).assignment['C35']:02d}"
        for engine in ("sql", "vector"):
            enrich_points(conn, entities=("customers",), engine=engine, full=engine == "vector")
            codes = _codes(conn, "gcrm.customer_enrichment")
            assert codes.loc["NEW-1", "territory"] == expected, engine
            assert codes.loc["NEW-1", "territory_unit"] == "C35", engine
            # Every other customer keeps the territory of its cell.
            _check_placed(conn, a)


@pytest.mark.parametrize(
    ("level", "match"),
    [
        ("cell", "the plan's units are the areas of level 'cell'"),
        ("county", "level 'county' holds imported areas"),
        ("Not a level", "is not a level name"),
    ],
)
def test_levels_that_may_not_be_written(
    owner: Engine, plans: tuple[int, int], level: str, match: str
) -> None:
    with owner.connect() as conn, pytest.raises(ValidationError, match=match):
        publish_plan(conn, plans[0], level=level, published_by="planner")


def test_cli_publishes_rebuilds_the_cube_and_reports_by_territory(
    owner: Engine,
    plans: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "GCRM_DATABASE_URL": owner.url.render_as_string(hide_password=False),
        "GCRM_DATA_DIR": str(tmp_path),
    }
    runner = CliRunner()
    result = runner.invoke(cli, ["territories", "publish", "Four"], env=env)
    assert result.exit_code == 0, result.output
    assert "published Four@1" in result.output
    assert "4 territories of 65 cell units" in result.output
    cube = load_cube(tmp_path / "cube.zarr")
    assert "territory:T04" in cube["area"].values
    report = runner.invoke(
        cli,
        ["territories", "report", "--level", "territory", "--format", "xlsx", "-o", str(tmp_path)],
        env=env,
    )
    assert report.exit_code == 0, report.output
    assert list(tmp_path.glob("*.xlsx"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["territories", "publish", "Four", "--level-name", "cell"]) == 2
    assert "gcrm: error: --level-name 'cell': the plan's units" in capsys.readouterr().err
    # Under --as, a manager may not publish; a planner may, and is named as the publisher.
    with owner.begin() as conn:
        add_user(conn, "pat", role="planner", scopes=["county:W"])
    assert main(["--as", "west", "territories", "publish", "Four", "--no-cube"]) == 2
    assert "role manager may not use designing, editing, saving and publishing" in (
        capsys.readouterr().err
    )
    assert main(["--as", "pat", "territories", "publish", "Four", "--no-cube"]) == 0
    with owner.connect() as conn:
        assert read_publications(conn)["published_by"].tolist() == ["pat"]
