"""Cross-site request forgery: every state-changing request that rides on the browser's
cookies must prove it comes from a page of this server.

The design (a synchronizer token, with an origin check in front of it):

- Each browser session holds a random token (``session["csrf"]``, in the signed session
  cookie, which is HttpOnly). It is created with the session and renewed at login and logout.
- Pages get the token in two ways: server-rendered forms (login, logout) carry it in a hidden
  field ``csrf_token``; the dashboard's scripts read it from the cookie ``gcrm_csrf`` (not
  HttpOnly, SameSite=Lax), and Dash's renderer sends it back in the ``X-CSRF-Token`` header of
  every callback (Dash's ``csrf_token_name`` / ``csrf_header_name``).
- A POST, PUT, PATCH or DELETE without ``Authorization: Bearer`` must carry a token equal to
  the session's. Another site can make the browser send our cookies, but it can neither read
  the token (same-origin policy) nor set a custom header on a cross-site request (no CORS).
- Before that, a browser that says where the request comes from (``Origin``, else
  ``Referer``; ``Sec-Fetch-Site``) must name this server.
- Requests authenticated by a Bearer token are exempt: a browser never adds that header on
  its own, and with it the session cookie is not consulted at all. A request without the
  session cookie rides on no session (an API client without credentials gets its 401 from
  the route); with ``GCRM_AUTH=off`` the origin check alone stops other sites' pages.

The login and logout forms always need the token, session cookie or not (login CSRF: another
site must not log a victim's browser in under the attacker's account); it is issued with
the anonymous session that the login page starts.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

import flask

from gcrm.core import Settings
from gcrm.web.errors import Forbidden

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "UNSAFE_METHODS",
    "check_csrf",
    "csrf_token",
    "renew_csrf_token",
    "set_csrf_cookie",
]

#: The cookie the dashboard's scripts read the token from.
CSRF_COOKIE = "gcrm_csrf"
#: The header scripts send the token in.
CSRF_HEADER = "X-CSRF-Token"
#: The hidden field forms send the token in.
CSRF_FIELD = "csrf_token"
#: Methods that change state and so must carry the token.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SESSION_KEY = "csrf"


def csrf_token() -> str:
    """The CSRF token of the current session (made on first use)."""
    token = flask.session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = renew_csrf_token()
    return token


def renew_csrf_token() -> str:
    """Give the session a new token (at login and logout); returns it."""
    token = secrets.token_urlsafe(32)
    flask.session[_SESSION_KEY] = token
    return token


def _own_origin() -> str:
    # request.host_url honours ProxyFix (X-Forwarded-Proto/-Host) when proxy_hops is set.
    return flask.request.host_url.rstrip("/")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_origin() -> None:
    """Refuse a request that the browser says comes from another site."""
    request = flask.request
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        msg = "cross-site request refused (Sec-Fetch-Site: cross-site); use gcrm from its own pages"
        raise Forbidden(msg)
    claimed = request.headers.get("Origin")
    if claimed is None and request.referrer:
        claimed = _origin_of(request.referrer)
    if claimed is None:
        return  # not said (privacy settings strip both): the token decides
    own = _own_origin()
    if claimed != own:
        msg = (
            f"request from origin {claimed!r} refused: this server is {own!r}. Behind a "
            "reverse proxy, set GCRM_PROXY_HOPS so that the forwarded host and scheme are used"
        )
        raise Forbidden(msg)


def _sent_token() -> str | None:
    request = flask.request
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get(CSRF_FIELD)
    return None


def check_csrf(*, always: bool = False) -> None:
    """Refuse a state-changing request that is not proven to come from our own pages.

    Parameters
    ----------
    always
        Ask for the token even without a session cookie (the login and logout forms).

    Raises
    ------
    Forbidden
        When the origin is another site's, or the token is missing or wrong (403).
    """
    request = flask.request
    if request.method not in UNSAFE_METHODS:
        return
    scheme, _, _ = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return
    _check_origin()
    has_session = flask.current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    if not has_session and not always:
        return
    expected = flask.session.get(_SESSION_KEY)
    sent = _sent_token()
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(sent, expected):
        msg = (
            f"CSRF token missing or wrong: send the {CSRF_HEADER} header (or the {CSRF_FIELD} "
            "form field) of your session; reload the page if it has expired. API clients "
            "authenticate with `Authorization: Bearer TOKEN` instead"
        )
        raise Forbidden(msg)


def set_csrf_cookie(response: flask.Response, settings: Settings) -> None:
    """Let the page's scripts read the session's token (only when it changed)."""
    token = flask.session.get(_SESSION_KEY)
    if not isinstance(token, str) or flask.request.cookies.get(CSRF_COOKIE) == token:
        return
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=False,  # read by the dashboard's scripts; useless to another origin
        secure=settings.cookie_secure,
        samesite="Lax",
        path="/",
    )
