"""The forecast in the dashboard (issue 11): the chart's dashed continuation with its band
and backtest, the map's "next 12 months" measures, the table, and the link."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sqlalchemy import Connection

from dashboard import panels as p
from dashboard.cache import DashboardData
from dashboard.callbacks import chart_forecast, forecast_choropleth
from dashboard.link import CONTROLS, query_of_state, state_of_query
from gcrm.areas import AreaLevel
from gcrm.cube import forecast, forecast_by_area, forecast_table_by_area
from gcrm.maps import format_value
from tests.dashboard.conftest import AREAS, small_cube

LEVELS = [
    AreaLevel("district", None, 1, "District"),
    AreaLevel("postcode", None, 1, "Postcode"),
    AreaLevel("hex", "district", 2, "Hexagon"),
]
REGION = {"level": "district", "parent": None, "selected": None}
MONTHS = pd.date_range("2023-01-01", periods=36, freq="MS")
HEXES = {"hex:h1": 1.0, "hex:h2": 3.0, "hex:h3": 10.0}


def long_cube() -> xr.Dataset:
    """The small cube's areas over three years: each hexagon's monthly figures a trend and a
    12-month season with noise of its own; districts the sums of their hexagons, the
    postcode the region's total (so every level tiles the same region)."""
    short = small_cube()
    rng = np.random.default_rng(11)
    t = np.arange(len(MONTHS))
    profile = {
        h: scale * (100 + 2 * t + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, len(t)))
        for h, scale in HEXES.items()
    }
    members = {
        "district:a": ["hex:h1", "hex:h2"],
        "district:b": ["hex:h3"],
        "postcode:00100": list(HEXES),
    } | {h: [h] for h in HEXES}
    ids = [a[0] for a in AREAS]
    per_area = np.stack([sum(profile[h] for h in members[a]) for a in ids])  # area x month
    segments = np.array([0.25, 0.75])
    values = per_area[:, :, None] * segments[None, None, :]
    ds = short.drop_vars([v for v in short.data_vars if "month" in short[v].dims])
    ds = ds.drop_vars("month").assign_coords(month=MONTHS.to_numpy())
    dims = ("area", "month", "segment")
    for name, factor in {
        "revenue": 10.0,
        "orders": 0.1,
        "customers": 1.0,
        "active": 0.8,
        "new": 0.05,
        "churned": 0.02,
    }.items():
        ds[name] = (dims, np.round(values * factor, 2))
    return ds


@pytest.fixture
def long() -> xr.Dataset:
    return long_cube()


@pytest.fixture
def data(area_conn: Connection, long: xr.Dataset) -> DashboardData:
    return DashboardData(engine=area_conn.engine, cube=long, region_name="Testland")


def _trace(fig, name_start: str):  # type: ignore[no-untyped-def]
    return next(t for t in fig.data if str(t.name).startswith(name_start))


def test_forecast_continues_the_series_dashed_in_a_band(long: xr.Dataset) -> None:
    result = forecast(long, "revenue", level="district")
    title, fig = p.series_figure(
        long, REGION, measure="revenue", segment=None, region_name="R", forecast=result
    )
    assert title == "Revenue by month · R"
    series, dashed = fig.data[0], _trace(fig, "Forecast")
    assert series.line.dash is None and dashed.line.dash == "dash"
    # The dashed line starts on the last month of the series and runs 12 months on.
    x = pd.to_datetime(dashed.x)
    assert x[0] == MONTHS[-1] and len(x) == 13
    assert list(x[1:]) == list(pd.date_range("2026-01-01", periods=12, freq="MS"))
    assert dashed.y[0] == pytest.approx(series.y[-1])
    assert list(dashed.y[1:]) == pytest.approx(list(result.months["forecast"]))
    # The band: its upper edge, then the lower edge filled up to it.
    lower = _trace(fig, "80% prediction interval")
    assert lower.fill == "tonexty" and list(lower.y[1:]) == pytest.approx(
        list(result.months["lower_80"])
    )
    upper = fig.data[list(fig.data).index(lower) - 1]
    assert list(upper.y[1:]) == pytest.approx(list(result.months["upper_80"]))
    assert fig.layout.showlegend is True


