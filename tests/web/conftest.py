"""Web fixtures: the dashboard's server on the tiny seeded region, its users, and logging in
through the real login form with Flask's test client.

The seeded region (tests/maps/seed.py) has districts D01 (customers C1, C2) and D02 (C3); its
database is this module's own, so users added here are seen by no other module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from dashboard import create_app
from gcrm.access import add_user
from gcrm.core import Settings
from gcrm.store import create_db_engine
from gcrm.web import CSRF_COOKIE

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_ERROR = re.compile(r'id="login-error"[^>]*>([^<]*)<')


@pytest.fixture(scope="module")
def owner(seeded: Settings) -> Iterator[Engine]:
    """The owner's engine on the seeded database (users are written with it)."""
    engine = create_db_engine(seeded.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_user(owner: Engine) -> Iterator[Callable[..., str]]:
    """``make_user(name, role=..., scope=..., password=...)`` adds a user for one test."""
    names: list[str] = []

    def make(
        name: str, *, role: str = "manager", scope: str = "district:D01", password: str = PASSWORD
    ) -> str:
        with owner.begin() as conn:
            add_user(conn, name, role=role, scopes=[scope], password=password)
        names.append(name)
        return name

    yield make
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM gcrm.users WHERE name = ANY(:n)"), {"n": names})


@pytest.fixture(scope="module")
def dash_app(seeded: Settings):  # type: ignore[no-untyped-def]
    """The dashboard with login on, over the seeded region."""
    app = create_app(seeded, region_name="Seeded region")
    yield app


@pytest.fixture
def client(dash_app) -> FlaskClient:  # type: ignore[no-untyped-def]
    """A browser of its own: a fresh cookie jar per test."""
    return dash_app.server.test_client()


def form_token(client: FlaskClient) -> str:
    """The CSRF token in the login page's form."""
    page = client.get("/login").get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, "the login page has no csrf_token field"
    return found.group(1)


def log_in(
    client: FlaskClient, name: str, password: str = PASSWORD, *, next_path: str = "/"
) -> TestResponse:
    """Post the login form as a browser would (the page's token included)."""
    data = {"username": name, "password": password, "csrf_token": form_token(client)}
    return client.post("/login", data={**data, "next": next_path})


def login_error(response: TestResponse) -> str | None:
    """The error message the login page shows, if any."""
    found = _ERROR.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def csrf_cookie(client: FlaskClient) -> str:
    """The token the dashboard's scripts read from the cookie."""
    cookie = client.get_cookie(CSRF_COOKIE)
    assert cookie is not None, f"no {CSRF_COOKIE} cookie was set"
    return cookie.value


def kpi_callback(*, level: str = "district") -> dict[str, object]:
    """The body Dash's renderer posts to fill the KPI cards of the whole scope."""
    return {
        "output": "kpis.children",
        "outputs": {"id": "kpis", "property": "children"},
        "inputs": [
            {"id": "view", "property": "data", "value": {"level": level, "parent": None}},
            {"id": "period", "property": "value", "value": "all"},
            {"id": "segment", "property": "value", "value": "all"},
            {"id": "compare", "property": "value", "value": "none"},
            {"id": "channel", "property": "value", "value": "all"},
            {"id": "branch", "property": "value", "value": "all"},
        ],
        "changedPropIds": ["view.data"],
        "state": [],
    }


def kpi_texts(response: TestResponse) -> dict[str, str]:
    """``{kpi id: shown value}`` from the KPI callback's answer."""
    cards = response.get_json()["response"]["kpis"]["children"]
    values = {}
    for card in cards:
        label, value, _scope = card["props"]["children"]
        values[value["props"]["id"]] = value["props"]["children"]
    return values
