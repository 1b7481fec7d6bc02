"""Issue 11, the regional manager's map, in a real headless Chromium on the demo region:
comparing a period with another, the view in the page's link, and the hot spots layer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from gcrm.cube import find_hotspots, load_cube, measure_unit, select_measure
from gcrm.maps import HOTSPOT_COLOURS, format_value

pytestmark = pytest.mark.browser

AREA_PATHS = "path.gcrm-area"


def _until(dash_duo, condition, *, msg: str, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    wait.until(condition, message=msg)


def _click(dash_duo, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click ``selector``, finding it again when the map redrew it between find and click."""

    def clicked(_driver) -> bool:  # type: ignore[no-untyped-def]
        dash_duo.find_element(selector).click()
        return True

    _until(dash_duo, clicked, msg=f"could not click {selector}", timeout=10)


def _text(dash_duo, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(dash_duo.find_element(selector).get_attribute("textContent"))


def _start(dash_duo, demo, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    if path != "/":
        dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element(AREA_PATHS, timeout=15)


def test_compare_with_last_year_shows_the_change(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    revenue = {
        p: float(select_measure(ds, "revenue", level="district", period=p).sum())
        for p in ("2025-Q2", "2024-Q2")
    }
    change = (revenue["2025-Q2"] - revenue["2024-Q2"]) / abs(revenue["2024-Q2"])
    unit = measure_unit(ds, "revenue")
    _start(dash_duo, demo)

    dash_duo.select_dcc_dropdown("#period", value="Q2 2025")
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · Q2 2025", timeout=10)
    fills_plain = {p.get_attribute("fill") for p in dash_duo.find_elements(AREA_PATHS)}
    dash_duo.select_dcc_dropdown("#compare", value="Same period last year")
    dash_duo.wait_for_text_to_equal(
        "#legend-title", "Revenue · Q2 2025 · % change vs Q2 2024", timeout=10
    )
    expected = f"{format_value(revenue['2025-Q2'], unit=unit)} ({change:+.1%} vs Q2 2024)"
    dash_duo.wait_for_text_to_equal("#kpi-revenue", expected, timeout=10)
    assert _text(dash_duo, "#kpi-base-revenue") == (
        f"Q2 2024: {format_value(revenue['2024-Q2'], unit=unit)}"
    )
    # The map is coloured by change, on the diverging palette.
    _until(
        dash_duo,
        lambda _d: (
            {p.get_attribute("fill") for p in dash_duo.find_elements(AREA_PATHS)} != fills_plain
        ),
        msg="the map's colours did not change to the % change",
    )
    assert "%" in dash_duo.find_element("#legend").text
    # The table gets the base period's figure and the change; the chart a second line.
    _until(
        dash_duo,
        lambda _d: (
            [th.get_attribute("textContent") for th in dash_duo.find_elements("#top-areas th")[-2:]]
            == ["Q2 2024", "Change"]
        ),
        msg="the table has no base and change columns",
    )
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements("#chart .scatterlayer .trace")) == 2,
        msg="the chart does not draw the base period's line",
    )

    # A period whose base is before the cube's first month: said so, nothing fails.
    dash_duo.select_dcc_dropdown("#period", value="Q1 2023")
    dash_duo.wait_for_contains_text("#legend-note", "No comparison", timeout=10)
    dash_duo.wait_for_contains_text("#compare-note", "2022-Q1", timeout=10)
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · Q1 2023", timeout=10)
    assert len(dash_duo.find_elements("#top-areas th")) == 5
    assert dash_duo.get_logs() == []


def _query(dash_duo) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v[-1] for k, v in parse_qs(urlsplit(dash_duo.driver.current_url).query).items()}


def test_a_link_opens_its_view_and_the_link_follows_the_view(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    district = str(ds["area"].values[ds["level"].values == "district"][0])
    name = str(ds["name"].sel(area=district).item())
    hexes = [str(a) for a in ds["area"].values[ds["parent"].values == district]]
    path = (
        f"/?level=hex&parent={district}&area={hexes[0]}&measure=active&period=2025-Q2"
        "&compare=yoy&segment=nonsense&points=leads"
    )
    _start(dash_duo, demo, path)

    # The link's view: the district's hexagons, one selected, the measure, period and
    # comparison asked for; an unknown segment falls back to all segments.
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements(AREA_PATHS)) == len(hexes),
        msg="the link's parent and level were not restored",
    )
    dash_duo.wait_for_contains_text("#breadcrumb", name, timeout=10)
    hex_name = str(ds["name"].sel(area=hexes[0]).item())
    dash_duo.wait_for_text_to_equal("#selection-name", hex_name, timeout=10)
    dash_duo.wait_for_text_to_equal(
        "#legend-title", "Active customers · Q2 2025 · % change vs Q2 2024", timeout=10
    )
    assert "All segments" in dash_duo.find_element("#segment").text
    assert dash_duo.find_element("#point-layers input[value='leads']").is_selected()
    assert not dash_duo.find_element("#point-layers input[value='customers']").is_selected()

    # Changing a control changes the link, in place (no new history entry).
    history = dash_duo.driver.execute_script("return window.history.length")
    dash_duo.select_dcc_dropdown("#measure", value="Orders")
    _until(
        dash_duo,
        lambda _d: _query(dash_duo).get("measure") == "orders",
        msg=f"the link does not follow the measure: {dash_duo.driver.current_url}",
    )
    assert _query(dash_duo) == {
        "level": "hex",
        "parent": district,
        "area": hexes[0],
        "measure": "orders",
        "period": "2025-Q2",
        "compare": "yoy",
        "points": "leads",
    }
    assert dash_duo.driver.execute_script("return window.history.length") == history
    dash_duo.find_element("#go-up").click()
    _until(
        dash_duo,
        lambda _d: (
            _query(dash_duo).get("level") == "district" and _query(dash_duo).get("area") == district
        ),
        msg=f"the link does not follow going up: {dash_duo.driver.current_url}",
    )
    assert dash_duo.get_logs() == []


