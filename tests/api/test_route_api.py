"""POST /api/route over a committed street grid: ordered stops, totals, the path, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from gcrm.store import copy_frame
from tests.routing.test_route import grid_frames, random_stops


@pytest.fixture
def committed_grid(engine: Engine) -> Iterator[None]:
    """The test grid's roads and branch, committed (the API has its own connections)."""
    roads, branches = grid_frames()
    branches["code"] = "RT1"
    with engine.begin() as conn:
        copy_frame(conn, "gcrm.roads", roads)
        copy_frame(conn, "gcrm.branches", branches)
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.roads WHERE name = 'street' AND ref LIKE 'w%'"))
            conn.execute(text("DELETE FROM gcrm.branches WHERE code = 'RT1'"))


def test_route_orders_stops_and_draws_the_path(client: FlaskClient, committed_grid: None) -> None:
    stops = random_stops(15, seed=4)
    body = {
        "start": "RT1",
        "stops": [{"id": row.name, "lon": row.lon, "lat": row.lat} for row in stops.itertuples()],
        "start_time": "09:00",
        "day_hours": 6,
    }
    body["stops"][0]["window"] = ["10:00", "11:00"]
    response = client.post("/api/route", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert sorted(s["id"] for s in answer["stops"]) == sorted(stops["name"])
    assert [s["stop"] for s in answer["stops"]] == list(range(1, 16))
    arrivals = [s["arrival"] for s in answer["stops"]]
    assert arrivals == sorted(arrivals) and arrivals[0] >= "09:00"
    first = next(s for s in answer["stops"] if s["id"] == "S000")
    assert first["departure"] >= "10:00"
    assert answer["totals"]["stops"] == 15 and answer["unserved"] == []
    kinds = [f["properties"]["kind"] for f in answer["path"]["features"]]
    assert kinds.count("leg") == 16 and kinds.count("stop") == 15


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"start": "RT1", "stops": []}, "stops: List should have at least 1 item"),
        ({"start": {"lon": 500, "lat": 60}, "stops": [{"lon": 25, "lat": 60}]}, "start."),
        (
            {"start": "RT1", "stops": [{"lon": 25, "lat": 60}], "start_time": "9h"},
            "start_time='9h'",
        ),
        ({"start": "RT1", "stops": [{"lon": 25}]}, "stops.0.lat: Field required"),
    ],
)
def test_route_errors_in_the_api_shape(
    client: FlaskClient, committed_grid: None, body: dict[str, object], says: str
) -> None:
    response = client.post("/api/route", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert set(error) == {"error", "status"} and says in error["error"]
