"""The Planning page (issue 13) in a real headless Chromium on the grid of cells (a real
PostGIS database of its own): design a plan, move a unit, undo, save a new version, compare
two plans, publish a plan and download its report; each step checked against what
gcrm.territories stores and computes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import text

from dashboard import create_app
from gcrm.core import Settings
from gcrm.store import create_db_engine
from gcrm.territories import (
    design_territories,
    diff_plans,
    list_plans,
    read_design_units,
    read_plan,
    read_publications,
    save_plan,
)
from tests.databases import new_database
from tests.territories import grid
from tests.territories.grid import UNITS

pytestmark = pytest.mark.browser
#: The grid database of the territory tests, and its design units (fixtures).
grid_url = grid.grid_url
units = grid.units

BALANCE = {"customers": 1.0, "revenue": 1.0}
ROWS = "#pl-table tbody tr"
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
    15 s), so no tile request is cut off by the server stopping."""
    dash_duo = request.getfixturevalue("dash_duo")
    yield
    with contextlib.suppress(WebDriverException):
        WebDriverWait(dash_duo.driver, 15, poll_frequency=0.2).until(
            lambda d: d.execute_script(
                "return Array.from(document.querySelectorAll('img.leaflet-tile'))"
                ".every(t => t.complete);"
            )
        )


def _save(url: str, units: gpd.GeoDataFrame, *, name: str, seed: int, k: int = 4) -> int:
    """A designed plan saved straight through gcrm (what the page then shows)."""
    result = design_territories(units, k=k, balance=BALANCE, seed=seed)
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            return save_plan(
                conn,
                name=name,
                level="cell",
                assignment=result.assignment,
                balance=BALANCE,
                created_by="test",
            )
    finally:
        engine.dispose()


def _plan(url: str, ref: int | str) -> Any:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return read_plan(conn, ref)
    finally:
        engine.dispose()


def _until(dash_duo, condition: Callable[[Any], Any], *, msg: str, timeout: float = 30) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


def _prop(dash_duo, cid: str, prop: str) -> Any:  # type: ignore[no-untyped-def]
    found = dash_duo.driver.execute_script(PROP, cid, prop)
    return None if found is None else json.loads(found)


def _open(dash_duo, url: str, tmp_path: Path, query: str = "") -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=url, data_dir=tmp_path / "data", auth="off")
    dash_duo.driver.set_window_size(1440, 1400)
    dash_duo.start_server(create_app(settings))
    dash_duo.driver.get(dash_duo.server_url + "/planning" + query)
    dash_duo.wait_for_element("#pl-map", timeout=20)


def _settled(dash_duo) -> bool:  # type: ignore[no-untyped-def]
    return dash_duo.redux_state_rqs == []


def _units_by_territory(dash_duo) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """The table's units per territory, as shown."""
    script = """return Array.from(document.querySelectorAll(arguments[0]), r =>
        [r.dataset.territory, r.querySelector('.pl-units-count').textContent]);"""
    rows = dash_duo.driver.execute_script(script, ROWS)
    return {int(t): int(n) for t, n in rows}


