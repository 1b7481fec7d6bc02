"""Stored plans on the command line (list, export, diff, assign, set-current) and the
writers behind them, on the grid of cells in a real PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from gcrm.access import add_user, read_audit
from gcrm.cli import cli, main
from gcrm.core import ValidationError
from gcrm.maps import external_references
from gcrm.store import create_db_engine
from gcrm.territories import (
    Plan,
    design_figures,
    design_territories,
    plan_diff_tables,
    plans_table,
    read_plan,
    save_plan,
)
from tests.territories.grid import UNITS

BALANCE = {"customers": 1.0, "revenue": 1.0}
OTHER_LEVEL_SQL = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('x', NULL, 2, 'X', 'test');
UPDATE gcrm.territory_plans SET level = 'x' WHERE name = 'Other';
"""


@pytest.fixture(scope="module")
def plans(grid_url: str, units: gpd.GeoDataFrame) -> Iterator[dict[str, int]]:
    """Two versions of plan 'Grid' (4 territories, seeds 0 and 3; the first current, with
    reps) and a plan 'Other' of 3 territories; a manager scoped to two cells."""
    first = design_territories(units, k=4, balance=BALANCE, seed=0)
    second = design_territories(units, k=4, balance=BALANCE, seed=3)
    other = design_territories(units, k=3, balance={"customers": 1.0}, seed=0)
    engine = create_db_engine(grid_url)
    try:
        with engine.begin() as conn:
            ids = {
                "a": save_plan(
                    conn,
                    name="Grid",
                    level="cell",
                    assignment=first.assignment,
                    balance=BALANCE,
                    figures=design_figures(first),
                    created_by="planner",
                    reps={1: "Ann"},
                    territory_names={2: "North"},
                    make_current=True,
                ),
                "b": save_plan(
                    conn,
                    name="Grid",
                    level="cell",
                    assignment=second.assignment,
                    balance=BALANCE,
                    figures=design_figures(second),
                    created_by="planner",
                ),
                "other": save_plan(
                    conn,
                    name="Other",
                    level="cell",
                    assignment=other.assignment,
                    balance={"customers": 1.0},
                    figures=design_figures(other),
                    created_by="planner",
                ),
            }
            add_user(conn, "mona", role="manager", scopes=["cell:C00", "cell:C01"])
        yield ids
    finally:
        engine.dispose()


