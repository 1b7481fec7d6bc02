"""The JSON API through Flask's test client, on a real PostGIS and a saved cube."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gcrm.api import cube_slice
from gcrm.core import DatabaseError, GcrmError, NotFoundError, Settings, ValidationError
from gcrm.web import STATUS_BY_ERROR, status_of
from tests.api.conftest import make_client, tiny_cube


def test_health(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "cube": "ok"}


def test_cube_slice_rows(client: FlaskClient) -> None:
    response = client.get(
        "/api/cube/slice?level=district&measure=revenue&period=2025-Q1&segment=consumer"
    )
    assert response.status_code == 200
    # revenue is the 5th measure: base x 5, summed over 3 months, one segment.
    assert response.get_json() == [
        {"area": "district:d1", "code": "d1", "name": "Kamppi", "value": 15.0},
        {"area": "district:d2", "code": "d2", "name": "Kluuvi", "value": 30.0},
    ]


def test_cube_slice_derived_measure_is_recomputed(client: FlaskClient) -> None:
    rows = client.get("/api/cube/slice?level=district&measure=penetration").get_json()
    # active (base x 2) at the last month over both segments, per 10 / 20 households.
    assert [r["value"] for r in rows] == [pytest.approx(0.4), pytest.approx(0.4)]


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("level=district", 400, "measure is missing"),
        ("level=district&measure=profit", 400, "measure 'profit' unknown"),
        ("level=county&measure=revenue", 400, "level 'county' unknown"),
        ("level=district&measure=revenue&period=2031", 400, "period '2031'"),
        ("level=district&measure=revenue&parent=district:zz", 404, "district:zz"),
    ],
)
def test_cube_slice_errors(client: FlaskClient, query: str, status: int, fragment: str) -> None:
    response = client.get(f"/api/cube/slice?{query}")
    assert response.status_code == status
    assert fragment in response.get_json()["error"]


def test_leads_near_sorted_by_distance(client: FlaskClient, committed_leads: list[str]) -> None:
    response = client.get("/api/leads/near?lon=24.9395&lat=60.17&radius_m=2000&limit=10")
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    names = [f["properties"]["name"] for f in body["features"]]
    assert names == ["Cafe Near", "Bar Middle", "Cafe Far"]
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances) and distances[0] < 50
    assert body["features"][0]["geometry"]["type"] == "Point"
    assert body["origin"]["lon"] == pytest.approx(24.9395)


def test_leads_near_filters_and_limits(client: FlaskClient, committed_leads: list[str]) -> None:
    body = client.get(
        "/api/leads/near?lon=24.9395&lat=60.17&radius_m=2000&category=cafe&limit=1"
    ).get_json()
    assert [f["properties"]["name"] for f in body["features"]] == ["Cafe Near"]
    body = client.get("/api/leads/near?lon=24.9395&lat=60.17&radius_m=100").get_json()
    assert [f["properties"]["name"] for f in body["features"]] == ["Cafe Near"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("lon=24.94", "pass both lon and lat"),
        ("lon=24.94&lat=60.17&address=Mannerheimintie%2010", "exactly one of"),
        ("lon=east&lat=60.17", "lon='east' is not a number"),
        ("lon=24.94&lat=60.17&radius_m=-5", "radius_m=-5.0 is out of range"),
        ("lon=24.94&lat=60.17&limit=0", "limit=0 is out of range"),
    ],
)
def test_leads_near_validation(client: FlaskClient, query: str, fragment: str) -> None:
    response = client.get(f"/api/leads/near?{query}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_leads_near_unknown_customer_is_404(client: FlaskClient) -> None:
    response = client.get("/api/leads/near?customer_id=nobody")
    assert response.status_code == 404
    assert "customer_id='nobody'" in response.get_json()["error"]


def test_database_down_is_503(tmp_path) -> None:  # type: ignore[no-untyped-def]
    down = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none", data_dir=tmp_path)
    api = make_client(down)
    health = api.get("/api/health")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    response = api.get("/api/leads/near?lon=24.94&lat=60.17")
    assert response.status_code == 503
    assert "cannot connect to the database" in response.get_json()["error"]


def test_one_table_from_error_to_status() -> None:
    assert STATUS_BY_ERROR[ValidationError] == 400
    assert status_of(NotFoundError("x")) == 404
    assert status_of(DatabaseError("x")) == 503
    assert status_of(GcrmError("x")) == 500
    assert status_of(KeyError("x")) == 500


def test_cube_slice_function_turns_nan_into_none() -> None:

    ds = tiny_cube()
    ds["households"][0] = 0.0
    rows = cube_slice(ds, level="district", measure="penetration")
    assert rows[0]["value"] is None and rows[1]["value"] == pytest.approx(0.4)