def test_without_a_forecast_there_is_no_dashed_line(long: xr.Dataset) -> None:
    _, fig = p.series_figure(long, REGION, measure="revenue", segment=None, region_name="R")
    assert len(fig.data) == 1 and fig.layout.showlegend is False


def test_the_note_gives_the_backtest_beside_the_forecast(long: xr.Dataset) -> None:
    result = forecast(long, "revenue", level="district")
    backtest = result.backtest
    assert backtest is not None
    note = p.forecast_note(result)
    assert note.startswith("Forecast: ETS(A,Ad,A) on 36 months · backtest on the last 12 months")
    assert (
        f"{backtest.pct_metric} {backtest.pct_model:.1f}% vs {backtest.pct_naive:.1f}% "
        "for the same month last year" in note
    )
    verdict = "the model was closer" if backtest.better == "model" else "the model did"
    assert verdict in note


def test_a_model_worse_than_last_year_is_said_to_be(long: xr.Dataset) -> None:
    # Each year the same as the last: the same month last year is exact, the model cannot
    # beat it.
    repeated = long.copy()
    revenue = long["revenue"]
    repeated["revenue"] = (revenue.dims, np.tile(revenue.values[:, :12], (1, 3, 1)))
    result = forecast(repeated, "revenue", area="hex:h3")
    assert result.backtest is not None and result.backtest.better != "model"
    note = p.forecast_note(result)
    assert "the model was closer" not in note
    assert "did worse than the same month last year" in note or "did no better" in note


def test_the_chart_forecasts_the_views_scope(data: DashboardData) -> None:
    # A selected area's own forecast; the drilled-in parent's; the region's total.
    for view, area in [
        ({"level": "hex", "parent": "district:a", "selected": "hex:h2"}, "hex:h2"),
        ({"level": "hex", "parent": "district:a", "selected": None}, "district:a"),
    ]:
        result, note = chart_forecast(data, view, measure="active", segment="business")
        assert result is not None and result.target == area and result.segment == "business"
        assert "backtest" in note
    result, _ = chart_forecast(data, REGION, measure="churned", segment="all")
    assert result is not None and result.target == "all areas of district"
    expected = forecast(data.cube, "churned", level="district")
    pd.testing.assert_frame_equal(result.months, expected.months)
    assert chart_forecast(data, REGION, measure="churned", segment="all")[0] is result  # cached


def test_no_forecast_for_a_measure_that_does_not_change_by_month(data: DashboardData) -> None:
    result, note = chart_forecast(data, REGION, measure="leads", segment="all")
    assert result is None
    assert note.startswith("No forecast for Leads")
    assert "Revenue" in note


def test_a_cube_too_short_says_so_instead_of_failing(area_conn: Connection) -> None:
    short = DashboardData(engine=area_conn.engine, cube=small_cube(), region_name="T")
    result, note = chart_forecast(short, REGION, measure="revenue", segment="all")
    assert result is None and note.startswith("No forecast: the cube holds 6 months")
    hideout, legend = forecast_choropleth(
        short, REGION, measure="revenue_next_12m", segment="all", scheme="quantiles", notes=[]
    )
    assert hideout["colors"] == {}
    assert "the cube holds 6 months" in str(legend)