def _run(url: str, tmp_path: Path, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": url, "GCRM_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(cli, list(args), env=env)


def test_plans_lists_every_version_with_its_figures(
    grid_url: str, plans: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "plans.xlsx"
    done = _run(grid_url, tmp_path, "territories", "plans", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "Grid@1" in done.output and "Grid@2" in done.output and "Other@1" in done.output
    assert "1/4" in done.output  # the first version has one rep of four
    sheet = openpyxl.load_workbook(out)["Plans"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:7] == ["id", "plan", "level", "k", "balance", "current", "reps"]
    assert {"max_deviation_customers", "max_deviation_revenue", "mean_polsby_popper"} <= set(header)
    by_plan = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_plan) == {"Grid@1", "Grid@2", "Other@1"}
    assert by_plan["Grid@1"]["current"] is True and by_plan["Grid@2"]["current"] is False
    assert by_plan["Grid@1"]["balance"] == "customers:1,revenue:1"
    assert by_plan["Other@1"]["max_deviation_revenue"] is None  # not balanced on revenue
    assert by_plan["Grid@2"]["id"] == plans["b"]


def test_export_geopackage_holds_territories_and_units_with_their_totals(
    grid_url: str, plans: dict[str, int], units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "plan.gpkg"
    done = _run(grid_url, tmp_path, "territories", "export", "Grid@1", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "plan Grid@1" in done.output and "contiguous: 4 of 4" in done.output
    assert sorted(pyogrio.list_layers(out)[:, 0]) == ["territories", "units"]
    territories = gpd.read_file(out, layer="territories").set_index("territory")
    cells = gpd.read_file(out, layer="units")
    assert sorted(territories.index) == [1, 2, 3, 4]
    assert territories.loc[1, "rep"] == "Ann" and territories.loc[2, "name"] == "North"
    for column in ("customers", "customers_deviation", "revenue", "revenue_deviation"):
        assert column in territories.columns
    assert {"polsby_popper", "contiguous", "units"} <= set(territories.columns)
    assert territories["units"].sum() == UNITS and len(cells) == UNITS
    assert territories["customers"].sum() == pytest.approx(units["customers"].sum())
    assert territories["revenue"].sum() == pytest.approx(units["revenue"].sum())
    # Each territory's total is the sum of its units', and the units are where the plan put them.
    stored = read_plan_at(grid_url, "Grid@1").assignment
    assert (cells.set_index("code")["territory"].sort_index() == stored.sort_index()).all()
    weights = units.set_index("code")["customers"]
    per_territory = weights.groupby(stored.reindex(weights.index)).sum()
    assert territories["customers"].to_dict() == pytest.approx(per_territory.to_dict())
    assert {"code", "name", "territory", "territory_name", "rep"} <= set(cells.columns)
    # The polygons are dissolved from the units: the same area.
    assert territories.to_crs(3067).area.sum() == pytest.approx(
        cells.to_crs(3067).area.sum(), rel=1e-6
    )


def test_export_workbook_and_csv_hold_the_unit_table(
    grid_url: str, plans: dict[str, int], units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "plan.xlsx"
    done = _run(grid_url, tmp_path, "territories", "export", "current", "-o", str(out))
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Units", "Territories"]
    rows = list(book["Units"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header == ["code", "name", "territory", "territory_name", "rep", "customers", "revenue"]
    table = pd.DataFrame(rows[1:], columns=header)
    assert len(table) == UNITS
    assert table["customers"].sum() == pytest.approx(units["customers"].sum())
    assert set(table.loc[table["territory"] == 1, "rep"]) == {"Ann"}
    assert set(table.loc[table["territory"] == 2, "territory_name"]) == {"North"}
    summary = list(book["Territories"].iter_rows(values_only=True))
    assert len(summary) == 1 + 4
    csv_out = tmp_path / "plan.csv"
    done = _run(grid_url, tmp_path, "territories", "export", str(plans["a"]), "-o", str(csv_out))
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(csv_out)
    assert len(frame) == UNITS and frame["revenue"].sum() == pytest.approx(units["revenue"].sum())


def test_export_under_a_scope_counts_the_scopes_customers_only(
    grid_url: str, plans: dict[str, int], units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "mona.csv"
    done = _run(grid_url, tmp_path, "--as", "mona", "territories", "export", "Grid", "-o", str(out))
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(out).set_index("code")
    in_scope = units.set_index("code").loc[["C00", "C01"], "customers"]
    assert sorted(frame.index) == ["C00", "C01"]  # the units of her scope, ...
    assert frame["customers"].to_dict() == in_scope.to_dict()  # ... with her customers
    stored = read_plan_at(grid_url, "Grid").assignment
    assert frame["territory"].to_dict() == stored[["C00", "C01"]].to_dict()


def test_diff_writes_summary_flows_moved_units_accounts_and_an_offline_map(
    grid_url: str, plans: dict[str, int], units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out, page = tmp_path / "diff.xlsx", tmp_path / "diff.html"
    args = ["territories", "diff", "Grid@1", "Grid@2", "-o", str(out), "--html", str(page)]
    done = _run(grid_url, tmp_path, *args)
    assert done.exit_code == 0, done.output
    a, b = read_plan_at(grid_url, "Grid@1"), read_plan_at(grid_url, "Grid@2")
    moved = a.assignment[a.assignment != b.assignment.reindex(a.assignment.index)]
    assert len(moved) > 0  # two seeds, two plans: something to compare
    assert f"units moved: {len(moved)} of {UNITS}" in done.output

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Flows", "Moved units", "Moved accounts"]
    summary = dict(list(book["Summary"].iter_rows(values_only=True))[1:])
    weights = units.set_index("code")
    assert summary["units_moved"] == len(moved) and summary["units"] == UNITS
    assert summary["customers_moved"] == pytest.approx(weights.loc[moved.index, "customers"].sum())
    assert summary["revenue_moved"] == pytest.approx(weights.loc[moved.index, "revenue"].sum())

    flows = _sheet(book, "Flows")
    assert flows["units"].sum() == len(moved)
    assert flows["customers"].sum() == pytest.approx(summary["customers_moved"])
    pairs = pd.DataFrame({"from": moved, "to": b.assignment.reindex(moved.index)})
    expected = pairs.value_counts().sort_index()
    got = flows.set_index(["from_territory", "to_territory"])["units"].sort_index()
    assert got.tolist() == expected.tolist()
    assert set(flows.loc[flows["from_territory"] == 2, "from_name"]) <= {"North"}

    moved_units = _sheet(book, "Moved units").set_index("code")
    assert sorted(moved_units.index) == sorted(moved.index)
    assert (moved_units["from_territory"] == moved.reindex(moved_units.index)).all()

    accounts = _sheet(book, "Moved accounts")
    assert list(accounts.columns[:3]) == ["customer_id", "name", "code"]
    assert len(accounts) == summary["customers_moved"] == summary["accounts_moved"]
    assert set(accounts["code"]) == set(moved.index)
    # The grid's orders are all of one day: the last 12 months hold all the revenue.
    assert accounts["revenue_12m"].sum() == pytest.approx(summary["revenue_moved"])

    html = page.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "L.tileLayer" not in html  # no basemap tiles: the page opens offline
    # The moved units drawn again as a thick outline, each with its move; the flows panel.
    assert html.count('"move": ') == len(moved)
    first = moved.index[0]
    to = b.assignment[first]
    assert f'"code": "{first}", "move": "{moved[first]} -\\u003e {to}"' in html
    panel = html.replace("\\u003c", "<").replace("\\u003e", ">").split("<b>Flows</b>")[1]
    assert panel.split("</table>")[0].count("<tr>") == 1 + len(flows)
    with create_db_engine(grid_url).connect() as conn:
        audit = read_audit(conn, limit=5)
    assert "territories diff" in set(audit["action"])


def test_diff_under_a_scope_compares_the_scopes_units(
    grid_url: str, plans: dict[str, int], units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "mona.xlsx"
    done = _run(
        grid_url, tmp_path, "--as", "mona", "territories", "diff", "Other", "Grid@1", "-o", str(out)
    )
    assert done.exit_code == 0, done.output
    a, b = read_plan_at(grid_url, "Other"), read_plan_at(grid_url, "Grid@1")
    mine = ["C00", "C01"]
    moved = [c for c in mine if a.assignment[c] != b.assignment[c]]
    assert moved  # the two plans differ there (fixed seeds: always so)
    book = openpyxl.load_workbook(out)
    summary = dict(list(book["Summary"].iter_rows(values_only=True))[1:])
    assert summary["units"] == 2 and summary["units_moved"] == len(moved)
    assert sorted(_sheet(book, "Moved units")["code"]) == moved
    accounts = _sheet(book, "Moved accounts")
    assert len(accounts) == units.set_index("code").loc[moved, "customers"].sum()


def test_diff_of_one_plan_with_itself_moves_nothing(
    grid_url: str, plans: dict[str, int], tmp_path: Path
) -> None:
    done = _run(grid_url, tmp_path, "territories", "diff", "Grid@2", str(plans["b"]))
    assert done.exit_code == 0, done.output
    assert "units moved: 0 of" in done.output and "no unit changes territory" in done.output


def test_diff_tables_without_names_hold_ids_only(grid_url: str, plans: dict[str, int]) -> None:
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            tables = plan_diff_tables(conn, "Grid@1", "Grid@2", names=False)
            named = plan_diff_tables(conn, "Grid@1", "Grid@2", names=True)
            # Plan 'Other' of another level, in this transaction only (rolled back).
            conn.execute(text(OTHER_LEVEL_SQL))
            with pytest.raises(ValidationError, match=r"divide different levels \('cell', 'x'\)"):
                plan_diff_tables(conn, "Grid@1", "Other")
            conn.rollback()
    finally:
        engine.dispose()
    assert tables.accounts is not None and named.accounts is not None
    assert "name" not in tables.accounts.columns and not tables.names
    assert "name" in named.accounts.columns and named.names
    assert tables.accounts["customer_id"].tolist() == named.accounts["customer_id"].tolist()
    assert tables.units["moved"].sum() == tables.summary["units_moved"]
    assert len(tables.units) == UNITS


def test_plans_table_of_no_plans_is_empty_with_its_columns(
    grid_url: str, plans: dict[str, int]
) -> None:
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM gcrm.territory_plans"))  # rolled back below
            table = plans_table(conn)
            conn.rollback()
    finally:
        engine.dispose()
    assert table.empty
    assert list(table.columns[:7]) == ["id", "plan", "level", "k", "balance", "current", "reps"]


def test_assign_sets_reps_and_names_in_place(
    grid_url: str, plans: dict[str, int], tmp_path: Path
) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("territory,rep,name\n1,Cy,West\n2,Dee,\n", encoding="utf-8")
    args = ["territories", "assign", "Other", "--reps", str(reps)]
    done = _run(grid_url, tmp_path, *args, "--rep", "3=Ann Lee", "--name", "3=South")
    assert done.exit_code == 0, done.output
    assert "Ann Lee" in done.output and "South" in done.output
    stored = read_plan_at(grid_url, "Other").territories.set_index("territory")
    assert stored["rep"].tolist() == ["Cy", "Dee", "Ann Lee"]
    assert stored["name"].tolist() == ["West", "Territory 2", "South"]
    assert read_plan_at(grid_url, "Other").id == plans["other"]  # in place: no new version
    cleared = _run(grid_url, tmp_path, "territories", "assign", "Other", "--rep", "2=")
    assert cleared.exit_code == 0, cleared.output
    assert read_plan_at(grid_url, "Other").territories["rep"].isna().sum() == 1


def test_set_current_moves_the_mark(grid_url: str, plans: dict[str, int], tmp_path: Path) -> None:
    done = _run(grid_url, tmp_path, "territories", "set-current", "Other@1")
    assert done.exit_code == 0, done.output
    assert "Other@1" in done.output and "is current" in done.output
    assert read_plan_at(grid_url, "current").id == plans["other"]
    back = _run(grid_url, tmp_path, "territories", "set-current", str(plans["a"]))
    assert back.exit_code == 0, back.output
    assert read_plan_at(grid_url, "current").id == plans["a"]


def test_errors_name_the_argument_the_value_and_the_fix(
    grid_url: str,
    plans: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GCRM_DATABASE_URL", grid_url)
    monkeypatch.setenv("GCRM_DATA_DIR", str(tmp_path / "data"))
    assert main(["territories", "export", "nope", "-o", str(tmp_path / "x.gpkg")]) == 2
    said = capsys.readouterr().err
    assert "plan 'nope' not found" in said and "Grid@2" in said
    assert main(["territories", "export", "Grid", "-o", str(tmp_path / "x.shp")]) == 2
    assert "-o=" in capsys.readouterr().err
    assert main(["territories", "assign", "Grid", "--rep", "x=Ann"]) == 2
    assert "--rep 'x=Ann' is not N=VALUE" in capsys.readouterr().err
    assert main(["territories", "assign", "Grid", "--rep", "9=Ann"]) == 2
    assert "territory 9 is not in plan" in capsys.readouterr().err
    assert main(["territories", "diff", "Grid", "Other", "-o", str(tmp_path / "d.csv")]) == 2
    assert "use one of .xlsx" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("territory,rep\nfirst,Ann\n", encoding="utf-8")
    assert main(["territories", "assign", "Grid", "--reps", str(bad)]) == 2
    assert "row 2: territory 'first' is not a whole number" in capsys.readouterr().err
    # A manager reads plans but does not edit them.
    refused = _run(grid_url, tmp_path, "--as", "mona", "territories", "set-current", "Grid")
    assert refused.exit_code == 2 and "may not use designing" in refused.output


def read_plan_at(url: str, ref: str) -> Plan:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return read_plan(conn, ref)
    finally:
        engine.dispose()


def _sheet(book: openpyxl.Workbook, name: str) -> pd.DataFrame:
    rows = list(book[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])
