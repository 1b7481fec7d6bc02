"""The login page, logging in and out, and sending people who are not logged in there.

``GET /login`` shows a form (user name, password, the session's CSRF token, and "Sign in with
<issuer>" when OpenID Connect is configured); ``POST /login`` checks the password with
:func:`gcrm.access.authenticate` (which counts failures and locks an account after
:data:`gcrm.access.MAX_FAILED_LOGINS`); ``POST /logout`` ends the session. Messages never
say whether a user name exists: a wrong name and a wrong password read the same.

:func:`gate` runs before every request: without a principal, pages redirect to the login
page and the dashboard's own requests answer 401 JSON; the API answers for itself
(:func:`gcrm.web.require`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import flask
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from gcrm.access import LoginFailed, Principal, authenticate, principal_of_oidc_subject
from gcrm.web.auth import SessionUser, current_request_principal
from gcrm.web.csrf import CSRF_FIELD, csrf_token, renew_csrf_token
from gcrm.web.errors import error_body
from gcrm.web.oidc import OIDC_CALLBACK, OidcProvider, OidcSignInFailed
from gcrm.web.services import Services

__all__ = [
    "LOGIN_BLUEPRINT",
    "PUBLIC_PATHS",
    "create_login_blueprint",
    "gate",
    "log_in",
    "render_login_page",
    "safe_next",
]

LOGIN_BLUEPRINT = "gcrm_login"
#: Paths anyone may reach: the login pages, health probes, and static code (no data).
PUBLIC_PATHS = ("/login", "/logout", "/healthz", "/readyz")
_PUBLIC_PREFIXES = ("/login/", "/_gcrm/static/", "/_dash-component-suites/", "/assets/")
_OIDC_EXTENSION = "gcrm_oidc"
_OIDC_NEXT = "oidc_next"
#: Longer input cannot be a user of ours; refused before any work is done.
_MAX_NAME = 64
_MAX_PASSWORD = 1024

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gcrm · Log in</title>
<link rel="stylesheet" href="{{ url_for('gcrm_login.static', filename='login.css') }}">
</head>
<body>
<header class="header">
  <div class="logo"><span class="logo-mark">g</span><span class="logo-text">gcrm</span></div>
  <div class="header-subtitle">Geographic CRM · Regional dashboard</div>
</header>
<main class="login">
  <h1>Log in</h1>
  {% if error %}<div class="message error" id="login-error" role="alert">{{ error }}</div>{% endif %}
  {% if notice %}<div class="message notice" id="login-notice">{{ notice }}</div>{% endif %}
  <form method="post" action="{{ url_for('gcrm_login.login') }}" id="login-form">
    <input type="hidden" name="{{ csrf_field }}" value="{{ csrf_token }}">
    <input type="hidden" name="next" value="{{ next }}">
    <label for="username">User name</label>
    <input type="text" id="username" name="username" value="{{ username }}"
           autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required>
    <button type="submit" class="btn btn-primary" id="login-submit">Log in</button>
  </form>
  {% if oidc_label %}
  <div class="or">or</div>
  <a class="btn btn-oidc" id="login-oidc"
     href="{{ url_for('gcrm_login.oidc_start', next=next) }}">Sign in with {{ oidc_label }}</a>
  {% endif %}
  <p class="hint">Forgot your password, or locked out? An admin can reset it
  (<code>gcrm users passwd NAME</code>).</p>
</main>
</body>
</html>
"""


def safe_next(value: str | None) -> str:
    """A path on this server to go to after logging in (``/`` for anything else: no open
    redirects to other sites)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(c) < 32 for c in value)
    ):
        return "/"
    return value


def render_login_page(
    *,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    next_path: str = "/",
    status: int = 200,
) -> flask.Response:
    """The login page (every value escaped by Jinja), with the session's CSRF token."""
    provider = flask.current_app.extensions.get(_OIDC_EXTENSION)
    html = flask.render_template_string(
        _PAGE,
        error=error,
        notice=notice,
        username=username[:_MAX_NAME],
        next=safe_next(next_path),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(),
        oidc_label=provider.label if isinstance(provider, OidcProvider) else None,
    )
    return flask.Response(html, status=status, mimetype="text/html")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:].rstrip(".") + "."


def log_in(principal: Principal) -> None:
    """Start a new session for ``principal``: a fresh session (no fixation) and CSRF token,
    ending after :data:`gcrm.web.auth.SESSION_IDLE` without a request."""
    flask.session.clear()
    flask.session.permanent = True
    login_user(SessionUser(principal))
    renew_csrf_token()


