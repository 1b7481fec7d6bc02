"""Comparing periods, shares, running totals and pivots on a small cube written by hand
(tests/cube/small.py says what it holds); expected values are worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gcrm.core import ValidationError
from gcrm.cube import (
    MEASURES,
    active_at_start,
    area_shares,
    base_period,
    churn_rate,
    compare_periods,
    month_masks,
    pivot,
    safe_ratio,
    select_measure,
    time_series,
    top_level,
)
from gcrm.cube.ops import _region_value
from tests.cube.small import small_cube


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    return small_cube()


@pytest.mark.parametrize(
    ("period", "compare", "base"),
    [
        ("2025-03", "previous", "2025-02"),
        ("2025-01", "previous", "2024-12"),
        ("2025-Q1", "previous", "2024-Q4"),
        ("2025", "previous", "2024"),
        ("2025-03", "yoy", "2024-03"),
        ("2025-Q1", "yoy", "2024-Q1"),
        ("2025", "yoy", "2024"),
        ("2025-Q1", "2023-Q3", "2023-Q3"),
    ],
)
def test_base_period(period: str, compare: str, base: str) -> None:
    assert base_period(period, compare) == base


def test_base_period_errors_name_the_argument_and_the_fix() -> None:
    with pytest.raises(ValidationError, match=r"compare='last'.*previous, yoy or a period"):
        base_period("2025-03", "last")
    with pytest.raises(ValidationError, match=r"compare='2024' is a year.*compare='2024-03'"):
        base_period("2025-03", "2024")
    with pytest.raises(ValidationError, match=r"period 'March'"):
        base_period("March", "previous")


def test_month_against_previous_month(cube: xr.Dataset) -> None:
    got = compare_periods(cube, "revenue", level="district", period="2025-03")
    # A: weights 1 + 2 = 3, segments 1 + 10 = 11: 3 x 11 x 15 = 495 against 3 x 11 x 14 = 462.
    a = got.loc["district:A"]
    assert (a.value, a.base, a.change) == (495, 462, 33)
    assert a["pct_change"] == pytest.approx(33 / 462)
    # B had no revenue in 2025-02: the change is all of it, the % change is no number.
    b = got.loc["district:B"]
    assert (b.value, b.base, b.change) == (4 * 11 * 15, 0, 4 * 11 * 15)
    assert math.isnan(b["pct_change"])
    assert np.isfinite(got["pct_change"].dropna()).all()
    assert got.attrs == {"period": "2025-03", "base_period": "2025-02"}


def test_quarter_against_previous_and_year_before(cube: xr.Dataset) -> None:
    # Flows: months 13, 14, 15 (2025-Q1) against 10, 11, 12 (2024-Q4) and 1, 2, 3 (2024-Q1).
    previous = compare_periods(cube, "revenue", level="hex", period="2025-Q1", parent="district:A")
    assert list(previous.index) == ["hex:a1", "hex:a2"]
    assert previous.loc["hex:a1", "value"] == 11 * (13 + 14 + 15)
    assert previous.loc["hex:a1", "base"] == 11 * (10 + 11 + 12)
    yoy = compare_periods(cube, "revenue", level="hex", period="2025-Q1", compare="yoy")
    assert yoy.loc["hex:a2", "base"] == 2 * 11 * (1 + 2 + 3)
    # Stocks at the quarter's end: 11 + 14 against 11 + 2, per hex and segment.
    active = compare_periods(cube, "active", level="hex", period="2025-Q1", compare="yoy")
    assert active.loc["hex:a1"].tolist() == [50, 26, 24, pytest.approx(24 / 26)]


def test_derived_measures_are_recomputed_in_each_period(cube: xr.Dataset) -> None:
    got = compare_periods(cube, "churn_rate", level="district", period="2025-Q1")
    # Per hex and segment 3 churned in a quarter, against 10 + m active at its start:
    # 2025-Q1 starts at m = 12 (22), 2024-Q4 at m = 9 (19).
    a = got.loc["district:A"]
    assert a.value == pytest.approx(3 / 22) and a.base == pytest.approx(3 / 19)
    assert a.change == pytest.approx(3 / 22 - 3 / 19)
    assert a["pct_change"] == pytest.approx((3 / 22 - 3 / 19) / (3 / 19))


def test_explicit_base_period(cube: xr.Dataset) -> None:
    got = compare_periods(cube, "orders", level="district", period="2025-Q1", compare="2024-Q2")
    # Orders: one per hex, segment and month: A has 2 hexes x 2 segments x 3 months.
    assert got.loc["district:A", ["value", "base", "change"]].tolist() == [12, 12, 0]
    assert got.loc["district:A", "pct_change"] == 0


def test_bases_outside_the_cube_name_the_period_and_the_range(cube: xr.Dataset) -> None:
    with pytest.raises(
        ValidationError,
        match=r"compare='yoy': the base period '2023-03' is not wholly inside the cube "
        r"\(it covers 2024-01 to 2025-03\)",
    ):
        compare_periods(cube, "revenue", level="district", period="2024-03", compare="yoy")
    with pytest.raises(ValidationError, match=r"'2023'.*covers 2024-01 to 2025-03"):
        compare_periods(cube, "revenue", level="district", period="2024")
    # 2025 holds only its first quarter: not a whole year to compare.
    with pytest.raises(ValidationError, match=r"period '2025' is not wholly inside the cube"):
        compare_periods(cube, "revenue", level="district", period="2025", compare="yoy")
    with pytest.raises(ValidationError, match=r"needs one period.*period='2025-03'"):
        compare_periods(cube, "revenue", level="district", period="all")


def test_shares_of_parent_and_region(cube: xr.Dataset) -> None:
    got = area_shares(cube, "revenue", level="hex", period="2025-03")
    # a1 : a2 : b1 = 1 : 2 : 4; A is a1 + a2, B is b1, the region all seven.
    assert got["share_of_parent"].tolist() == pytest.approx([1 / 3, 2 / 3, 1])
    assert got["share_of_region"].tolist() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert got.loc["hex:a1", "value"] == 11 * 15
    top = area_shares(cube, "households", level="district")
    assert top["share_of_parent"].isna().all()
    assert top["share_of_region"].tolist() == pytest.approx([3 / 7, 4 / 7])
    # Under a parent, the region is still every area of the level.
    under = area_shares(cube, "revenue", level="hex", period="2025-03", parent="district:A")
    assert under["share_of_region"].tolist() == pytest.approx([1 / 7, 2 / 7])


def test_shares_of_ratios_are_refused(cube: xr.Dataset) -> None:
    with pytest.raises(ValidationError, match=r"measure 'churn_rate' is a derived measure"):
        area_shares(cube, "churn_rate", level="district")
    with pytest.raises(ValidationError, match=r"'building_density_per_km2' is a ratio"):
        area_shares(cube, "building_density_per_km2", level="district")


def test_running_totals_of_flows(cube: xr.Dataset) -> None:
    running = time_series(cube, "revenue", level="district", cumulative=True)
    # The region: weights 7 x segments 11 x (1 + 2 + ... + (m + 1)).
    assert running.iloc[:3].tolist() == [77, 77 * 3, 77 * 6]
    plain = time_series(cube, "revenue", level="district")
    assert running.iloc[-1] == plain.sum()
    with pytest.raises(ValidationError, match=r"cumulative=True for measure 'active' \(stock\)"):
        time_series(cube, "active", cumulative=True)


def test_churn_rate_is_churned_over_active_at_the_start(cube: xr.Dataset) -> None:
    at_start = active_at_start(cube, level="hex", period="2025-03")
    # Active at the end of 2025-02 (m = 13): 11 + 13 per segment.
    assert at_start.tolist() == [48, 48, 48]
    rate = select_measure(cube, "churn_rate", level="hex", period="2025-03")
    assert rate.tolist() == pytest.approx([2 / 48] * 3)
    # The cube's first month: the customers carried in from before the range (10 + 10).
    assert active_at_start(cube, level="hex", period="2024-01").tolist() == [20, 20, 20]
    assert churn_rate(3.0, 0.0) != churn_rate(3.0, 0.0)  # NaN, never inf
    assert churn_rate(pd.Series([1.0, 1.0]), pd.Series([4.0, 0.0])).tolist()[0] == 0.25
    region = time_series(cube, "churn_rate", level="district")
    assert region.iloc[0] == pytest.approx(6 / 60)  # 3 hexes x 2 segments: 6 / (6 x 10)


def test_safe_ratio_never_gives_infinity() -> None:
    assert math.isnan(safe_ratio(1.0, 0.0)) and math.isnan(safe_ratio(0.0, 0.0))
    da = safe_ratio(xr.DataArray([1.0, 2.0, 0.0]), xr.DataArray([2.0, 0.0, 0.0]))
    assert da.values[0] == 0.5 and np.isnan(da.values[1:]).all()


def test_pivot_area_by_segment(cube: xr.Dataset) -> None:
    got = pivot(cube, "revenue", "area", "segment", level="district", period="2025-03")
    expected = pd.DataFrame(
        {"smb": [45.0, 60.0], "consumer": [450.0, 600.0]},
        index=pd.Index(["district:A", "district:B"], name="area"),
    ).rename_axis(columns="segment")
    pd.testing.assert_frame_equal(got, expected)
    turned = pivot(cube, "revenue", "segment", "area", level="district", period="2025-03")
    pd.testing.assert_frame_equal(turned, expected.T)


def test_pivot_area_by_month(cube: xr.Dataset) -> None:
    got = pivot(cube, "revenue", "month", "area", level="hex", period="2025-Q1")
    assert list(got.index) == ["2025-01", "2025-02", "2025-03"]
    assert got["hex:a1"].tolist() == [11 * 13, 11 * 14, 11 * 15]
    assert got["hex:b1"].tolist() == [44 * 13, 0, 44 * 15]
    # Stocks: the month's end.
    active = pivot(cube, "active", "area", "month", level="hex", period="2024-Q1", segment="smb")
    assert active.loc["hex:a1"].tolist() == [11, 12, 13]


def test_pivot_segment_by_month_recomputes_derived_measures(cube: xr.Dataset) -> None:
    got = pivot(cube, "churn_rate", "segment", "month", level="district", period="2025-Q1")
    # Each segment: 3 hexes x 1 churned / 3 hexes x (10 + m) at the start of month m.
    assert got.loc["smb"].tolist() == pytest.approx([1 / 22, 1 / 23, 1 / 24])
    assert got.loc["consumer"].tolist() == pytest.approx([1 / 22, 1 / 23, 1 / 24])
    revenue = pivot(cube, "revenue", "segment", "month", period="2025-03", parent=None)
    assert revenue.loc["consumer", "2025-03"] == 7 * 10 * 15


def test_pivot_errors_name_the_fix(cube: xr.Dataset) -> None:
    with pytest.raises(ValidationError, match=r"columns='region' is not a dimension.*channel"):
        pivot(cube, "revenue", "area", "region")
    # A cube built before orders were split by channel (this hand-written one) says so.
    with pytest.raises(ValidationError, match=r"built before orders were split by channel"):
        pivot(cube, "revenue", "area", "channel")
    with pytest.raises(ValidationError, match=r"rows and columns are both 'area'"):
        pivot(cube, "revenue", "area", "area")
    with pytest.raises(ValidationError, match=r"segment='smb' with segments pivoted"):
        pivot(cube, "revenue", "area", "segment", segment="smb")


def test_time_series_is_every_one_month_period(region: xr.Dataset) -> None:
    """The month-by-month series, computed at once, is the value of each one-month period
    as the region's rules give it, for every measure and segment (the tiny seeded region,
    built from the database: every variable a cube has)."""
    ds = region
    for measure in [m for m in MEASURES if m in ds or MEASURES[m].kind == "derived"]:
        for segment in (None, str(ds["segment"].values[0])):
            series = time_series(ds, measure, segment=segment)
            level = top_level(ds)
            sub = ds.isel(area=np.flatnonzero(ds["level"].values == level))
            expected = [_region_value(sub, measure, mask, segment) for _, mask in month_masks(ds)]
            np.testing.assert_allclose(series.to_numpy(float), expected, equal_nan=True)
