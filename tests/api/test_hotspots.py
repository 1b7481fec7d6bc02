"""GET /api/hotspots over a committed grid of areas and its cube."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from gcrm.api import OPERATIONS, openapi_document
from tests.api.conftest import make_client
from tests.cube.test_hotspots import saved_grid


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The API (login off) over a database of its own holding the grid, its cube saved."""
    with saved_grid(tmp_path_factory.mktemp("grid")) as settings:
        yield make_client(settings)


def test_hotspots_answer_geojson_with_the_method_stated(client: FlaskClient) -> None:
    response = client.get("/api/hotspots?level=cell&measure=leads&correction=bonferroni&alpha=0.1")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 101
    assert (body["method"], body["alpha"], body["correction"]) == ("gi", 0.1, "bonferroni")
    assert body["permutations"] == 999 and body["n_areas"] == 101
    assert "Getis-Ord Gi*" in body["description"]
    features = {f["id"]: f for f in body["features"]}
    props = features["cell:r1c1"]["properties"]
    assert props["code"] == "r1c1" and props["statistic"] > 1.96
    assert features["cell:island"]["properties"]["island"] is True
    assert features["cell:r1c1"]["geometry"]["type"] == "MultiPolygon"


def test_hotspots_repeat_for_a_seed_and_take_moran(client: FlaskClient) -> None:
    query = "/api/hotspots?level=cell&measure=leads&method=moran&seed=5&permutations=999"
    first, again = client.get(query).get_json(), client.get(query).get_json()
    assert first == again and first["method_label"] == "local Moran's I"
    assert {f["properties"]["cluster"] for f in first["features"]} >= {"high-high"}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("level=cell&measure=nope", "measure 'nope' unknown; expected one of"),
        ("level=hex&measure=leads", "level 'hex' unknown"),
        ("level=cell&measure=leads&method=getis", "method='getis'"),
        ("level=cell&measure=leads&permutations=5", "permutations=5 is out of range"),
        ("level=cell&measure=leads&alpha=2", "alpha=2.0 is out of range"),
    ],
)
def test_bad_parameters_are_400_naming_them(client: FlaskClient, query: str, fragment: str) -> None:
    response = client.get(f"/api/hotspots?{query}")
    body = response.get_json()
    assert response.status_code == 400 and body["status"] == 400
    assert fragment in body["error"]


def test_the_route_is_documented() -> None:
    doc = openapi_document(OPERATIONS)
    route = doc["paths"]["/api/hotspots"]["get"]
    params = {p["name"]: p for p in route["parameters"]}
    assert params["method"]["schema"]["enum"] == ["gi", "moran"]
    assert params["correction"]["schema"]["enum"] == ["fdr", "bonferroni", "none"]
    assert params["permutations"]["schema"]["maximum"] == 9999
    assert "HotspotCollection" in doc["components"]["schemas"]
