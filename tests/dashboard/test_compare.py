"""Comparing periods on the dashboard, as plain functions on the small cube
(January to June 2024: Q2 has a base in Q1, nothing has one a year earlier)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import xarray as xr

from dashboard import panels as p
from gcrm.areas import AreaLevel
from gcrm.core import ValidationError
from gcrm.maps.style import DIVERGING_PALETTE

LEVELS = [
    AreaLevel("district", None, 1, "District"),
    AreaLevel("postcode", None, 1, "Postcode"),
    AreaLevel("hex", "district", 2, "Hexagon"),
]


def test_comparison_base_inside_outside_and_none(cube: xr.Dataset) -> None:
    assert p.comparison_base(cube, period="2024-Q2", compare="previous") == "2024-Q1"
    assert p.comparison_base(cube, period="2024-05", compare="previous") == "2024-04"
    assert p.comparison_base(cube, period="all", compare="yoy") is None
    assert p.comparison_base(cube, period="2024-Q2", compare="none") is None
    with pytest.raises(ValidationError, match="'2023-Q2' is not wholly inside the cube"):
        p.comparison_base(cube, period="2024-Q2", compare="yoy")
    with pytest.raises(ValidationError, match="compare='lastweek'"):
        p.comparison_base(cube, period="2024-Q2", compare="lastweek")


def test_change_text_signs_and_missing_base() -> None:
    assert p.change_text(108.3, 100.0) == "+8.3%"
    assert p.change_text(90.0, 100.0) == "-10.0%"
    assert p.change_text(5.0, 0.0) == "–"
    assert p.change_text(5.0, math.nan) == "–"


def test_diverging_classes_are_centred_on_zero() -> None:
    classes = p.diverging_classes(pd.Series([-0.1, 0.02, 0.35, math.nan]))
    assert classes.colours == DIVERGING_PALETTE
    assert classes.breaks[0] == pytest.approx(-0.35) and classes.breaks[-1] == pytest.approx(0.35)
    middle = DIVERGING_PALETTE[len(DIVERGING_PALETTE) // 2]
    assert classes.colour_of(0.0) == middle
    assert classes.colour_of(0.35) == DIVERGING_PALETTE[-1]
    assert classes.colour_of(-0.35) == DIVERGING_PALETTE[0]
    assert p.diverging_classes(pd.Series([0.0, 0.0])).colours == (middle,)
    assert p.diverging_classes(pd.Series([math.nan])).colours == ()


def test_months_between_periods() -> None:
    assert p.months_between("2024-Q1", "2024-Q2") == 3
    assert p.months_between("2023-05", "2024-05") == 12
    assert p.months_between("2024", "2025") == 12


def test_table_rows_with_compare_have_base_and_change(cube: xr.Dataset) -> None:
    view = {"level": "hex", "parent": None, "selected": None}
    _, _, rows = p.table_rows(
        cube, view, LEVELS, measure="revenue", period="2024-Q2", segment=None, compare="previous"
    )
    # h3's revenue: 100 x months (4+5+6 vs 1+2+3) x segments (1+3).
    top = rows[0]
    assert (top["area"], top["value"], top["base"], top["change"]) == (
        "hex:h3",
        "6,000",
        "2,400",
        "+150.0%",
    )
    _, _, plain = p.table_rows(
        cube, view, LEVELS, measure="revenue", period="2024-Q2", segment=None
    )
    assert "base" not in plain[0]


def test_kpi_cards_with_a_base_show_the_change() -> None:
    cards = p.kpi_cards(
        {"revenue": 1083.0, "customers": 10.0}, base={"revenue": 1000.0}, base_period="2024-Q1"
    )
    shown = {key: text for key, _, text in cards}
    assert shown == {"customers": "10", "revenue": "1,083 (+8.3% vs Q1 2024)"}


def test_change_tooltips_name_both_periods(cube: xr.Dataset) -> None:
    view = {"level": "hex", "parent": "district:a", "selected": None}
    table = p.view_comparison(
        cube, view, measure="revenue", period="2024-Q2", compare="previous", segment="all"
    )
    tips = p.change_tooltips(table, cube, measure="revenue")
    assert tips["hex:h1"].splitlines() == [
        "Hex 1",
        "Revenue, Q2 2024: 600",
        "Revenue, Q1 2024: 240",
        "Change: +150.0%",
    ]


def test_series_figure_with_a_base_draws_it_shifted(cube: xr.Dataset) -> None:
    view = {"level": "district", "parent": None, "selected": None}
    _, fig = p.series_figure(
        cube,
        view,
        measure="revenue",
        segment=None,
        region_name="Region",
        period="2024-Q2",
        base_period="2024-Q1",
    )
    now, before = (list(trace.y) for trace in fig.data)
    # Three months later on the x axis, the base line shows what the first line showed.
    assert before[3:] == now[:3]
    assert all(math.isnan(y) for y in before[:3])
