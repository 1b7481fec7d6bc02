"""OpenID Connect login against a small provider run in the test process (no network).

The provider (a Flask app on a free localhost port) serves discovery, /authorize (the person
is already signed in there: ``Provider.subject``), /token (an RS256 ID token) and /jwks.
gcrm's server runs in Flask's test client; authlib talks to the provider over real HTTP.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import flask
import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import TestResponse

from dashboard import create_app
from gcrm.cli import cli
from gcrm.core import Settings
from tests.web.conftest import login_error

CLIENT_ID = "gcrm-test"
CLIENT_SECRET = "s3cret-" + "x" * 24


@dataclass
class Provider:
    """A tiny OpenID provider; tests change what it answers through its fields."""

    server: BaseWSGIServer
    key: RSAKey
    subject: str = "idp-user-1"
    #: Sign ID tokens with this key instead (a forger's).
    signing_key: RSAKey | None = None
    audience: str = CLIENT_ID
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


def _provider_app(provider: Provider) -> flask.Flask:
    app = flask.Flask("test_oidc_provider")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> flask.Response:
        base = provider.issuer
        return flask.jsonify(
            issuer=base,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            jwks_uri=f"{base}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            token_endpoint_auth_methods_supported=["client_secret_basic"],
        )

    @app.get("/authorize")
    def authorize() -> flask.Response:
        args = flask.request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            return flask.Response("bad client or response type", status=400)
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {
            "nonce": args.get("nonce"),
            "redirect_uri": args["redirect_uri"],
            "sub": provider.subject,
        }
        query = urlencode({"code": code, "state": args["state"]})
        return flask.redirect(f"{args['redirect_uri']}?{query}")

    @app.post("/token")
    def token() -> tuple[flask.Response, int]:
        auth = flask.request.authorization
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return flask.jsonify(error="invalid_client"), 401
        grant = provider.codes.pop(flask.request.form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != flask.request.form.get("redirect_uri"):
            return flask.jsonify(error="invalid_grant"), 400
        now = int(time.time())
        claims = {
            "iss": provider.issuer,
            "sub": grant["sub"],
            "aud": provider.audience,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        key = provider.signing_key or provider.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        body = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        return flask.jsonify(body | {"expires_in": 300, "id_token": id_token}), 200

    @app.get("/jwks")
    def jwks() -> flask.Response:
        return flask.jsonify(keys=[provider.key.as_dict(private=False)])

    return app


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
    holder: dict[str, Provider] = {}
    app = flask.Flask("dispatch")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    holder["p"] = Provider(server=server, key=key)
    server.app = _provider_app(holder["p"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["p"]
    server.shutdown()


@pytest.fixture(scope="module")
def oidc_app(seeded: Settings, provider: Provider):  # type: ignore[no-untyped-def]
    settings = seeded.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
        }
    )
    return create_app(settings)


@pytest.fixture
def browser(oidc_app, provider: Provider) -> FlaskClient:  # type: ignore[no-untyped-def]
    provider.subject, provider.signing_key, provider.audience = "idp-user-1", None, CLIENT_ID
    return oidc_app.server.test_client()


def _round_trip(browser: FlaskClient, *, next_path: str = "/") -> TestResponse:
    """Click "Sign in with ...", let the provider answer, follow it back to gcrm."""
    start = browser.get(f"/login/oidc?{urlencode({'next': next_path})}")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/login/oidc/callback"
    return browser.get(f"{back.path}?{back.query}")


def test_login_page_offers_the_provider(browser: FlaskClient, provider: Provider) -> None:
    page = browser.get("/login").get_data(as_text=True)
    host = urlsplit(provider.issuer).netloc
    assert f"Sign in with {host}" in page and 'href="/login/oidc?next=/"' in page


def test_unknown_subject_is_refused_until_an_admin_links_it(
    browser: FlaskClient, provider: Provider, seeded: Settings, make_user
) -> None:  # type: ignore[no-untyped-def]
    make_user("olga", scope="district:D02", password="unused password 123")
    provider.subject = "idp-olga-7f3a"
    refused = _round_trip(browser)
    assert refused.status_code == 403
    message = login_error(refused)
    assert message is not None
    assert "(subject idp-olga-7f3a) is not linked to a gcrm user" in message
    assert "gcrm users link-oidc NAME idp-olga-7f3a" in message
    assert browser.get("/_dash-layout").status_code == 401

    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    linked = CliRunner().invoke(cli, ["users", "link-oidc", "olga", "idp-olga-7f3a"], env=env)
    assert linked.exit_code == 0, linked.output

    answer = _round_trip(browser, next_path="/after")
    assert answer.status_code == 303 and answer.headers["Location"] == "/after"
    layout = browser.get("/_dash-layout").get_data(as_text=True)
    assert '"olga"' in layout and '"district:D02"' in layout


def test_a_second_user_cannot_take_a_linked_subject(seeded: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("pia")
    make_user("pekka")
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    run = CliRunner().invoke
    assert run(cli, ["users", "link-oidc", "pia", "sub-pia"], env=env).exit_code == 0
    taken = run(cli, ["users", "link-oidc", "pekka", "sub-pia"], env=env)
    assert taken.exit_code != 0
    assert "subject 'sub-pia' is linked to user 'pia'" in str(taken.exception)


def test_forged_or_misaddressed_id_tokens_are_refused(
    browser: FlaskClient, provider: Provider, seeded: Settings, make_user
) -> None:  # type: ignore[no-untyped-def]
    make_user("uma")
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    assert CliRunner().invoke(cli, ["users", "link-oidc", "uma", "idp-uma"], env=env).exit_code == 0
    provider.subject = "idp-uma"
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = _round_trip(browser)
    assert forged.status_code == 400 and "Sign-in with" in (login_error(forged) or "")
    provider.signing_key, provider.audience = None, "some-other-client"
    misaddressed = _round_trip(browser)
    assert misaddressed.status_code == 400
    assert browser.get("/_dash-layout").status_code == 401
    provider.audience = CLIENT_ID
    assert _round_trip(browser).status_code == 303


def test_a_callback_without_its_session_state_is_refused(browser: FlaskClient, oidc_app) -> None:  # type: ignore[no-untyped-def]
    """Login CSRF through the provider: a callback made in another browser does not log in."""
    start = browser.get("/login/oidc")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(at_provider.headers["Location"])
    victim = oidc_app.server.test_client()
    answer = victim.get(f"{back.path}?{back.query}")
    assert answer.status_code == 400
    assert victim.get("/_dash-layout").status_code == 401
