"""The Prospecting page (issue 12) in a real headless Chromium on the demo region: each
step a person takes, checked against what gcrm.leads answers for the same search."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait
from shapely.geometry import shape
from sqlalchemy import text

from dashboard import create_app
from dashboard.prospecting.model import MAX_RESULTS, PAGE_SIZE
from gcrm.cube import load_cube
from gcrm.leads import (
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    resolve_origin,
)
from gcrm.routing import read_branch_points
from gcrm.scoring import latest_run

pytestmark = pytest.mark.browser

ADDRESS = "Aleksanterinkatu 11, 00100 Helsinki"
ROWS = "#pr-table tbody tr"
LEADS = "path.pr-lead"
#: A component's prop as the page holds it (Dash's store: the layout at the id's path).
PROP = """
    var state = window.store.getState();
    var path = state.paths.strs[arguments[0]];
    if (!path) { return null; }
    var node = state.layout;
    for (var i = 0; i < path.length; i++) { node = node[path[i]]; }
    var value = node.props[arguments[1]];
    return value === undefined ? null : JSON.stringify(value);
"""


@pytest.fixture(autouse=True)
def _tiles_loaded(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test, before its server stops: wait until the map's tiles are in (at most
    15 s). A search zooms the map to its leads, and a tile request still being answered
    when dash[testing] stops the server ends in an error of the test."""
    dash_duo = request.getfixturevalue("dash_duo")
    yield
    with contextlib.suppress(WebDriverException):
        WebDriverWait(dash_duo.driver, 15, poll_frequency=0.2).until(
            lambda d: d.execute_script(
                "return Array.from(document.querySelectorAll('img.leaflet-tile'))"
                ".every(t => t.complete);"
            )
        )


def _until(dash_duo, condition: Callable[[Any], Any], *, msg: str, timeout: float = 30) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


def _prop(dash_duo, cid: str, prop: str) -> Any:  # type: ignore[no-untyped-def]
    found = dash_duo.driver.execute_script(PROP, cid, prop)
    return None if found is None else json.loads(found)


def _open(dash_duo, demo, query: str = "") -> None:  # type: ignore[no-untyped-def]
    # Read the cube before the server starts (zarr's I/O thread must be older than it).
    load_cube(demo.cube_path)
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1400)
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/prospecting" + query)
    dash_duo.wait_for_element("#pr-map", timeout=20)


def _table_ids(dash_duo) -> list[str]:  # type: ignore[no-untyped-def]
    """The leads' ids of the table's page on screen, top to bottom."""
    script = "return Array.from(document.querySelectorAll(arguments[0]), r => r.dataset.lead);"
    return [str(i) for i in dash_duo.driver.execute_script(script, ROWS)]


def _rows(dash_duo) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every row of the search's result (all pages), in the search's order."""
    return list((_prop(dash_duo, "pr-rows", "data") or {}).get("rows", []))


def _result_ids(dash_duo) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(r["id"]) for r in _rows(dash_duo)]


def _wait_for_results(dash_duo, expected: int) -> None:  # type: ignore[no-untyped-def]
    _until(
        dash_duo,
        lambda _d: (
            len(_result_ids(dash_duo)) == expected
            and len(_table_ids(dash_duo)) == min(expected, PAGE_SIZE)
            and len(dash_duo.find_elements(LEADS)) == expected
        ),
        msg=f"expected {expected} leads in the table and on the map; "
        f"message: {dash_duo.find_element('#pr-message').text!r}",
    )
    # The table's first page shows the first rows, in the search's order.
    assert _table_ids(dash_duo) == _result_ids(dash_duo)[:PAGE_SIZE]


def _click(dash_duo, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click ``selector``, found again if the table was drawn anew in between."""

    def clicked(_d: object) -> bool:
        dash_duo.find_element(selector).click()
        return True

    _until(dash_duo, clicked, msg=f"could not click {selector}")


def _search(dash_duo) -> None:  # type: ignore[no-untyped-def]
    before = _prop(dash_duo, "pr-search-button", "n_clicks") or 0
    dash_duo.find_element("#pr-search-button").click()
    _until(
        dash_duo,
        lambda _d: (
            (_prop(dash_duo, "pr-search-button", "n_clicks") or 0) > before
            and dash_duo.redux_state_rqs == []
        ),
        msg="the search did not answer",
    )


