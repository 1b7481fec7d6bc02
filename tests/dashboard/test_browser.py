"""The dashboard in a real headless Chromium on the demo region: what a manager sees and clicks.

Set GCRM_DASHBOARD_SCREENSHOT=docs/img/dashboard.png to save the README's screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from gcrm.cube import area_sources, load_cube, select_measure
from gcrm.maps import format_value

pytestmark = pytest.mark.browser

AREA_PATHS = "path.gcrm-area"


def _texts(dash_duo, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.text for e in dash_duo.find_elements(selector)]


def _until(dash_duo, condition, *, msg: str, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    # Dash re-renders what callbacks fill in, so an element may go stale between polls.
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    wait.until(condition, message=msg)


def _wait_paths(dash_duo, count: int) -> None:  # type: ignore[no-untyped-def]
    dash_duo.wait_for_element(AREA_PATHS, timeout=15)
    _until(
        dash_duo,
        lambda _driver: len(dash_duo.find_elements(AREA_PATHS)) == count,
        timeout=15,
        msg=f"expected {count} area paths, saw {len(dash_duo.find_elements(AREA_PATHS))}",
    )


def _hide_customer_points(dash_duo) -> None:  # type: ignore[no-untyped-def]
    """Untick Customers in the sidebar, so clusters don't cover the areas to click."""
    dash_duo.find_element("#point-layers input[value='customers']").click()
    _until(
        dash_duo,
        lambda _d: not dash_duo.find_elements(".gcrm-cluster-customers"),
        msg="customer clusters still shown after unticking the layer",
    )


def test_dashboard_choropleth_measure_click_and_drill(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    districts = [str(a) for a in ds["area"].values[ds["level"].values == "district"]]
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)

    # The choropleth of districts, with legend, clusters and attribution.
    _wait_paths(dash_duo, len(districts))
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
    assert (
        "© OpenStreetMap contributors, ODbL"
        in dash_duo.find_element(".leaflet-control-attribution").text
    )
    _until(  # the customers of the view, as clusters or points (fetched once the map moved)
        dash_duo,
        lambda _d: (
            dash_duo.find_elements(".gcrm-cluster-customers")
            or dash_duo.find_elements("path.leaflet-interactive[fill='#6a3d9a']")
        ),
        msg="no customer points on the map",
    )
    fills_before = {p.get_attribute("fill") for p in dash_duo.find_elements(AREA_PATHS)}
    assert len(fills_before) > 1  # coloured by value, not one flat colour

    # How precisely customers are placed: a KPI card, and points coloured by precision.
    dash_duo.wait_for_contains_text("#kpi-approximate", " customers (", timeout=10)
    dash_duo.find_element("#point-colour input[value='precision']").click()
    dash_duo.wait_for_text_to_equal(
        "#point-legend-title", "Customers by geocode precision", timeout=10
    )
    assert "rooftop" in dash_duo.find_element("#point-legend").text

    # Another measure: legend title, table header and values follow.
    dash_duo.select_dcc_dropdown("#measure", value="Active customers")
    dash_duo.wait_for_text_to_equal("#legend-title", "Active customers · whole range", timeout=10)
    header = "#top-areas th:nth-child(4)"  # shown upper-case by CSS; compare the DOM text
    _until(
        dash_duo,
        lambda _d: dash_duo.find_element(header).get_attribute("textContent") == "Active customers",
        timeout=10,
        msg="the table's value column is not headed 'Active customers'",
    )
    active = select_measure(ds, "active", level="district")
    best = active.sort_values(ascending=False).index[0]
    first_row = dash_duo.find_elements("#top-areas tbody tr")[0].text
    assert str(ds["name"].sel(area=best).item()) in first_row
    assert format_value(float(active[best])) in first_row

    # Click an area: selection, chart, table and KPIs follow it.
    _hide_customer_points(dash_duo)
    revenue = select_measure(ds, "revenue", level="district")
    top = revenue.sort_values(ascending=False).index[0]
    dash_duo.find_element(f"path.gcrm-area-{ds['code'].sel(area=top).item()}").click()
    _until(
        dash_duo,
        lambda _d: dash_duo.find_element("#selection-name").text != "No area selected",
        msg="clicking an area did not select it",
    )
    name = dash_duo.find_element("#selection-name").text
    area = top
    assert name == str(ds["name"].sel(area=area).item())
    dash_duo.wait_for_text_to_equal(
        "#chart-title", f"Active customers by month · {name}", timeout=10
    )
    dash_duo.wait_for_text_to_equal("#kpi-active", format_value(float(active[area])), timeout=10)
    dash_duo.wait_for_contains_text("#table-title", f"in {name}", timeout=10)
    ActionChains(dash_duo.driver).move_to_element(dash_duo.find_element("#legend")).perform()
    _until(  # the selected area is outlined in red once the pointer leaves it
        dash_duo,
        lambda _d: len(dash_duo.find_elements(f"{AREA_PATHS}[stroke='#d7301f']")) == 1,
        msg="the selected area is not outlined",
    )

    # Drill down to the hexagons of that district, then back up.
    hexes = [str(a) for a in ds["area"].values[ds["parent"].values == area]]
    assert hexes, f"demo district {area} has no hexagons"
    dash_duo.find_element("#drill-down").click()
    _wait_paths(dash_duo, len(hexes))
    dash_duo.wait_for_contains_text("#breadcrumb", name, timeout=10)
    dash_duo.wait_for_text_to_equal("#selection-name", "No area selected", timeout=10)
    dash_duo.wait_for_text_to_equal(
        "#chart-title", f"Active customers by month · {name}", timeout=10
    )
    dash_duo.wait_for_contains_text("#level", "hexagon", timeout=10)
    dash_duo.find_element("#go-up").click()
    _wait_paths(dash_duo, len(districts))
    dash_duo.wait_for_text_to_equal("#selection-name", name, timeout=10)

    shot = os.environ.get("GCRM_DASHBOARD_SCREENSHOT")
    if shot:
        dash_duo.find_element("#point-layers input[value='customers']").click()
        dash_duo.select_dcc_dropdown("#measure", value="Revenue")
        dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        dash_duo.driver.save_screenshot(shot)
    assert dash_duo.get_logs() == []


