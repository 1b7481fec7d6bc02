"""GET /api/cube/slice and /api/hotspots with channel and branch, on the tiny region with
orders in two channels and two branches (tests/cube/test_channels.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from gcrm.api import OPERATIONS, openapi_document
from tests.api.conftest import make_client
from tests.cube.test_channels import saved_channels


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    with saved_channels(tmp_path_factory.mktemp("channels")) as settings:
        yield make_client(settings)


def test_slice_of_one_channel_and_one_branch(client: FlaskClient) -> None:
    web = client.get("/api/cube/slice?level=district&measure=revenue&channel=web")
    assert web.status_code == 200, web.get_json()
    assert {r["area"]: r["value"] for r in web.get_json()} == {
        "district:D01": 150.0,
        "district:D02": 0.0,
    }
    b2 = client.get("/api/cube/slice?level=district&measure=orders&branch=B2&period=2025-03")
    assert {r["area"]: r["value"] for r in b2.get_json()} == {
        "district:D01": 0.0,
        "district:D02": 1.0,
    }
    compared = client.get(
        "/api/cube/slice?level=district&measure=revenue&channel=shop&period=2025-03"
        "&compare=previous"
    ).get_json()
    assert [(r["value"], r["base"]) for r in compared] == [(0.0, 0.0), (250.5, 500.0)]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("measure=revenue&channel=fax", "channel 'fax' unknown; expected 'all' or one of"),
        ("measure=active&channel=web", "drop the channel filter"),
        ("measure=revenue&channel=web&branch=B1", "one at a time"),
    ],
)
def test_a_bad_channel_is_a_400_naming_it(client: FlaskClient, query: str, fragment: str) -> None:
    response = client.get(f"/api/cube/slice?level=district&{query}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    hot = client.get(f"/api/hotspots?level=district&{query}")
    assert hot.status_code == 400 and fragment in hot.get_json()["error"]


def test_openapi_documents_channel_and_branch() -> None:
    document = openapi_document(OPERATIONS)
    for path in ("/api/cube/slice", "/api/hotspots"):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert {"channel", "branch"} <= names, path
