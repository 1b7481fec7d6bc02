"""Logging in and out through the real login form; sessions, lock-out, the session key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from dashboard import create_app
from gcrm.access import MAX_FAILED_LOGINS, disable_user
from gcrm.core import ConfigurationError, Settings
from gcrm.web import load_secret_key
from gcrm.web.login import safe_next
from tests.web.conftest import (
    PASSWORD,
    csrf_cookie,
    form_token,
    kpi_callback,
    kpi_texts,
    log_in,
    login_error,
)


def test_pages_send_strangers_to_the_login_page(client: FlaskClient) -> None:
    page = client.get("/some/page?x=1")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Fsome%2Fpage%3Fx%3D1"
    # Dash's own routes answer JSON, and say where to log in.
    for path in ("/_dash-layout", "/_dash-dependencies"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert answer.get_json()["status"] == 401 and "/login" in answer.get_json()["error"]
    login = client.get("/login")
    assert login.status_code == 200 and login.mimetype == "text/html"
    assert 'id="login-form"' in login.get_data(as_text=True)
    assert client.get("/_gcrm/static/login.css").status_code == 200


def test_log_in_see_own_scope_and_log_out(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa", scope="district:D01")
    answer = log_in(client, "kaisa", next_path="/dashboard?tab=1")
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard?tab=1"
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    body = layout.get_data(as_text=True)
    assert '"account-name"' in body and '"kaisa"' in body and '"district:D01"' in body
    assert "Kluuvi" not in body  # the other district's name (D02)
    # KPIs over the scope: D01 holds C1 (active) and C2 (churned), 2 signed up.
    kpis = client.post(
        "/_dash-update-component",
        json=kpi_callback(),
        headers={"X-CSRF-Token": csrf_cookie(client)},
    )
    assert kpis.status_code == 200
    assert kpi_texts(kpis)["kpi-customers"] == "2"
    assert kpi_texts(kpis)["kpi-active"] == "1"

    out = client.post("/logout", data={"csrf_token": csrf_cookie(client)})
    assert out.status_code == 303 and out.headers["Location"] == "/login?out=1"
    assert "You are logged out." in client.get("/login?out=1").get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_read_the_same(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa")
    wrong = log_in(client, "kaisa", "not the password at all")
    nobody = log_in(client, "nobody-at-all", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert login_error(wrong) == login_error(nobody) == "Wrong user name or password."
    assert client.get("/_dash-layout").status_code == 401
    # The name typed is kept (escaped), the password never is.
    assert 'value="kaisa"' in wrong.get_data(as_text=True)
    assert "not the password" not in wrong.get_data(as_text=True)
    hostile = log_in(client, '<b id="x">kaisa</b>', "not the password at all")
    assert "&lt;b id=&#34;x&#34;&gt;kaisa&lt;/b&gt;" in hostile.get_data(as_text=True)
    assert '<b id="x">' not in hostile.get_data(as_text=True)
    empty = log_in(client, "kaisa", "")
    assert empty.status_code == 400 and login_error(empty) == "Enter your user name and password."


def test_repeated_failures_lock_the_account(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("lotta")
    for _ in range(MAX_FAILED_LOGINS):
        assert login_error(log_in(client, "lotta", "wrong password, again")) is not None
    locked = log_in(client, "lotta", PASSWORD)  # the right password no longer helps
    message = login_error(locked)
    assert locked.status_code == 401 and message is not None
    assert message.startswith(f"Account locked after {MAX_FAILED_LOGINS} failed logins, until")
    assert client.get("/_dash-layout").status_code == 401


def test_disabled_user_cannot_log_in_and_is_out_at_next_request(  # type: ignore[no-untyped-def]
    client: FlaskClient, make_user, owner: Engine
) -> None:
    make_user("dora")
    assert log_in(client, "dora").status_code == 303
    assert client.get("/_dash-layout").status_code == 200
    with owner.begin() as conn:
        disable_user(conn, "dora")
    assert client.get("/_dash-layout").status_code == 401
    assert login_error(log_in(client, "dora")) == "Wrong user name or password."


def test_login_form_needs_the_token_of_its_own_page(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    """Login CSRF: another site cannot log a browser in, not even as the attacker."""
    make_user("kaisa")
    form = {"username": "kaisa", "password": PASSWORD, "next": "/"}
    for token in (None, "forged-token"):
        data = form if token is None else {**form, "csrf_token": token}
        answer = client.post("/login", data=data)
        assert answer.status_code == 403, token
        assert (
            login_error(answer) == "The page had expired (or came from another site); log in again."
        )
        assert client.get("/_dash-layout").status_code == 401
    # A fresh browser that never saw the page has no session to match at all.
    stranger = client.application.test_client()
    assert stranger.post("/login", data={**form, "csrf_token": "x"}).status_code == 403
    # From another site, even with the right token.
    token = form_token(client)
    other = {"Origin": "https://evil.example"}
    assert (
        client.post("/login", data={**form, "csrf_token": token}, headers=other).status_code == 403
    )
    assert client.post("/login", data={**form, "csrf_token": token}).status_code == 303


def test_login_renews_the_session_and_its_token(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa")
    before = form_token(client)
    session_before = client.get_cookie("gcrm_session")
    assert session_before is not None
    log_in(client, "kaisa")
    assert csrf_cookie(client) != before
    after = client.get_cookie("gcrm_session")
    assert after is not None and after.value != session_before.value
    # The token of the page before login no longer works for the logged-in session.
    stale = client.post(
        "/_dash-update-component", json=kpi_callback(), headers={"X-CSRF-Token": before}
    )
    assert stale.status_code == 403


def test_session_cookies_are_httponly_samesite_and_secure(client: FlaskClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa")
    token = form_token(client)
    answer = client.post(
        "/login", data={"username": "kaisa", "password": PASSWORD, "csrf_token": token}
    )
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.getlist("Set-Cookie")}
    session = cookies["gcrm_session"]
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" in session
    assert "Expires=" in session  # a login ends after 12 idle hours, browser open or not
    csrf = cookies["gcrm_csrf"]  # read by the page's scripts, so not HttpOnly
    assert "HttpOnly" not in csrf and "SameSite=Lax" in csrf and "Secure" in csrf


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/", "/"),
        ("/x?y=1", "/x?y=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        (None, "/"),
    ],
)
def test_after_login_only_paths_of_this_server(asked: str | None, goes: str) -> None:
    assert safe_next(asked) == goes


def test_the_session_key_is_made_once_kept_private_and_shared(
    seeded: Settings, tmp_path: Path
) -> None:
    settings = seeded.model_copy(update={"data_dir": tmp_path / "fresh"})
    key = load_secret_key(settings)
    path = settings.data_dir / ".secret_key"
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(settings) == key  # a restart (or another worker) reads it back
    # A session made by one server process is good in another (gunicorn workers).
    first, second = create_app(settings), create_app(settings)
    browser = first.server.test_client()
    form_token(browser)
    moved = second.server.test_client()
    cookie = browser.get_cookie("gcrm_session")
    assert cookie is not None
    moved.set_cookie("gcrm_session", cookie.value)
    with moved.session_transaction() as session:
        assert session.get("csrf") == csrf_cookie(browser)


def test_a_short_or_unusable_session_key_is_refused(seeded: Settings, tmp_path: Path) -> None:
    assert load_secret_key(seeded.model_copy(update={"secret_key": "k" * 40})) == "k" * 40
    with pytest.raises(ConfigurationError, match="GCRM_SECRET_KEY has 5 characters"):
        load_secret_key(seeded.model_copy(update={"secret_key": "short"}))
    (tmp_path / ".secret_key").write_text("\n")
    with pytest.raises(ConfigurationError, match="holds no usable key; delete it"):
        load_secret_key(seeded.model_copy(update={"data_dir": tmp_path}))


def test_a_scope_without_data_gets_a_page_that_says_so(  # type: ignore[no-untyped-def]
    client: FlaskClient, make_user, owner: Engine
) -> None:
    square = "MULTIPOLYGON(((24.90 60.16, 24.91 60.16, 24.91 60.17, 24.90 60.17, 24.90 60.16)))"
    with owner.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gcrm.areas (level, code, name, derivation, geom) "
                "VALUES ('district', 'D09', 'Empty', 'test', ST_GeomFromText(:g, 4326))"
            ),
            {"g": square},
        )
    try:
        make_user("erik", scope="district:D09")
        assert log_in(client, "erik").status_code == 303
        layout = client.get("/_dash-layout")
        assert layout.status_code == 200
        body = layout.get_data(as_text=True)
        assert "Nothing to show for district:D09 yet" in body and '"erik"' in body
        assert '"kpis"' not in body  # no controls, so no callback runs
    finally:
        with owner.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.users WHERE name = 'erik'"))
            conn.execute(text("DELETE FROM gcrm.areas WHERE level = 'district' AND code = 'D09'"))