def _click(dash_duo, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click ``selector``, found again each try: the map and table are drawn anew after
    every change, so an element found before may be gone."""

    def clicked(_d: object) -> bool:
        dash_duo.find_element(selector).click()
        return True

    _until(dash_duo, clicked, msg=f"could not click {selector}")


def _wait_state(dash_duo, check: Callable[[dict[str, Any]], bool], msg: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    def done(_d: object) -> dict[str, Any] | None:
        state = _prop(dash_duo, "pl-state", "data") or {}
        return state if check(state) and _settled(dash_duo) else None

    return _until(
        dash_duo,
        done,
        msg=f"{msg}; message: {dash_duo.find_element('#pl-message').text!r}",
    )


def test_design_a_plan(dash_duo, grid_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _open(dash_duo, grid_url, tmp_path)
    dash_duo.wait_for_contains_text("#pl-summary", "Pick a plan", timeout=20)
    name = dash_duo.find_element("#pl-name")
    name.send_keys("Browser design", Keys.TAB)
    k = dash_duo.find_element("#pl-k")
    k.send_keys(Keys.CONTROL, "a")
    k.send_keys("3", Keys.TAB)
    dash_duo.find_element("#pl-design-button").click()
    state = _wait_state(dash_duo, lambda s: s.get("plan") is not None, "no plan was designed")
    with create_db_engine(grid_url).connect() as conn:
        plans = list_plans(conn)
    saved = plans[plans["id"] == state["plan"]].iloc[0]
    assert (saved["name"], saved["k"], saved["level"]) == ("Browser design", 3, "cell")
    assert saved["balance"] == BALANCE  # the two boxes checked by default
    # Shown: the table's three territories hold every unit, the map every unit.
    _until(dash_duo, lambda _d: len(_units_by_territory(dash_duo)) == 3, msg="no table")
    plan = _plan(grid_url, int(state["plan"]))
    counts = plan.assignment.value_counts().to_dict()
    assert _units_by_territory(dash_duo) == {int(t): int(n) for t, n in counts.items()}
    assert len(dash_duo.find_elements("path.pl-unit")) == UNITS
    status = dash_duo.find_element("#pl-design-status").text
    assert status.startswith("Designed and saved Browser design@1") and " s;" in status
    assert "Browser design@1" in dash_duo.find_element("#pl-summary").text
    assert f"plan={state['plan']}" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def test_move_undo_and_save_a_version(dash_duo, grid_url: str, units, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan_id = _save(grid_url, units, name="Browser edit", seed=0)
    plan = _plan(grid_url, plan_id)
    code = "C33"
    source = int(plan.assignment[code])
    target = next(t for t in range(1, 5) if t != source)
    before = {int(t): int(n) for t, n in plan.assignment.value_counts().items()}
    _open(dash_duo, grid_url, tmp_path, f"?plan={plan_id}")
    _until(dash_duo, lambda _d: _units_by_territory(dash_duo) == before, msg="plan not shown")
    # A click on a territory's row makes it the target; a click on a unit moves it there.
    _click(dash_duo, f"{ROWS}[data-territory='{target}']")
    _wait_state(dash_duo, lambda s: s.get("target") == target, "no target chosen")
    _click(dash_duo, f"path.pl-unit-{code}")
    _wait_state(dash_duo, lambda s: s.get("moves") == [[code, target]], "the unit did not move")
    moved = {**before, source: before[source] - 1, target: before[target] + 1}
    _until(dash_duo, lambda _d: _units_by_territory(dash_duo) == moved, msg="figures not updated")
    assert "1 move not saved" in dash_duo.find_element("#pl-summary").text
    assert f"move={code}%3A{target}" in dash_duo.driver.current_url
    # The link keeps the pending move: opened again, the same figures.
    dash_duo.driver.get(dash_duo.driver.current_url)
    _until(dash_duo, lambda _d: _units_by_territory(dash_duo) == moved, msg="reload lost the move")
    # Undo takes the move back.
    _click(dash_duo, "#pl-undo")
    _wait_state(dash_duo, lambda s: s.get("moves") == [], "undo did not take the move back")
    _until(dash_duo, lambda _d: _units_by_territory(dash_duo) == before, msg="undo not shown")
    # Moved again and saved: a new version, child of the plan, with the unit moved.
    _click(dash_duo, f"path.pl-unit-{code}")
    _wait_state(dash_duo, lambda s: s.get("moves") == [[code, target]], "no second move")
    _click(dash_duo, "#pl-save")
    state = _wait_state(
        dash_duo, lambda s: s.get("plan") not in (None, plan_id), "no new version selected"
    )
    saved = _plan(grid_url, int(state["plan"]))
    assert (saved.name, saved.version, saved.parent_id) == ("Browser edit", 2, plan_id)
    assert int(saved.assignment[code]) == target
    assert state["moves"] == []
    dash_duo.wait_for_contains_text("#pl-edit-status", "Saved Browser edit@2", timeout=10)
    _until(dash_duo, lambda _d: _units_by_territory(dash_duo) == moved, msg="new version shown")
    assert dash_duo.get_logs() == []


def test_compare_two_plans(dash_duo, grid_url: str, units, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = _save(grid_url, units, name="Browser compare", seed=0)
    b = _save(grid_url, units, name="Browser compare", seed=3)
    diff = diff_plans(_plan(grid_url, a), _plan(grid_url, b))
    expected = sorted(diff.moved["code"].astype(str))
    assert expected  # two seeds, two plans
    _open(dash_duo, grid_url, tmp_path, f"?plan={a}")
    _until(dash_duo, lambda _d: len(_units_by_territory(dash_duo)) == 4, msg="plan not shown")
    dash_duo.select_dcc_dropdown("#pl-compare", index=0)  # newest first: version 2
    _wait_state(dash_duo, lambda s: s.get("compare") == b, "no comparison chosen")

    def listed(_d: object) -> list[str]:
        script = "return Array.from(document.querySelectorAll('.pl-moved tbody tr'), r => r.dataset.code);"
        return sorted(dash_duo.driver.execute_script(script))

    _until(dash_duo, lambda d: listed(d) == expected, msg="moved units not listed")
    _until(
        dash_duo,
        lambda _d: len(dash_duo.find_elements("path.pl-diff-unit")) == len(expected),
        msg="moved units not drawn",
    )
    summary = dash_duo.find_element("#pl-diff-summary").text
    assert f"{len(expected)} of {UNITS} units" in summary
    assert f"compare={b}" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


@pytest.fixture()
def publish_url() -> Iterator[str]:
    """A grid database of this test's own: publishing writes areas and area codes."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                for statement in filter(str.strip, grid.GRID_SQL.split(";")):
                    conn.execute(text(statement))
        finally:
            engine.dispose()
        yield url


def test_publish_a_plan_and_download_its_report(dash_duo, publish_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(publish_url)
    try:
        with engine.connect() as conn:
            cells = read_design_units(conn, level="cell", criteria=list(BALANCE))
    finally:
        engine.dispose()
    plan_id = _save(publish_url, cells, name="Browser publish", seed=0, k=3)
    _open(dash_duo, publish_url, tmp_path)
    dash_duo.select_dcc_dropdown("#pl-plan", index=0)
    _wait_state(dash_duo, lambda s: s.get("plan") == plan_id, "no plan picked")
    dash_duo.wait_for_contains_text("#pl-published", "Not published", timeout=20)
    assert dash_duo.find_element("#pl-report-pdf").get_attribute("disabled")
    assert (
        dash_duo.find_element("#pl-report-hint").text == "Publish the plan to report by territory."
    )
    # Publish, confirmed in the browser's dialog that says what publishing does.
    _click(dash_duo, "#pl-publish-button")
    alert = WebDriverWait(dash_duo.driver, 10).until(expected_conditions.alert_is_present())
    assert alert.text.startswith("Publish plan Browser publish@1? Every customer and lead gets")
    assert "the cube is rebuilt" in alert.text
    alert.accept()
    dash_duo.wait_for_contains_text("#pl-publish-status", "Published Browser publish@1", timeout=90)
    status = dash_duo.find_element("#pl-publish-status").text
    assert "3 territories of 65 cell units" in status and "the cube was rebuilt" in status
    link = dash_duo.find_element("#pl-published-link")
    assert link.get_attribute("href") == dash_duo.server_url + "/?level=territory"
    dash_duo.wait_for_contains_text("#pl-published", "Published as level territory on", timeout=20)
    with create_db_engine(publish_url).connect() as conn:
        published = read_publications(conn)
    assert published[["plan_id", "level"]].values.tolist() == [[plan_id, "territory"]]
    # The report of the published plan: the button is enabled, and downloads a PDF.
    _until(
        dash_duo,
        lambda _d: not dash_duo.find_element("#pl-report-pdf").get_attribute("disabled"),
        msg="the PDF button stayed disabled",
    )
    _click(dash_duo, "#pl-report-pdf")
    folder = Path(dash_duo.download_path)

    def downloaded(_d: object) -> Path | bool:
        found = folder / "territories_territory.pdf"
        return found if found.exists() and found.stat().st_size > 0 else False

    pdf = _until(dash_duo, downloaded, msg="no PDF downloaded", timeout=90)
    assert pdf.read_bytes().startswith(b"%PDF")
    dash_duo.wait_for_contains_text("#pl-report-status", "Downloaded territories_territory.pdf")
    assert dash_duo.get_logs() == []
    # The note's link opens the main dashboard at the level territory (the rebuilt cube's).
    _click(dash_duo, "#pl-published-link")
    dash_duo.wait_for_contains_text("#level", "Territory", timeout=30)
