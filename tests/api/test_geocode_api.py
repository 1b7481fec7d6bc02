"""GET/POST /api/geocode and GET /api/reverse on a committed address reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from gcrm.api import MAX_BATCH, address_frame
from gcrm.core import ValidationError
from tests.api.conftest import make_client
from tests.ingest.committed import reference_settings

KEYS = {"lon", "lat", "precision", "score", "source", "matched_address"}


@pytest.fixture(scope="module")
def geo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    with reference_settings(tmp_path_factory.mktemp("api-ref")) as settings:
        yield make_client(settings)


def test_geocode_one_address(geo_client: FlaskClient) -> None:
    response = geo_client.get("/api/geocode?address=Mannerheimintie%2010,%2000100%20Helsinki")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == KEYS
    assert (body["lon"], body["lat"]) == pytest.approx((24.9402, 60.1692))
    assert body["precision"] == "rooftop" and body["score"] == 1.0
    assert body["source"] == "reference:exact"
    assert body["matched_address"] == "Mannerheimintie 10, 00100 Helsinki"


def test_geocode_one_unplaced_is_200_with_nulls(geo_client: FlaskClient) -> None:
    body = geo_client.get("/api/geocode?address=Nowhere%20street%201").get_json()
    assert body == {
        "lon": None,
        "lat": None,
        "precision": "none",
        "score": 0.0,
        "source": "none",
        "matched_address": None,
    }


def test_geocode_one_needs_an_address(geo_client: FlaskClient) -> None:
    response = geo_client.get("/api/geocode?address=%20")
    assert response.status_code == 400
    assert "address is missing" in response.get_json()["error"]


def test_geocode_batch_of_strings_keeps_order(geo_client: FlaskClient) -> None:
    addresses = ["Bulevardi 2, 00120 Helsinki", "", "00170 Helsinki", "Fabianinkatu 5"]
    response = geo_client.post("/api/geocode", json={"addresses": addresses})
    assert response.status_code == 200
    body = response.get_json()
    assert [r["precision"] for r in body] == ["rooftop", "none", "postcode", "rooftop"]
    assert body[3]["matched_address"] == "Fabianinkatu 5, 00130 Helsinki"


def test_geocode_batch_of_split_objects(geo_client: FlaskClient) -> None:
    response = geo_client.post(
        "/api/geocode",
        json=[
            {
                "street": "Pohjoisesplanadi",
                "housenumber": 13,
                "postcode": "00170",
                "city": "Helsinki",
            },
            {"city": "Helsinki"},
            {"street": "Yrjönkatu", "housenumber": "3b", "postcode": None},
        ],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [r["precision"] for r in body] == ["rooftop", "locality", "rooftop"]
    assert (body[0]["lon"], body[0]["lat"]) == pytest.approx((24.9530, 60.1682))


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"streets": []}, "the body is a JSON dict; send"),
        ("Mannerheimintie 10", "the body is a JSON str"),
        ([{"street": "A", "zip": "00100"}], "addresses[0] has unknown keys ['zip']"),
        ([42], "addresses[0]=42 is neither a string nor an object"),
    ],
)
def test_geocode_batch_errors(geo_client: FlaskClient, payload: object, fragment: str) -> None:
    response = geo_client.post("/api/geocode", json=payload)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_geocode_batch_needs_json(geo_client: FlaskClient) -> None:
    response = geo_client.post("/api/geocode", data="Mannerheimintie 10")
    assert response.status_code == 400
    assert "the body is empty or not JSON" in response.get_json()["error"]


def test_geocode_batch_limit() -> None:
    assert address_frame({"addresses": ["x"] * MAX_BATCH}).shape == (MAX_BATCH, 4)
    with pytest.raises(ValidationError, match="addresses has 10,001 items; send at most 10,000"):
        address_frame({"addresses": ["x"] * (MAX_BATCH + 1)})


def test_reverse(geo_client: FlaskClient) -> None:
    response = geo_client.get("/api/reverse?lon=24.9402&lat=60.1690")
    assert response.status_code == 200
    assert response.get_json() == {
        "address": "Mannerheimintie 10, 00100 Helsinki",
        "ref": "a1",
        "distance_m": 22.3,
        "lon": pytest.approx(24.9402),
        "lat": pytest.approx(60.1692),
    }


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("lon=24.9402&lat=60.1690&max_distance_m=20", 404, "no reference address within"),
        ("lon=24.9402", 400, "pass both"),
        ("lon=24.9402&lat=95", 400, "lat=95.0 is out of range"),
        ("lon=24.94&lat=60.17&max_distance_m=0", 400, "max_distance_m=0.0 is out of range"),
    ],
)
def test_reverse_errors(geo_client: FlaskClient, query: str, status: int, fragment: str) -> None:
    response = geo_client.get(f"/api/reverse?{query}")
    assert response.status_code == status
    assert fragment in response.get_json()["error"]


@pytest.mark.parametrize(
    "address",
    [
        "Mannerheimintie 10, 00100 Helsinki",
        "MANNERHEIMINT. 12",
        "Yrjönkatu 3b",
        "Fabianinkatu 5, 00990 Helsinki",
        "Manerheimnitie 12, 00100 Helsinki",
        "00170 Helsinki",
        "Nowhere street 1",
    ],
)
def test_one_address_answers_as_the_batch(geo_client: FlaskClient, address: str) -> None:
    """GET takes the fast path, POST the ladder: the same answer."""
    one = geo_client.get("/api/geocode", query_string={"address": address}).get_json()
    batch = geo_client.post("/api/geocode", json={"addresses": [address]}).get_json()
    assert one == batch[0]
