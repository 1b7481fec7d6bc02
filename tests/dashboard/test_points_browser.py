"""The customer points in a real headless Chromium on the demo region: clusters counted on the
server for the map's view, single points once the view holds few, a name only for the point
clicked, and every points answer small."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import flask
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import text

from dashboard import create_app
from dashboard.panels import segment_options
from gcrm.cube import load_cube

pytestmark = pytest.mark.browser

#: Points shown one by one up to this many in view: small, so the demo's 600 customers
#: start as clusters.
MAX_POINTS = 100
#: What one answer of the points callback may weigh (issue 11: <= 1 MB per view).
PAYLOAD_LIMIT = 1_000_000
CLUSTERS = ".gcrm-cluster-customers"
#: Single customer points (circle markers), coloured as in dashboard/assets/gcrm.js.
SINGLES = "path.leaflet-interactive[fill='#6a3d9a']"
CLUSTER_TOTAL = """
    var n = 0;
    document.querySelectorAll(arguments[0] + ' span[data-count]').forEach(
        function (s) { n += parseInt(s.getAttribute('data-count'), 10); });
    return n;
"""


def _until(dash_duo, condition, *, msg: str, timeout: float = 20) -> Any:  # type: ignore[no-untyped-def]
    wait = WebDriverWait(
        dash_duo.driver, timeout, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition, message=msg)


@dataclass(frozen=True)
class Answer:
    """One answer of the points callback: the inputs it was asked with, the body sent."""

    inputs: dict[str, Any]
    body: bytes

    def customers(self) -> dict[str, Any]:
        return dict(json.loads(self.body)["response"]["customers"]["data"])


def _record_points_answers(app) -> list[Answer]:  # type: ignore[no-untyped-def]
    """Every answer of the points callback, as the browser received it."""
    answers: list[Answer] = []

    @app.server.after_request
    def _keep(response: flask.Response) -> flask.Response:
        if flask.request.path.endswith("_dash-update-component"):
            asked = flask.request.get_json(silent=True) or {}
            if "customers.data" in str(asked.get("output", "")):
                inputs = {f"{i['id']}.{i['property']}": i.get("value") for i in asked["inputs"]}
                answers.append(Answer(inputs, response.get_data()))
        return response

    return answers


def _customers_in(demo, bounds: list[list[float]], segment: str) -> int:  # type: ignore[no-untyped-def]
    (south, west), (north, east) = bounds
    with demo.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM gcrm.customers "
                    "WHERE geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326) AND segment = :seg"
                ),
                {"w": west, "s": south, "e": east, "n": north, "seg": segment},
            ).scalar_one()
        )


def _open_dashboard(dash_duo, demo) -> list[Answer]:  # type: ignore[no-untyped-def]
    """The demo's dashboard with a small ``MAX_POINTS``; the points answers it will send."""
    # Read the cube before the server starts, as the other browser tests do: zarr's I/O
    # threads must be older than dash's server, which stops every thread started after it.
    load_cube(demo.cube_path)
    app = create_app(demo.settings.model_copy(update={"auth": "off"}), max_points=MAX_POINTS)
    answers = _record_points_answers(app)
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    return answers


def test_clusters_then_points_then_one_name(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    with demo.engine.connect() as conn:
        placed = conn.execute(
            text("SELECT count(*) FROM gcrm.customers WHERE geom IS NOT NULL")
        ).scalar_one()
        names = set(conn.execute(text("SELECT name FROM gcrm.customers")).scalars())
    assert placed > MAX_POINTS
    answers = _open_dashboard(dash_duo, demo)

    # The whole region: clusters, counted on the server, no single point.
    _until(dash_duo, lambda _d: dash_duo.find_elements(CLUSTERS), msg="no customer clusters")
    total = dash_duo.driver.execute_script(CLUSTER_TOTAL, CLUSTERS)
    assert MAX_POINTS < total <= placed
    assert not dash_duo.find_elements(SINGLES)
    # Business customers have short names ("Fig") that the page's own words may hold:
    # a name counts only when it was not on the page before any point was drawn one by one.
    names = {n for n in names if n not in dash_duo.driver.page_source}

    # Zoom in by clicking clusters until the view holds few enough to show one by one.
    for _ in range(6):
        if dash_duo.find_elements(SINGLES):
            break
        biggest = max(
            dash_duo.find_elements(f"{CLUSTERS} span[data-count]"),
            key=lambda e: int(e.get_attribute("data-count")),
        )
        before = len(answers)
        biggest.click()
        _until(dash_duo, lambda _d, n=before: len(answers) > n, msg="no points after zoom")
        _until(
            dash_duo,
            lambda _d: dash_duo.find_elements(SINGLES) or dash_duo.find_elements(CLUSTERS),
            msg="nothing drawn after zooming in",
        )
    _until(dash_duo, lambda _d: dash_duo.find_elements(SINGLES), msg="no single points")
    assert not dash_duo.find_elements(CLUSTERS)

    # No name has reached the page; clicking a point asks for that one.
    page = dash_duo.driver.page_source
    assert not [n for n in names if n in page]
    dash_duo.driver.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));",
        dash_duo.find_elements(SINGLES)[0],
    )
    _until(dash_duo, lambda _d: dash_duo.find_elements("#point-name"), msg="no name shown")
    assert dash_duo.find_element("#point-name").text in names

    # Every answer of the points callback was small and held no name or contact.
    assert answers
    for answer in answers:
        assert len(answer.body) <= PAYLOAD_LIMIT, f"{answer.inputs}: {len(answer.body)} bytes"
        for feature in answer.customers()["features"]:
            assert set(feature["properties"]) <= {"count", "id", "segment", "geocode_precision"}
    assert dash_duo.get_logs() == []


def test_points_follow_the_segment_filter(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    """Choosing a segment redraws the clusters with that segment's customers only."""
    option = segment_options(load_cube(demo.cube_path))[1]  # the first segment
    answers = _open_dashboard(dash_duo, demo)
    _until(dash_duo, lambda _d: dash_duo.find_elements(CLUSTERS), msg="no customer clusters")
    segment, label = option["value"], option["label"]
    dash_duo.select_dcc_dropdown("#segment", value=label)

    def _answered(_d: object) -> Answer | None:
        asked = [a for a in answers if a.inputs.get("segment.value") == segment]
        return asked[-1] if asked else None

    answer = _until(dash_duo, _answered, msg=f"no points asked for segment {segment!r}")
    features = answer.customers()["features"]
    sent = sum(f["properties"].get("count", 1) for f in features)
    expected = _customers_in(demo, answer.inputs["map.bounds"], segment)
    assert 0 < sent == expected
    assert all(f["properties"].get("segment", segment) == segment for f in features)
    assert dash_duo.get_logs() == []
