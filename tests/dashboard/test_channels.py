"""Channel and branch in the dashboard's panels (plain functions on the small cube of
conftest.py: web has a quarter of revenue and orders, store three quarters; branch B01
half), and in a real Chromium on the demo region."""

from __future__ import annotations

import math

import pytest
import xarray as xr

from dashboard import create_app
from dashboard import panels as p
from gcrm.cube import load_cube, measure_unit, select_measure
from gcrm.maps import format_value

REGION = {"level": "district", "parent": None, "selected": None}


def test_options_come_from_the_cube(cube: xr.Dataset) -> None:
    assert p.channel_options(cube) == [
        {"label": "All channels", "value": "all"},
        {"label": "Store", "value": "store"},
        {"label": "Web", "value": "web"},
    ]
    assert [o["label"] for o in p.branch_options(cube)] == [
        "All branches",
        "B01 · Central",
        "No branch",
    ]


def test_order_measures_follow_the_channel_and_customer_counts_say_they_do_not(
    cube: xr.Dataset,
) -> None:
    every = p.view_values(cube, REGION, measure="revenue", period="all", segment="all")
    web = p.view_values(cube, REGION, measure="revenue", period="all", segment="all", channel="web")
    assert (web * 4).to_dict() == pytest.approx(every.to_dict())
    half = p.view_values(cube, REGION, measure="orders", period="all", segment="all", branch="B01")
    orders = p.view_values(cube, REGION, measure="orders", period="all", segment="all")
    assert (half * 2).to_dict() == pytest.approx(orders.to_dict())
    active = p.view_values(cube, REGION, measure="active", period="all", segment="all")
    filtered = p.view_values(
        cube, REGION, measure="active", period="all", segment="all", channel="web"
    )
    assert filtered.equals(active)
    assert p.order_filter("active", channel="web") == (
        {},
        "Active customers is not split by channel (only revenue and orders are): all shown.",
    )
    orders_only, note = p.order_filter("revenue", channel="web", branch="B01")
    assert orders_only == {"channel": "web"} and note is not None and "one at a time" in note


def test_kpis_chart_and_table_follow_the_channel(cube: xr.Dataset) -> None:
    every = p.kpi_values(cube, REGION, period="all", segment="all")
    web = p.kpi_values(cube, REGION, period="all", segment="all", channel="web")
    assert web["revenue"] == pytest.approx(every["revenue"] / 4)
    assert web["active"] == every["active"] and web["customers"] == every["customers"]
    assert math.isclose(web["penetration"], every["penetration"])
    assert p.kpi_note(channel="web", branch="all") == (
        "Revenue of channel web; customer counts are not split by channel (all shown)."
    )
    assert p.kpi_note(channel="all", branch=None) is None
    _, figure = p.series_figure(
        cube, REGION, measure="revenue", segment="all", region_name="R", branch="B01"
    )
    _, whole = p.series_figure(cube, REGION, measure="revenue", segment="all", region_name="R")
    assert [2 * y for y in figure.data[0].y] == pytest.approx(list(whole.data[0].y))
    _, _, rows = p.table_rows(
        cube, REGION, [], measure="revenue", period="all", segment="all", channel="web"
    )
    # District b: 100 a month x (1 + ... + 6) x (1 + 3) over both segments = 8,400; web 1/4.
    assert rows[0]["name"] == "Bulevardi"
    assert rows[0]["value"] == format_value(2100.0, unit=measure_unit(cube, "revenue"))
    compared = p.view_comparison(
        cube, REGION, measure="revenue", period="2024-06", compare="previous", segment="all",
        channel="web",
    )  # fmt: skip
    plain = p.view_comparison(
        cube, REGION, measure="revenue", period="2024-06", compare="previous", segment="all"
    )
    assert (compared["value"] * 4).to_dict() == pytest.approx(plain["value"].to_dict())


@pytest.mark.browser
def test_choosing_a_channel_changes_the_revenue_kpi(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    channel = str(ds["channel"].values[0])
    unit = measure_unit(ds, "revenue")
    level = "district"
    every = float(select_measure(ds, "revenue", level=level).sum())
    of_channel = float(select_measure(ds, "revenue", level=level, channel=channel).sum())
    assert 0 < of_channel < every
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    dash_duo.wait_for_element("path.gcrm-area", timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-revenue", format_value(every, unit=unit), timeout=10)
    label = next(o["label"] for o in p.channel_options(ds) if o["value"] == channel)
    dash_duo.select_dcc_dropdown("#channel", value=label)
    dash_duo.wait_for_text_to_equal("#kpi-revenue", format_value(of_channel, unit=unit), timeout=10)
    dash_duo.wait_for_contains_text("#compare-note", f"channel {channel}", timeout=10)
    assert f"channel={channel}" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