@pytest.mark.parametrize(
    ("measure", "source"), [("revenue_next_12m", "revenue"), ("active_next_12m", "active")]
)
def test_map_measure_is_each_areas_forecast_with_its_intervals(
    data: DashboardData, measure: str, source: str
) -> None:
    view = {"level": "hex", "parent": None, "selected": None}
    hideout, legend = forecast_choropleth(
        data, view, measure=measure, segment="consumer", scheme="quantiles", notes=[]
    )
    table = forecast_table_by_area(data.cube, source, level="hex", segment="consumer")
    pd.testing.assert_series_equal(
        table["forecast"],
        forecast_by_area(data.cube, source, level="hex", segment="consumer"),
        check_names=False,
    )
    assert set(hideout["colors"]) == set(HEXES)
    unit = p._unit(source, data.cube)  # the cube's own currency, if any
    for area, row in table.iterrows():
        lines = hideout["tooltips"][area].splitlines()
        assert lines[1] == f"{p.measure_label(measure)}: {format_value(row['forecast'], unit=unit)}"
        assert lines[2] == (
            f"80% interval: {format_value(row['lower_80'], unit=unit)} to "
            f"{format_value(row['upper_80'], unit=unit)}"
        )
        assert lines[3].startswith("95% interval: ")
    text = str(legend)
    assert "forecast, next 12 months (Jan 2026 – Dec 2026)" in text
    # Computed once per slice: the same table again.
    again = data.area_forecasts(level="hex", measure=source, segment="consumer", parent=None)
    assert again is data.area_forecasts(
        level="hex", measure=source, segment="consumer", parent=None
    )


def test_the_table_ranks_the_areas_forecasts(data: DashboardData) -> None:
    values = data.area_forecasts(level="hex", measure="revenue", segment=None, parent=None)[
        "forecast"
    ]
    view = {"level": "hex", "parent": None, "selected": "hex:h1"}
    level, parent, rows = p.table_rows(
        data.cube,
        view,
        LEVELS,
        measure="revenue",
        period="2025-Q2",
        segment=None,
        compare="previous",
        values=values,
    )
    assert (level, parent) == ("hex", None)
    assert [r["area"] for r in rows] == ["hex:h3", "hex:h2", "hex:h1"]
    assert rows[0]["value"] == format_value(values["hex:h3"], unit=p._unit("revenue", data.cube))
    assert "base" not in rows[0]  # a forecast is not compared


def test_forecast_measures_are_in_the_dropdown() -> None:
    options = {o["value"]: o["label"] for o in p.measure_options()}
    assert options["revenue_next_12m"] == "Revenue, next 12 months"
    assert options["churned_next_12m"].endswith(", next 12 months")
    assert options["revenue"] == "Revenue"


def test_link_round_trip_with_the_forecast(long: xr.Dataset) -> None:
    view = {"level": "hex", "parent": "district:a", "selected": None}
    controls = CONTROLS | {"measure": "revenue_next_12m", "forecast": True}
    query = query_of_state(view, controls)
    assert query == "?level=hex&parent=district:a&measure=revenue_next_12m&forecast=on"
    assert state_of_query(query, levels=LEVELS, ds=long) == (view, controls)
    # A checklist's value (a list) is what the page hands over.
    assert query_of_state(view, CONTROLS | {"forecast": ["on"]}).endswith("&forecast=on")
    assert query_of_state(view, CONTROLS | {"forecast": []}) == "?level=hex&parent=district:a"
    _, bad = state_of_query("?level=hex&forecast=yes&measure=x_next_12m", levels=LEVELS, ds=long)
    assert bad["forecast"] is False and bad["measure"] == CONTROLS["measure"]


def test_period_labels_read_one_way_everywhere(long: xr.Dataset) -> None:
    assert p.period_label("2025-Q2") == "Q2 2025"
    assert p.period_label("2025-03") == "Mar 2025"
    assert p.period_label("2025") == "2025"
    assert {"label": "Q2 2025", "value": "2025-Q2"} in p.period_options(long)
    cards = p.kpi_cards({"revenue": 110.0}, base={"revenue": 100.0}, base_period="2025-Q1")
    assert cards == [("revenue", "Revenue", "110 (+10.0% vs Q1 2025)")]
    _, fig = p.series_figure(
        long,
        REGION,
        measure="revenue",
        segment=None,
        region_name="R",
        period="2025-Q2",
        base_period="2024-Q2",
    )
    assert fig.data[1].name == "12 months earlier (base Q2 2024)"
