"""Issue 11, the forecast in the dashboard, in a real headless Chromium on the demo region:
the chart's dashed continuation with its backtest, and the map's "next 12 months" measure."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from dashboard.panels import area_colours, choropleth_classes
from gcrm.cube import forecast_table_by_area, load_cube

pytestmark = pytest.mark.browser

AREA_PATHS = "path.gcrm-area"
LINES = "#chart .scatterlayer .trace path.js-line"


def _until(dash_duo, condition, *, msg: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    wait.until(condition, message=msg)


def _dashed(dash_duo) -> list[str]:  # type: ignore[no-untyped-def]
    """The stroke-dasharray of each line drawn in the chart that has one."""
    dashes = [
        str(path.value_of_css_property("stroke-dasharray") or "")
        for path in dash_duo.find_elements(LINES)
    ]
    return [d for d in dashes if d not in ("", "none")]


def _query(dash_duo) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v[-1] for k, v in parse_qs(urlsplit(dash_duo.driver.current_url).query).items()}


def test_show_forecast_draws_a_dashed_line_and_the_backtest(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    # Read before the server starts, so zarr's threads are not the app server's to stop
    # (tests/dashboard/conftest.py, _fresh_zarr_threads).
    months_of_history = load_cube(demo.cube_path).sizes["month"]
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(AREA_PATHS, timeout=15)
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
    _until(dash_duo, lambda _d: len(dash_duo.find_elements(LINES)) == 1, msg="no series drawn")
    assert _dashed(dash_duo) == []

    dash_duo.find_element("#show-forecast input[value='on']").click()
    _until(
        dash_duo,
        lambda _d: len(_dashed(dash_duo)) == 1,
        msg="showing the forecast did not draw one dashed line",
    )
    dash_duo.wait_for_contains_text("#chart-note", "backtest on the last 12 months", timeout=10)
    assert f"on {months_of_history} months" in dash_duo.find_element("#chart-note").text
    assert "for the same month last year" in dash_duo.find_element("#chart-note").text
    # The dashed line reaches 12 months past the series: its figure says so.
    months = dash_duo.driver.execute_script(
        "const g = document.querySelector('#chart .js-plotly-plot');"
        "const t = g.data.find(d => d.line && d.line.dash === 'dash');"
        "return t ? t.x.length : 0;"
    )
    assert months == 13  # the last month of the series, then 12 forecast
    _until(
        dash_duo,
        lambda _d: _query(dash_duo).get("forecast") == "on",
        msg=f"the link does not carry the forecast: {dash_duo.driver.current_url}",
    )

    # A measure with no forecast: no dashed line, a note saying so.
    dash_duo.select_dcc_dropdown("#measure", value="Leads")
    dash_duo.wait_for_contains_text("#chart-note", "No forecast for Leads", timeout=10)
    _until(dash_duo, lambda _d: _dashed(dash_duo) == [], msg="a dashed line for Leads")
    assert dash_duo.get_logs() == []


def test_next_12_months_colours_the_map_by_each_areas_forecast(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    table = forecast_table_by_area(ds, "revenue", level="district")
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/?measure=revenue_next_12m&points=none")
    dash_duo.wait_for_element(AREA_PATHS, timeout=15)
    dash_duo.wait_for_contains_text(
        "#legend-title", "Revenue · forecast, next 12 months", timeout=20
    )
    assert "80% and 95% prediction intervals" in dash_duo.find_element("#legend-note").text
    classes = choropleth_classes(table["forecast"], scheme="quantiles")
    colours = set(area_colours(table["forecast"], classes).values())
    _until(
        dash_duo,
        lambda _d: {p.get_attribute("fill") for p in dash_duo.find_elements(AREA_PATHS)} == colours,
        msg="the areas are not coloured by their forecast",
    )
    # The chart forecasts the measure behind it, and the table ranks the forecasts.
    _until(dash_duo, lambda _d: len(_dashed(dash_duo)) == 1, msg="no forecast in the chart")
    _until(
        dash_duo,
        lambda _d: (
            "Revenue, next 12 months"
            in [th.get_attribute("textContent") for th in dash_duo.find_elements("#top-areas th")]
        ),
        msg="the table is not of the forecast",
    )
    top = str(ds["name"].sel(area=table["forecast"].idxmax()).item())
    assert dash_duo.find_elements("#top-areas td")[1].get_attribute("textContent") == top
    assert dash_duo.get_logs() == []
