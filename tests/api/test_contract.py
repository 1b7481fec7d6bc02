"""The contract: the OpenAPI document, the docs page, one JSON shape for every error, and
schemathesis generating requests from the document against the app, with login on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gcrm.api import OPERATIONS, openapi_document
from gcrm.api.models import LeadsNearQuery
from gcrm.core import Settings
from tests.api.conftest import People, make_app


def test_document_lists_every_route(secure: FlaskClient) -> None:
    doc = secure.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    routes = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert ("GET", "/api/customers/{customer_id}") in routes
    assert ("POST", "/api/geocode") in routes and len(routes) == len(OPERATIONS)
    near = doc["paths"]["/api/leads/near"]["get"]
    params = {p["name"]: p for p in near["parameters"]}
    # The bounds are the model's: one statement for the check and the document.
    bounds = LeadsNearQuery.model_fields["radius_m"].metadata
    assert params["radius_m"]["schema"]["maximum"] == 50_000
    assert any(getattr(rule, "le", None) == 50_000 for rule in bounds)
    assert params["category"]["schema"]["type"] == "array"
    assert near["security"] == [{"bearerAuth": []}]
    assert set(near["responses"]) >= {"200", "400", "401", "403", "404", "503"}
    error = near["responses"]["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorBody"}
    assert "429" in doc["paths"]["/api/geocode"]["post"]["responses"]
    assert doc["paths"]["/api/health"]["get"]["security"] == []
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_is_offline(secure: FlaskClient) -> None:
    page = secure.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/api/") for s in sources)  # no CDN
    assert "<script>" not in html  # no inline script: a strict CSP allows the page
    for source in sources:
        asset = secure.get(source)
        assert asset.status_code == 200 and len(asset.get_data()) > 100, source
    assert 'data-spec-url="/api/openapi.json"' in html
    assert secure.get("/api/docs/secrets.py").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nope", 404),
        ("GET", "/api/customers/C1/orders", 404),
        ("POST", "/api/leads/near", 405),
        ("DELETE", "/api/geocode", 405),
        ("GET", "/api", 404),
        ("GET", "/api/", 404),
    ],
)
def test_every_error_is_json(
    secure: FlaskClient, people: People, method: str, path: str, status: int
) -> None:
    response = secure.open(path, method=method, headers=people["root"])
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "status"} and body["status"] == status
    if status == 405:
        assert "GET" in response.headers["Allow"] and "use GET" in body["error"]


def test_unknown_path_is_json_next_to_a_catch_all_page(seeded: Settings) -> None:
    """Dash answers any path with its page; below /api the API's own 404 wins."""
    app = make_app(seeded.model_copy(update={"auth": "off"}))
    app.add_url_rule("/<path:path>", "page", lambda path: "<html>dashboard</html>")
    client = app.test_client()
    assert client.get("/somewhere").status_code == 200
    response = client.get("/api/somewhere")
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_the_served_document_is_the_tested_one(secure: FlaskClient) -> None:
    assert secure.get("/api/openapi.json").get_json() == DOCUMENT


class DeferredApp:
    """The app under schemathesis, filled in by a fixture: the document is read at import
    time (its operations are the test's parameters), the app needs the test database."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the api_app fixture sets the app"
        return self.app(environ, start_response)


# The document /api/openapi.json serves (checked above).
DOCUMENT = openapi_document(OPERATIONS)
APP = DeferredApp()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = APP


@pytest.fixture(scope="module")
def api_app(seeded: Settings) -> Iterator[DeferredApp]:
    # The limit is not under test here (tests/api/test_rate_limits.py is).
    APP.app = make_app(seeded.model_copy(update={"auth": "on", "rate_limit": "100000/minute"}))
    yield APP
    APP.app = None


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_contract(
    case: schemathesis.Case, api_app: DeferredApp, people: People
) -> None:
    """No 5xx, statuses and bodies as documented, bad input refused, auth not ignored."""
    case.call_and_validate(
        base_url="http://localhost",
        headers=people["root"],
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            negative_data_rejection,
            ignored_auth,
        ],
    )