def test_a_link_with_nonsense_opens_the_default_view(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    districts = int((ds["level"].values == "district").sum())
    _start(dash_duo, demo, "/?level=county&area=nowhere&measure=%3Cb%3E&period=1999&hotspots=x")
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements(AREA_PATHS)) == districts,
        msg="a link with unknown values did not open the districts",
    )
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
    _until(
        dash_duo,
        lambda _d: _query(dash_duo) == {"level": "district"},
        msg=f"the link was not reset to the default view: {dash_duo.driver.current_url}",
    )
    assert dash_duo.get_logs() == []


def test_hotspot_layer_toggles_and_its_legend_names_the_method(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    with demo.engine.connect() as conn:
        result = find_hotspots(ds, conn, level="district", measure="revenue")
    colours = {HOTSPOT_COLOURS[c] for c in result["cluster"]}
    _start(dash_duo, demo)
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)

    dash_duo.find_element("#hotspots input[value='on']").click()
    dash_duo.wait_for_text_to_equal(
        "#legend-title", "Hot spots of Revenue · whole range", timeout=20
    )
    method = _text(dash_duo, "#legend-note")
    assert "Getis-Ord Gi*" in method and "alpha 0.05" in method
    assert "Benjamini-Hochberg false discovery rate" in method
    _until(  # the areas take the colours of their classes
        dash_duo,
        lambda _d: {p.get_attribute("fill") for p in dash_duo.find_elements(AREA_PATHS)} == colours,
        msg="the areas are not coloured by hot spot class",
    )
    counts = result["cluster"].value_counts()
    assert f"not significant ({counts['not significant']})" in dash_duo.find_element("#legend").text
    _until(
        dash_duo,
        lambda _d: _query(dash_duo).get("hotspots") == "on",
        msg="the link does not carry the hot spot layer",
    )

    dash_duo.select_dcc_dropdown("#hotspot-method", "local Moran's I")
    _until(
        dash_duo,
        lambda _d: _text(dash_duo, "#legend-note").startswith("local Moran's I · alpha 0.05"),
        msg="the legend does not name local Moran's I",
    )
    _until(
        dash_duo,
        lambda _d: _query(dash_duo).get("method") == "moran",
        msg="the link does not carry the hot spot method",
    )

    dash_duo.find_element("#hotspots input[value='on']").click()
    dash_duo.wait_for_text_to_equal("#legend-title", "Revenue · whole range", timeout=10)
    assert not dash_duo.find_elements("#legend-note")
    assert dash_duo.get_logs() == []


def test_clicking_the_selected_area_again_drills_into_it(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    revenue = select_measure(ds, "revenue", level="district")
    district = str(revenue.sort_values(ascending=False).index[0])  # large: easy to click
    code, name = (str(ds[c].sel(area=district).item()) for c in ("code", "name"))
    hexes = int((ds["parent"].values == district).sum())
    _start(dash_duo, demo, "/?points=none")
    _click(dash_duo, f"path.gcrm-area-{code}")
    dash_duo.wait_for_text_to_equal("#selection-name", name, timeout=10)
    _click(dash_duo, f"path.gcrm-area-{code}")
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements(AREA_PATHS)) == hexes,
        msg="a second click on the selected area did not drill into it",
    )
    dash_duo.wait_for_contains_text("#breadcrumb", name, timeout=10)

    # The breadcrumb's first step, the region, goes back up with the district selected.
    _click(dash_duo, "#breadcrumb button.crumb")
    _until(
        dash_duo,
        lambda _d: (
            len(dash_duo.find_elements(AREA_PATHS)) == int((ds["level"].values == "district").sum())
        ),
        msg="the breadcrumb's region did not go back to the districts",
    )
    dash_duo.wait_for_text_to_equal("#selection-name", name, timeout=10)
    assert dash_duo.get_logs() == []