def test_area_tooltip_names_the_value_and_where_a_statistic_comes_from(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    """Hovering an area shows its name and value; for a statistic (population) also its
    source and vintage, and it follows the measure chosen."""
    ds = load_cube(demo.cube_path)
    districts = [str(a) for a in ds["area"].values[ds["level"].values == "district"]]
    population = select_measure(ds, "population", level="district")
    area = population.sort_values(ascending=False).index[0]
    source = area_sources(ds, "population", [area])[area]
    assert source, "the demo's population carries a source and vintage"
    name, code = str(ds["name"].sel(area=area).item()), str(ds["code"].sel(area=area).item())
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    _wait_paths(dash_duo, len(districts))
    _hide_customer_points(dash_duo)

    def tooltip_after_hover() -> str:
        ActionChains(dash_duo.driver).move_to_element(dash_duo.find_element("#legend")).perform()
        path = dash_duo.find_element(f"path.gcrm-area-{code}")
        ActionChains(dash_duo.driver).move_to_element(path).perform()
        dash_duo.wait_for_element(".gcrm-area-tooltip", timeout=10)
        return str(dash_duo.find_element(".gcrm-area-tooltip").get_attribute("textContent"))

    dash_duo.select_dcc_dropdown("#measure", value="Population")
    dash_duo.wait_for_text_to_equal("#legend-title", "Population · whole range", timeout=10)
    tip = tooltip_after_hover()
    assert tip.splitlines() == [
        name,
        f"Population: {format_value(float(population[area]))}",
        f"Source: {source}",
    ]

    dash_duo.select_dcc_dropdown("#measure", value="Revenue")
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
    revenue = select_measure(ds, "revenue", level="district")
    _until(
        dash_duo,
        lambda _d: (
            tooltip_after_hover().splitlines()
            == [name, f"Revenue, whole range: {format_value(float(revenue[area]), unit='EUR')}"]
        ),
        msg="the tooltip does not follow the measure (or shows a source for revenue)",
    )
    assert dash_duo.get_logs() == []
