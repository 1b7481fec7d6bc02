"""Revenue and orders by channel and by branch: built from PostGIS, refreshed, and every
slice, comparison, share, pivot and hot spot filtered by them.

The tiny region of tests/maps/seed.py (customers C1, C2 in district D01, C3 in D02; orders
O1..O5 in two channels, web and shop), with a second branch B2 and the orders spread over
B1, B2 and no branch:

=====  ========  =======  =======  ======  ========
order  customer  month    amount   channel  branch
=====  ========  =======  =======  ======  ========
O1     C1 (D01)  2025-01  100.00   web      B1
O2     C1 (D01)  2025-03   50.00   web      none
O3     C2 (D01)  2025-01   70.00   shop     B2
O4     C3 (D02)  2025-02  500.00   shop     B1
O5     C3 (D02)  2025-03  250.50   shop     B2
=====  ========  =======  =======  ======  ========
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.core import Settings, ValidationError
from gcrm.cube import (
    BY_VARIABLES,
    area_shares,
    build_region_cube,
    compare_periods,
    find_hotspots,
    load_cube,
    pivot,
    refresh_region_cube,
    save_cube,
    select_measure,
    time_series,
)
from gcrm.store import create_db_engine
from tests.databases import new_database
from tests.maps.seed import seed_region

BRANCHES_SQL = """
INSERT INTO gcrm.branches (code, name, geom)
VALUES ('B2', 'Harbour branch', ST_SetSRID(ST_MakePoint(24.951, 60.165), 4326));
UPDATE gcrm.orders SET branch_code = v.branch
FROM (VALUES ('O1', 'B1'), ('O2', NULL), ('O3', 'B2'), ('O4', 'B1'), ('O5', 'B2'))
    v (order_id, branch)