def _type(dash_duo, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    box = dash_duo.find_element(selector)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(value, Keys.ENTER)


def test_radius_search_from_an_address(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        origin = resolve_origin(conn, address=ADDRESS)
        expected = find_nearby_leads(conn, lon=origin.lon, lat=origin.lat, radius_m=250, limit=501)
    assert 0 < len(expected) < 500
    _open(dash_duo, demo)
    _type(dash_duo, "#pr-origin-text", ADDRESS)
    _type(dash_duo, "#pr-radius", "250")
    _search(dash_duo)
    _wait_for_results(dash_duo, len(expected))
    assert _result_ids(dash_duo) == expected["external_id"].tolist()  # nearest first
    rows = _rows(dash_duo)
    assert [r["distance_m"] for r in rows] == sorted(r["distance_m"] for r in rows)
    assert max(r["distance_m"] for r in rows) <= 250
    # A heading sorts by its column; a second click sorts the other way.
    for arrow in ("▲", "▼"):
        heading = next(
            b for b in dash_duo.find_elements("button.th-sort") if "DISTANCE" in b.text.upper()
        )
        heading.click()
        dash_duo.wait_for_contains_text("#pr-table thead", arrow, timeout=10)
    farthest = sorted(rows, key=lambda r: r["distance_m"], reverse=True)
    _until(
        dash_duo,
        lambda _d: _table_ids(dash_duo)[:3] == [r["id"] for r in farthest[:3]],
        msg="the table is not sorted by distance, farthest first",
    )
    # The origin and the radius are drawn; the summary says how many and from where.
    assert dash_duo.find_elements("path.pr-origin-marker")
    assert dash_duo.find_elements("path.pr-reach-shape")
    summary = dash_duo.find_element("#pr-summary").text
    assert summary.startswith(f"{len(expected)} leads from Aleksanterinkatu 11")
    # The demo run scored the leads: the note gives the backtest beside its baselines.
    with demo.engine.connect() as conn:
        run = latest_run(conn, "lead", with_backtest=True)
    assert run is not None and run["backtest"] is not None
    note = dash_duo.find_element("#pr-score-note").text
    assert f"AUC {run['backtest']['auc']:.2f}" in note and "distance" in note
    # The link carries the search: opened again, it runs it.
    assert "mode=radius" in dash_duo.driver.current_url
    assert "radius=250" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []  # no CSP violation, no failed request


def test_drive_time_search_from_a_branch_link_with_a_category(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        branch = read_branch_points(conn).iloc[0]
        origin = resolve_origin(conn, lon=float(branch["lon"]), lat=float(branch["lat"]))
        everything = find_leads_by_drive_time(
            conn, origin, minutes=1.5, limit=501, customers="include"
        )
        expected = find_leads_by_drive_time(
            conn, origin, minutes=1.5, limit=501, categories=["restaurant"], customers="include"
        )
    assert 0 < len(expected) < len(everything)
    query = (
        f"?origin=branch&at={branch['code']}&mode=drive&minutes=1.5&category=restaurant"
        "&customers=include"
    )
    _open(dash_duo, demo, query)
    _wait_for_results(dash_duo, len(expected))
    assert _result_ids(dash_duo) == expected["external_id"].tolist()  # quickest first
    rows = _rows(dash_duo)
    assert {r["category"] for r in rows} == {"restaurant"}
    assert max(r["drive_min"] for r in rows) <= 1.5
    assert _prop(dash_duo, "pr-customers", "value") == "include"  # the link's filter
    assert "DRIVE (MIN)" in dash_duo.find_element("#pr-table thead").text.upper()
    # The catchment of the origin is drawn, and the summary says which way it was drawn.
    assert dash_duo.find_elements("path.pr-reach-shape")
    assert "min by road" in dash_duo.find_element("#pr-summary").text
    assert dash_duo.get_logs() == []


def test_zoning_filter_from_the_sidebar(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        origin = resolve_origin(conn, address=ADDRESS)
        expected = find_nearby_leads(
            conn,
            lon=origin.lon,
            lat=origin.lat,
            radius_m=400,
            limit=501,
            zoning_classes=["residential"],
        )
    assert len(expected) > 0
    _open(
        dash_duo,
        demo,
        "?origin=address&at=" + ADDRESS.replace(" ", "+") + "&mode=radius&radius=400",
    )
    _until(dash_duo, lambda _d: len(_result_ids(dash_duo)) > len(expected), msg="no first search")
    # Pick "residential" in the zoning list, as a person does, then search again.
    dash_duo.find_element("#pr-zoning").click()
    option = _until(
        dash_duo,
        lambda d: next(
            (e for e in dash_duo.find_elements("[role=option]") if e.text == "residential"), None
        ),
        msg="no residential option",
    )
    option.click()
    dash_duo.find_element("#pr-summary").click()  # close the list
    _search(dash_duo)
    _wait_for_results(dash_duo, len(expected))
    assert _result_ids(dash_duo) == expected["external_id"].tolist()
    assert {r["zoning_class"] for r in _rows(dash_duo)} == {"residential"}


def test_polygon_drawn_on_the_map(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    _open(dash_duo, demo, "?origin=address&mode=polygon")
    dash_duo.find_element("a.leaflet-draw-draw-polygon").click()
    rect = dash_duo.find_element("#pr-map").rect
    x0, y0 = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
    # A square of 240 px around the map's centre, clicked corner by corner, closed on the
    # first corner (Leaflet.draw's way to finish a polygon).
    corners = [(-120, -120), (120, -120), (120, 120), (-120, 120), (-120, -120)]
    for dx, dy in corners:
        ActionChains(dash_duo.driver).move_to_location(int(x0 + dx), int(y0 + dy)).click().perform()
    drawn = _until(
        dash_duo,
        lambda _d: (_prop(dash_duo, "pr-draw", "geojson") or {}).get("features"),
        msg="the drawn polygon did not reach the page",
    )
    polygon = shape(drawn[0]["geometry"])
    with demo.engine.connect() as conn:
        expected = find_leads_within(conn, polygon=polygon, limit=501)
    # The demo's centre is dense: more leads than the page lists, so it says it capped.
    assert len(expected) > MAX_RESULTS
    _search(dash_duo)
    _wait_for_results(dash_duo, MAX_RESULTS)
    assert _result_ids(dash_duo) == expected["external_id"].tolist()[:MAX_RESULTS]
    # The table shows a page at a time; Next shows the next rows.
    assert dash_duo.find_element("#pr-page-info").text == f"1-{PAGE_SIZE} of {MAX_RESULTS}"
    dash_duo.find_element("#pr-page-next").click()
    dash_duo.wait_for_text_to_equal(
        "#pr-page-info", f"{PAGE_SIZE + 1}-{2 * PAGE_SIZE} of {MAX_RESULTS}", timeout=15
    )
    assert _table_ids(dash_duo) == _result_ids(dash_duo)[PAGE_SIZE : 2 * PAGE_SIZE]
    summary = dash_duo.find_element("#pr-summary").text
    assert "Inside the polygon drawn" in summary
    assert f"More than {MAX_RESULTS} found: showing the first {MAX_RESULTS}" in summary
    assert dash_duo.get_logs() == []  # leaflet-draw's icons and styles came from gcrm


def test_area_search_from_a_link(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        code = conn.execute(
            text(
                "SELECT area_codes->>'district' FROM gcrm.leads "
                "WHERE area_codes ? 'district' GROUP BY 1 ORDER BY count(*) LIMIT 1"
            )
        ).scalar_one()
        expected = find_leads_within(conn, area=f"district:{code}", limit=501)
    assert 0 < len(expected) < 500
    _open(dash_duo, demo, f"?origin=address&mode=area&area=district:{code}")
    _wait_for_results(dash_duo, len(expected))
    assert sorted(_result_ids(dash_duo)) == sorted(expected["external_id"])
    assert dash_duo.find_elements("path.pr-reach-shape")  # the district's outline


def _download(dash_duo, button: str, suffix: str) -> Path:  # type: ignore[no-untyped-def]
    folder = Path(dash_duo.download_path)
    before = {f.name for f in folder.glob(f"*{suffix}")}
    dash_duo.find_element(f"#{button}").click()

    def done(_driver: object) -> Path | bool:
        new = [f for f in folder.glob(f"*{suffix}") if f.name not in before]
        return new[0] if new and new[0].stat().st_size > 0 else False

    found = _until(dash_duo, done, msg=f"{button}: no {suffix} file")
    assert isinstance(found, Path)
    return found


def test_select_plan_route_and_export(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    query = "?origin=address&at=" + ADDRESS.replace(" ", "+") + "&mode=radius&radius=300"
    _open(dash_duo, demo, query)
    _until(dash_duo, lambda _d: len(_table_ids(dash_duo)) >= 6, msg="no leads found")
    ids = _table_ids(dash_duo)
    all_ids = _result_ids(dash_duo)
    # Select the 2nd, 4th and 6th leads: a click on a row.
    chosen = {ids[1], ids[3], ids[5]}
    for lead in (ids[1], ids[3], ids[5]):
        _click(dash_duo, f"{ROWS}[data-lead='{lead}']")
        _until(
            dash_duo,
            lambda _d, lead=lead: lead in (_prop(dash_duo, "pr-selected", "data") or []),
            msg=f"{lead} not selected",
        )
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements("path.pr-lead-selected")) == 3,
        msg="the selected leads are not marked on the map",
    )
    dash_duo.find_element("#pr-plan-button").click()
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements("#pr-route-stops li")) == 3,
        msg=f"no route: {dash_duo.find_element('#pr-route-summary').text!r}",
    )
    stops = [li.get_attribute("data-lead") for li in dash_duo.find_elements("#pr-route-stops li")]
    assert set(stops) == chosen
    arrivals = [e.text for e in dash_duo.find_elements("#pr-route-stops .route-arrival")]
    assert arrivals == sorted(arrivals) and arrivals[0] >= "08:00"
    assert dash_duo.find_elements("path.pr-route-path")

    leads = pd.read_csv(_download(dash_duo, "pr-export-csv", ".csv"))
    assert leads["external_id"].tolist() == all_ids  # every lead found, not only a page
    gpx = _download(dash_duo, "pr-export-gpx", ".gpx").read_text(encoding="utf-8")
    assert gpx.count("<wpt") == 4  # the start, then the 3 stops
    assert dash_duo.get_logs() == []
