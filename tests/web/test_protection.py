"""CSRF protection, security headers, proxies and the health probes, over the real server."""

from __future__ import annotations

import flask
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard import create_app
from gcrm.access import create_token
from gcrm.core import Settings
from gcrm.store import create_db_engine
from gcrm.web import Services, content_security_policy, install
from tests.web.conftest import csrf_cookie, kpi_callback, kpi_texts, log_in

CALLBACK = "/_dash-update-component"


@pytest.fixture
def kaisa(client: FlaskClient, make_user) -> FlaskClient:  # type: ignore[no-untyped-def]
    """``client`` logged in as a manager of D01."""
    make_user("kaisa", scope="district:D01")
    assert log_in(client, "kaisa").status_code == 303
    return client


def test_dash_callback_with_the_session_needs_its_token(kaisa: FlaskClient) -> None:
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        refused = kaisa.post(CALLBACK, json=kpi_callback(), headers=headers)
        assert refused.status_code == 403, headers
        body = refused.get_json()
        assert body["status"] == 403 and "CSRF token missing or wrong" in body["error"]
    # The token of another session does not do either.
    other = kaisa.application.test_client()
    other.get("/login")
    refused = kaisa.post(
        CALLBACK, json=kpi_callback(), headers={"X-CSRF-Token": csrf_cookie(other)}
    )
    assert refused.status_code == 403
    ok = kaisa.post(CALLBACK, json=kpi_callback(), headers={"X-CSRF-Token": csrf_cookie(kaisa)})
    assert ok.status_code == 200 and kpi_texts(ok)["kpi-customers"] == "2"


def test_requests_from_another_origin_are_refused(kaisa: FlaskClient) -> None:
    token = {"X-CSRF-Token": csrf_cookie(kaisa)}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = kaisa.post(CALLBACK, json=kpi_callback(), headers={**token, **headers})
        assert answer.status_code == 403, headers
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert kaisa.post(CALLBACK, json=kpi_callback(), headers={**token, **same}).status_code == 200


def test_bearer_requests_are_exempt_and_cookieless_ones_get_401(
    client: FlaskClient, make_user, owner: Engine
) -> None:  # type: ignore[no-untyped-def]
    make_user("tove", scope="district:D02")
    with owner.begin() as conn:
        token = create_token(conn, "tove", name="test", expires_days=1)
    bearer = {"Authorization": f"Bearer {token}"}
    answer = client.post(CALLBACK, json=kpi_callback(), headers=bearer)
    assert answer.status_code == 200
    assert kpi_texts(answer)["kpi-customers"] == "1"  # D02 holds C3
    # No cookie, no token: not a CSRF matter, just no credentials.
    fresh = client.application.test_client()
    assert fresh.post(CALLBACK, json=kpi_callback()).status_code == 401
    assert fresh.post("/api/geocode", json={"addresses": ["x"]}).status_code == 401


def test_api_posts_riding_on_the_session_need_the_token(kaisa: FlaskClient) -> None:
    body = {"addresses": ["Mannerheimintie 10, Helsinki"]}
    refused = kaisa.post("/api/geocode", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    allowed = kaisa.post("/api/geocode", json=body, headers={"X-CSRF-Token": csrf_cookie(kaisa)})
    assert allowed.status_code != 403


def test_logout_needs_the_token(kaisa: FlaskClient) -> None:
    assert kaisa.post("/logout").status_code == 403
    assert kaisa.get("/_dash-layout").status_code == 200  # still logged in
    assert kaisa.post("/logout", data={"csrf_token": csrf_cookie(kaisa)}).status_code == 303
    assert kaisa.get("/_dash-layout").status_code == 401


def test_every_response_has_the_security_headers(kaisa: FlaskClient, dash_app) -> None:  # type: ignore[no-untyped-def]
    policy = content_security_policy(dash_app.csp_hashes())
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert "script-src 'self' 'sha256-" in policy and "'unsafe-inline'" not in policy.split(";")[1]
    responses = {
        "page": kaisa.get("/"),
        "layout": kaisa.get("/_dash-layout"),
        "api": kaisa.get("/api/cube/slice?level=district&measure=revenue"),
        "api error": kaisa.get("/api/cube/slice"),
        "login": kaisa.application.test_client().get("/login"),
        "healthz": kaisa.get("/healthz"),
        "asset": kaisa.get("/assets/gcrm.js"),
        "refused": kaisa.post(CALLBACK, json=kpi_callback()),
    }
    for what, answer in responses.items():
        headers = answer.headers
        assert headers["Content-Security-Policy"] == policy, what
        assert headers["X-Content-Type-Options"] == "nosniff", what
        assert headers["Referrer-Policy"] == "same-origin", what
        assert headers["X-Frame-Options"] == "DENY", what
        assert "Strict-Transport-Security" not in headers, what  # plain HTTP
        if what == "asset":
            assert "no-store" not in headers.get("Cache-Control", ""), what
        else:
            assert headers["Cache-Control"] == "no-store", what
    assert responses["api"].status_code == 200


def test_behind_a_proxy_the_forwarded_origin_counts(seeded: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa")
    forwarded = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "gcrm.example.org",
        "Origin": "https://gcrm.example.org",
    }
    for hops, status in ((1, 200), (0, 403)):
        app = create_app(seeded.model_copy(update={"proxy_hops": hops}))
        browser = app.server.test_client()
        assert log_in(browser, "kaisa").status_code == 303
        token = {"X-CSRF-Token": csrf_cookie(browser)}
        answer = browser.post(CALLBACK, json=kpi_callback(), headers={**forwarded, **token})
        assert answer.status_code == status, hops
        if hops:
            assert "max-age" in answer.headers["Strict-Transport-Security"]
        else:
            assert "GCRM_PROXY_HOPS" in answer.get_json()["error"]


def test_health_probes_need_no_login(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"


def test_readyz_answers_503_when_the_database_is_down(seeded: Settings) -> None:
    down = create_db_engine("postgresql+psycopg://gcrm:gcrm@127.0.0.1:9/nowhere", check=False)
    owner = create_db_engine(seeded.database_url)
    try:
        app = flask.Flask(__name__)
        install(app, Services(seeded, owner=owner, data=down))
        client = app.test_client()
        assert client.get("/healthz").status_code == 200  # alive all the same
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["status"] == 503 and ready.get_json()["database"] == "unreachable"
    finally:
        owner.dispose()
        down.dispose()