WHERE orders.order_id = v.order_id
"""


def seed_channels(conn: Connection) -> None:
    """The tiny region with the orders in two channels and two branches (and none)."""
    seed_region(conn)
    for statement in BRANCHES_SQL.split(";"):
        conn.execute(text(statement))


@contextmanager
def saved_channels(folder: Path) -> Iterator[Settings]:
    """Settings of a committed database of its own holding :func:`seed_channels`, with its
    cube saved: for the command line and the API, which open their own connections."""
    with new_database() as url:
        settings = Settings(database_url=url, data_dir=folder)
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                seed_channels(conn)
                save_cube(build_region_cube(conn), settings.cube_path)
        finally:
            engine.dispose()
        yield settings


@pytest.fixture
def channels(conn: Connection) -> Connection:
    seed_channels(conn)
    return conn


@pytest.fixture
def cube(channels: Connection) -> xr.Dataset:
    return build_region_cube(channels)


def _cells(ds: xr.Dataset, name: str, dim: str) -> pd.Series:
    """Non-zero cells of a *_by_* variable summed over months and segments, by (area, dim)."""
    frame = ds[name].sum(["month", "segment"]).to_series()
    return frame[frame != 0]


def test_revenue_and_orders_by_channel_and_branch_are_exact(cube: xr.Dataset) -> None:
    assert list(cube["channel"].values) == ["shop", "web", "unknown"]
    assert list(cube["branch"].values) == ["B1", "B2", "none"]
    assert list(cube["branch_name"].values) == ["Central branch", "Harbour branch", "No branch"]
    by_channel = _cells(cube, "revenue_by_channel", "channel")
    assert by_channel.to_dict() == pytest.approx(
        {
            ("district:D01", "shop"): 70.0,
            ("district:D01", "web"): 150.0,
            ("district:D02", "shop"): 750.5,
        }
    )
    by_branch = _cells(cube, "orders_by_branch", "branch")
    assert by_branch.to_dict() == {
        ("district:D01", "B1"): 1,
        ("district:D01", "B2"): 1,
        ("district:D01", "none"): 1,
        ("district:D02", "B1"): 1,
        ("district:D02", "B2"): 1,
    }
    # One cell by month and segment: O5, March, business, D02, B2.
    cell = cube["revenue_by_branch"].sel(
        area="district:D02", month="2025-03-01", segment="business", branch="B2"
    )
    assert float(cell) == pytest.approx(250.5)


def test_each_split_sums_to_its_measure(cube: xr.Dataset) -> None:
    for measure, splits in BY_VARIABLES.items():
        for dim, name in splits.items():
            xr.testing.assert_allclose(cube[name].sum(dim), cube[measure].astype(float))
    assert float(cube["revenue"].sum()) == pytest.approx(970.5)


def test_slices_follow_the_channel_and_the_branch(cube: xr.Dataset) -> None:
    web = select_measure(cube, "revenue", level="district", channel="web")
    assert web.to_dict() == pytest.approx({"district:D01": 150.0, "district:D02": 0.0})
    shop_q1 = select_measure(cube, "orders", level="district", period="2025-Q1", channel="shop")
    assert shop_q1.to_dict() == {"district:D01": 1, "district:D02": 2}
    b2_business = select_measure(cube, "revenue", level="district", segment="business", branch="B2")
    assert b2_business.to_dict() == pytest.approx({"district:D01": 0.0, "district:D02": 250.5})
    everyone = select_measure(cube, "revenue", level="district", channel="all", branch=None)
    assert everyone.sum() == pytest.approx(970.5)
    series = time_series(cube, "revenue", channel="web")
    assert series.to_numpy().tolist() == pytest.approx([100.0, 0.0, 50.0])
    running = time_series(cube, "revenue", branch="none", cumulative=True)
    assert running.to_numpy().tolist() == pytest.approx([0.0, 0.0, 50.0])


def test_comparisons_shares_and_pivots_follow_the_channel(cube: xr.Dataset) -> None:
    compared = compare_periods(
        cube, "revenue", level="district", period="2025-03", compare="previous", channel="shop"
    )
    assert compared.loc["district:D02", ["value", "base"]].tolist() == pytest.approx([250.5, 500.0])
    shares = area_shares(cube, "revenue", level="district", channel="web")
    assert shares["share_of_region"].to_dict() == pytest.approx(
        {"district:D01": 1.0, "district:D02": 0.0}
    )
    table = pivot(cube, "revenue", "segment", "channel")
    assert table.index.tolist() == ["business", "retail"]
    assert table.columns.tolist() == ["shop", "web", "unknown"]
    assert table.to_numpy().ravel().tolist() == pytest.approx([750.5, 0, 0, 70.0, 150.0, 0])
    by_branch = pivot(cube, "orders", "area", "branch", level="district", channel="all")
    assert by_branch.loc["district:D01"].tolist() == [1, 1, 1]
    months = pivot(cube, "revenue", "month", "channel", segment="retail")
    assert months.loc["2025-01"].tolist() == pytest.approx([70.0, 100.0, 0.0])


def test_filters_refuse_what_the_cube_does_not_store(cube: xr.Dataset) -> None:
    with pytest.raises(ValidationError, match=r"'active'.*channel='web'.*order measures.*drop"):
        select_measure(cube, "active", level="district", channel="web")
    with pytest.raises(ValidationError, match=r"separately, one at a time"):
        select_measure(cube, "revenue", level="district", channel="web", branch="B1")
    with pytest.raises(
        ValidationError, match=r"channel 'fax' unknown.*\['shop', 'web', 'unknown'\]"
    ):
        select_measure(cube, "revenue", level="district", channel="fax")
    with pytest.raises(ValidationError, match=r"branch 'B9' unknown"):
        time_series(cube, "orders", branch="B9")
    with pytest.raises(ValidationError, match=r"'customers' by channel.*order measures"):
        pivot(cube, "customers", "area", "channel")
    with pytest.raises(ValidationError, match=r"channel and branch.*separately"):
        pivot(cube, "revenue", "channel", "branch")
    with pytest.raises(ValidationError, match=r"channel='web' with channels pivoted"):
        pivot(cube, "revenue", "area", "channel", channel="web")
    with pytest.raises(ValidationError, match=r"separately, one at a time"):
        pivot(cube, "revenue", "area", "channel", branch="B1")
    old = cube.drop_vars([v for s in BY_VARIABLES.values() for v in s.values()])
    old = old.drop_dims(["channel", "branch"])
    with pytest.raises(ValidationError, match=r"built before.*gcrm cube build"):
        select_measure(old, "revenue", level="district", channel="web")


def test_the_split_survives_zarr(cube: xr.Dataset, tmp_path: Path) -> None:
    loaded = load_cube(save_cube(cube, tmp_path / "cube.zarr"))
    assert loaded["channel"].dtype == object and loaded["branch_name"].dtype == object
    web = select_measure(loaded, "revenue", level="district", channel="web")
    assert web["district:D01"] == pytest.approx(150.0)


def test_refresh_updates_the_split_of_changed_months(channels: Connection) -> None:
    built = build_region_cube(channels)
    channels.execute(
        text("UPDATE gcrm.orders SET channel = 'web', branch_code = 'B1' WHERE order_id = 'O5'")
    )
    fresh, report = refresh_region_cube(channels, built)
    assert not report.full and report.months == ("2025-03",)
    xr.testing.assert_identical(fresh, build_region_cube(channels).assign_attrs(fresh.attrs))
    march = select_measure(fresh, "revenue", level="district", period="2025-03", channel="web")
    assert march["district:D02"] == pytest.approx(250.5)
    assert np.isclose(float(fresh["revenue_by_channel"].sum()), 970.5)


def test_a_new_channel_or_branch_rebuilds_the_cube(channels: Connection) -> None:
    built = build_region_cube(channels)
    channels.execute(text("UPDATE gcrm.orders SET channel = 'phone' WHERE order_id = 'O2'"))
    fresh, report = refresh_region_cube(channels, built)
    assert report.full and "phone" in report.reason
    assert list(fresh["channel"].values) == ["phone", "shop", "web", "unknown"]
    # An order without a channel is refreshed in, under "unknown".
    channels.execute(text("UPDATE gcrm.orders SET channel = NULL WHERE order_id = 'O1'"))
    fresh, report = refresh_region_cube(channels, fresh)
    assert not report.full and report.months == ("2025-01",)
    unknown = select_measure(fresh, "revenue", level="district", channel="unknown")
    assert unknown["district:D01"] == pytest.approx(100.0)
    channels.execute(
        text(
            "INSERT INTO gcrm.branches (code, name, geom) "
            "VALUES ('B3', 'New', ST_SetSRID(ST_MakePoint(24.95, 60.16), 4326))"
        )
    )
    again, report = refresh_region_cube(channels, fresh)
    assert report.full and report.reason == "the branches changed"
    assert "B3" in again["branch"].values
    legacy = fresh.drop_vars(["revenue_by_channel"])
    _, report = refresh_region_cube(channels, legacy)
    assert report.full and "by channel and branch" in report.reason


def test_the_demo_cube_splits_every_order(demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    for measure, splits in BY_VARIABLES.items():
        for dim, name in splits.items():
            np.testing.assert_allclose(ds[name].sum(dim), ds[measure], atol=1e-6)
    assert set(ds["channel"].values) == {"store", "web", "phone", "unknown"}


def test_hot_spots_of_one_channel(demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    with demo.engine.connect() as conn:
        result = find_hotspots(
            ds, conn, level="hex", measure="revenue", channel="web", permutations=99
        )
    web = select_measure(ds, "revenue", level="hex", channel="web")
    values = result.set_index("area_id")["value"]
    np.testing.assert_allclose(values.to_numpy(), web.reindex(values.index).to_numpy())
    assert result.attrs["channel"] == "web" and result.attrs["branch"] == "all"
