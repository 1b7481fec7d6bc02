"""Territory design on a real PostGIS: a grid of cells with customers, orders and an island."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from gcrm.cli import cli, main
from gcrm.core import ValidationError
from gcrm.store import create_db_engine
from gcrm.territories import design_territories, parse_balance
from tests.territories.grid import UNITS


def test_units_carry_the_stored_customers_and_revenue(
    units: gpd.GeoDataFrame, grid_url: str
) -> None:
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            customers, revenue = conn.execute(
                text("SELECT count(*), sum(amount)::float8 FROM gcrm.orders")
            ).one()
    finally:
        engine.dispose()
    assert len(units) == UNITS
    assert units["customers"].sum() == customers
    assert units["revenue"].sum() == pytest.approx(revenue)
    assert units["customers"].nunique() > 1  # something to balance


def test_design_is_contiguous_balanced_and_no_worse_than_its_start(
    units: gpd.GeoDataFrame,
) -> None:
    result = design_territories(units, k=6, balance={"customers": 1, "revenue": 1}, seed=0)
    table = result.territories
    assert list(table["territory"]) == [1, 2, 3, 4, 5, 6]
    assert table["contiguous"].all()
    assert set(result.assignment) == set(range(1, 7)) and len(result.assignment) == UNITS
    assert table["units"].sum() == UNITS
    assert result.islands == ["ISLAND"]
    for name in ("customers", "revenue"):
        assert result.max_deviation[name] <= result.start_max_deviation[name]
        assert table[name].sum() == pytest.approx(units[name].sum())
        assert table[f"{name}_deviation"].abs().max() == pytest.approx(result.max_deviation[name])
    assert max(result.max_deviation.values()) <= 0.03
    assert ((table["polsby_popper"] > 0) & (table["polsby_popper"] <= 1)).all()


def test_contiguity_is_checked_on_the_geometry(units: gpd.GeoDataFrame) -> None:
    """Each territory's cells (the island aside) dissolve into one polygon."""
    result = design_territories(units, k=5, balance={"customers": 1}, adjacency="rook", seed=1)
    polygons = result.units[result.units["code"] != "ISLAND"].dissolve(by="territory")
    assert (polygons.geometry.geom_type == "Polygon").all()


def test_locked_units_stay(units: gpd.GeoDataFrame) -> None:
    locks = {"C00": 3, "C77": 3, "C07": 1, "C70": 2}
    result = design_territories(units, k=4, balance={"revenue": 1}, locks=locks, seed=0)
    assert {code: int(result.assignment[code]) for code in locks} == locks


def test_same_seed_same_plan(units: gpd.GeoDataFrame) -> None:
    runs = [
        design_territories(units, k=5, balance={"customers": 1, "revenue": 2}, seed=4)
        for _ in range(2)
    ]
    pd.testing.assert_series_equal(runs[0].assignment, runs[1].assignment)
    pd.testing.assert_frame_equal(runs[0].territories, runs[1].territories)


def test_errors_name_the_argument_the_value_and_the_fix(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValidationError, match=rf"k 66 .* {UNITS} units.*--k 1\.\.{UNITS}"):
        design_territories(units, k=UNITS + 1, balance={"customers": 1})
    with pytest.raises(ValidationError, match=r"criterion 'bogus' is unknown.*'customers'"):
        parse_balance("customers:1,bogus:2")
    with pytest.raises(ValidationError, match=r"weight 'x' of 'revenue'.*revenue:1"):
        parse_balance("revenue:x")
    with pytest.raises(ValidationError, match=r"territory 9: use a territory in 1\.\.4"):
        design_territories(units, k=4, balance={"customers": 1}, locks={"C00": 9})
    with pytest.raises(ValidationError, match=r"unit 'NOPE': no such unit"):
        design_territories(units, k=4, balance={"customers": 1}, locks={"NOPE": 1})
    empty = units.assign(customers=0.0)
    with pytest.raises(ValidationError, match=r"'customers' totals 0.0.*drop it from --balance"):
        design_territories(empty, k=4, balance={"customers": 1})


def test_cli_writes_a_geopackage_and_a_table(grid_url: str, tmp_path: Path) -> None:
    env = {"GCRM_DATABASE_URL": grid_url, "GCRM_DATA_DIR": str(tmp_path / "data")}
    locks = tmp_path / "locks.csv"
    locks.write_text("code,territory\nC00,2\n", encoding="utf-8")
    args = ["territories", "design", "--level", "cell", "--k", "4"]
    args += ["--balance", "customers:1,revenue:1", "--lock", str(locks), "--seed", "2"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "plan.gpkg")], env=env)
    assert result.exit_code == 0, result.output
    assert "customers (weight 1): max deviation from the mean" in result.output
    assert "contiguous: 4 of 4" in result.output
    assert sorted(pyogrio.list_layers(tmp_path / "plan.gpkg")[:, 0]) == ["territories", "units"]
    territories = gpd.read_file(tmp_path / "plan.gpkg", layer="territories")
    cells = gpd.read_file(tmp_path / "plan.gpkg", layer="units")
    assert sorted(territories["territory"]) == [1, 2, 3, 4]
    assert {"customers", "revenue", "polsby_popper", "contiguous"} <= set(territories.columns)
    assert len(cells) == UNITS and cells.set_index("code").loc["C00", "territory"] == 2
    table = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "plan.csv")], env=env)
    assert table.exit_code == 0, table.output
    frame = pd.read_csv(tmp_path / "plan.csv")
    # Same seed, same plan, whatever the format.
    assert np.array_equal(
        frame.set_index("code").loc[cells["code"], "territory"].to_numpy(),
        cells["territory"].to_numpy(),
    )


def test_cli_unknown_criterion_says_what_to_write(
    grid_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GCRM_DATABASE_URL", grid_url)
    monkeypatch.setenv("GCRM_DATA_DIR", str(tmp_path / "data"))
    args = ["territories", "design", "-o", str(tmp_path / "p.csv"), "--level", "cell", "--k", "4"]
    args += ["--balance", "profit:1"]
    assert main(args) == 2
    said = capsys.readouterr().err
    assert "gcrm: error: balance criterion 'profit' is unknown" in said
    assert "--balance customers:1,revenue:1" in said
    assert main([*args[:7], "99", "--balance", "customers"]) == 2
    assert f"k 99 is not between 1 and the {UNITS} units" in capsys.readouterr().err
