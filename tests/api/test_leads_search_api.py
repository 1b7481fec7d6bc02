"""The lead searches of issue 12 in the API: within an area or a POSTed polygon, the
drive-time option of /api/leads/near, their filters and errors, under the caller's scope."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from gcrm.api import models as m
from tests.api.conftest import People

#: Around both districts of the tiny region (lon 24.93-24.96, lat 60.16-60.17).
AROUND = {
    "type": "Polygon",
    "coordinates": [
        [[24.90, 60.14], [25.00, 60.14], [25.00, 60.19], [24.90, 60.19], [24.90, 60.14]]
    ],
}


def _ids(body: dict[str, Any]) -> list[str]:
    m.LeadCollection.model_validate(body)
    return [f["properties"]["external_id"] for f in body["features"]]


def test_within_an_area_and_a_polygon_keep_to_the_scope(
    secure: FlaskClient, people: People
) -> None:
    mine = secure.get("/api/leads/within?area=district:D01", headers=people["anna"])
    assert mine.status_code == 200, mine.get_data(as_text=True)
    assert _ids(mine.get_json()) == ["L1"] and mine.get_json()["origin"] is None
    props = mine.get_json()["features"][0]["properties"]
    assert {"score", "percentile", "reasons", "distance_m"} <= set(props)
    for name, expected in (("anna", ["L1"]), ("bert", ["L2"]), ("root", ["L1", "L2"])):
        drawn = secure.post("/api/leads/within", json=AROUND, headers=people[name])
        assert drawn.status_code == 200, drawn.get_data(as_text=True)
        assert _ids(drawn.get_json()) == expected, name
    feature = {"type": "Feature", "properties": {}, "geometry": AROUND}
    narrowed = secure.post(
        "/api/leads/within?area=district:D02&customers=include", json=feature,
        headers=people["root"],
    )  # fmt: skip
    assert _ids(narrowed.get_json()) == ["L2"]


def test_within_errors_name_the_fix(secure: FlaskClient, people: People) -> None:
    anna = people["anna"]
    cases = [
        (secure.get("/api/leads/within", headers=anna), "area is missing"),
        (secure.post("/api/leads/within", headers=anna), "the body is empty or not JSON"),
        (
            secure.post(
                "/api/leads/within", json={"type": "Point", "coordinates": [1, 2]}, headers=anna
            ),  # fmt: skip
            "is not a GeoJSON Polygon",
        ),
        (
            secure.post(
                "/api/leads/within",
                json={"type": "Polygon", "coordinates": [[[1, 2]]]},
                headers=anna,
            ),  # fmt: skip
            "at least 4 positions",
        ),
        (
            secure.post(
                "/api/leads/within",
                json={"type": "MultiPolygon", "coordinates": [{}, [False], {"x": 1}]},
                headers=anna,
            ),
            "are not rings",
        ),
        (
            secure.get("/api/leads/within?area=district:D01&customers=all", headers=anna),
            "customers='all'",
        ),
        (
            secure.get("/api/leads/within?area=district:D01&min_score=2", headers=anna),
            "min_score=2",
        ),
        (
            secure.get("/api/leads/within?area=district:D01&sort=distance", headers=anna),
            "sort='distance' is not an order",
        ),
    ]
    # A bow tie is repaired into its two triangles (a collection would fail in PostGIS).
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    assert secure.post("/api/leads/within", json=bow_tie, headers=anna).status_code == 200
    for response, words in cases:
        assert response.status_code == 400, response.get_data(as_text=True)
        body = response.get_json()
        assert set(body) == {"error", "status"} and words in body["error"], body


def test_near_by_minutes_needs_roads_and_not_a_radius(secure: FlaskClient, people: People) -> None:
    base = "/api/leads/near?lon=24.94&lat=60.165"
    both = secure.get(f"{base}&minutes=10&radius_m=500", headers=people["anna"])
    assert both.status_code == 400 and "mutually exclusive" in both.get_json()["error"]
    # The tiny region has no roads: the error says how to get them, or to search by radius.
    roads = secure.get(f"{base}&minutes=10", headers=people["anna"])
    assert roads.status_code == 400 and "gcrm import roads" in roads.get_json()["error"]
    near = secure.get(f"{base}&radius_m=5000&customers=include", headers=people["anna"])
    assert near.status_code == 200 and _ids(near.get_json()) == ["L1"]