def _check_password(services: Services) -> Response:
    form = flask.request.form
    name = form.get("username", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))
    if not name or not password:
        return render_login_page(
            error="Enter your user name and password.",
            username=name,
            next_path=next_path,
            status=400,
        )
    generic = "wrong user name or password"
    failure: LoginFailed | None = None
    principal: Principal | None = None
    if len(name) > _MAX_NAME or len(password) > _MAX_PASSWORD:
        failure = LoginFailed(generic)
    else:
        # One transaction that commits also when the login fails: the failure must count
        # towards the lock-out.
        with services.owner.begin() as conn:
            try:
                principal = authenticate(conn, name, password)
            except LoginFailed as exc:
                failure = exc
    if principal is None:
        return render_login_page(
            error=_sentence(str(failure or generic)),
            username=name,
            next_path=next_path,
            status=401,
        )
    log_in(principal)
    return flask.redirect(next_path, code=303)


def _finish_oidc(services: Services, provider: OidcProvider) -> Response:
    """The provider sent the browser back: log in the user linked to its subject."""
    next_path = safe_next(flask.session.pop(_OIDC_NEXT, None))
    try:
        subject = provider.subject()
        with services.owner.connect() as conn:
            principal = principal_of_oidc_subject(conn, subject)
    except OidcSignInFailed as exc:
        return render_login_page(error=_sentence(str(exc)), status=exc.status)
    except LoginFailed as exc:
        return render_login_page(error=_sentence(str(exc)), status=403)
    if principal is None:
        message = (
            f"Your account at {provider.label} (subject {subject}) is not linked to a gcrm "
            f"user. Ask an admin to link it: gcrm users link-oidc NAME {subject}"
        )
        return render_login_page(error=message, status=403)
    log_in(principal)
    return flask.redirect(next_path, code=303)


def _add_oidc_routes(bp: flask.Blueprint, services: Services, provider: OidcProvider) -> None:
    @bp.record_once
    def _bind(state: flask.blueprints.BlueprintSetupState) -> None:
        provider.init_app(state.app)
        state.app.extensions[_OIDC_EXTENSION] = provider

    @bp.get("/login/oidc")
    def oidc_start() -> Response:
        flask.session[_OIDC_NEXT] = safe_next(flask.request.args.get("next"))
        callback = flask.url_for(f"{LOGIN_BLUEPRINT}.oidc_callback", _external=True)
        try:
            return provider.authorize_redirect(callback)
        except OidcSignInFailed as exc:
            return render_login_page(error=_sentence(str(exc)), status=exc.status)

    @bp.get(OIDC_CALLBACK)
    def oidc_callback() -> Response:
        return _finish_oidc(services, provider)


def create_login_blueprint(
    services: Services, *, oidc: OidcProvider | None = None
) -> flask.Blueprint:
    """``/login`` (GET: the page; POST: check the password), ``/logout`` (POST), and with
    ``oidc`` ``/login/oidc`` and its callback."""
    bp = flask.Blueprint(
        LOGIN_BLUEPRINT, __name__, static_folder="static", static_url_path="/_gcrm/static"
    )
    if oidc is not None:
        _add_oidc_routes(bp, services, oidc)

    @bp.get("/login")
    def login_page() -> Response:
        next_path = safe_next(flask.request.args.get("next"))
        if current_request_principal() is not None:
            return flask.redirect(next_path)
        notice = "You are logged out." if flask.request.args.get("out") else None
        return render_login_page(notice=notice, next_path=next_path)

    @bp.post("/login")
    def login() -> Response:
        if services.settings.auth == "off":
            return flask.redirect("/", code=303)
        return _check_password(services)

    @bp.post("/logout")
    def logout() -> Response:
        logout_user()
        flask.session.clear()
        renew_csrf_token()
        return flask.redirect(flask.url_for(f"{LOGIN_BLUEPRINT}.login_page", out=1), code=303)

    return bp


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES) or path == "/_favicon.ico"


def gate(services: Services) -> Response | tuple[Response, int] | None:
    """Before a request: nobody logged in and a page asked for, the login page.

    Pages (GET of anything but the API and Dash's own routes) redirect to ``/login?next=``;
    Dash's requests (``/_dash-...``, ``/_reload-hash``) answer 401 JSON; the API and the
    public paths go on (the API's routes answer 401 themselves).
    """
    if services.settings.auth == "off" or current_request_principal() is not None:
        return None
    request = flask.request
    path = request.path
    if _is_public(path) or path == "/api" or path.startswith("/api/"):
        return None
    if request.method in ("GET", "HEAD") and not path.startswith(("/_dash-", "/_reload-hash")):
        login = flask.url_for(f"{LOGIN_BLUEPRINT}.login_page")
        return flask.redirect(f"{login}?{urlencode({'next': request.full_path.rstrip('?')})}")
    body = error_body("not logged in: log in at /login (or send `Authorization: Bearer`)", 401)
    return flask.jsonify(body), 401
