"""Who a request acts for: an API token, a login session, or the one local user.

:func:`install_principals` hooks into a Flask server: before every request it resolves the
principal (``Authorization: Bearer TOKEN``; else the session cookie of a logged-in user;
with ``GCRM_AUTH=off`` the local user) and runs the request as that principal
(:func:`gcrm.access.act_as`), so every transaction on the data engine reads under their
scope. Routes then ask for a permission with :func:`require`. :func:`gcrm.web.install` calls
it with the rest of what a server needs (login pages, CSRF, headers).
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from typing import Any

import flask
from flask_login import LoginManager, UserMixin, current_user

from gcrm.access import Principal, act_as, load_principal, principal_of_token
from gcrm.core import ConfigurationError
from gcrm.web.errors import Forbidden, Unauthorized
from gcrm.web.services import Services

__all__ = [
    "LOCAL",
    "PRINCIPAL_TTL_S",
    "SESSION_IDLE",
    "PrincipalCache",
    "SessionUser",
    "check_auth_off",
    "current_request_principal",
    "install_principals",
    "require",
]

#: The one user of ``GCRM_AUTH=off``: the owner's view, every area, no login.
LOCAL = Principal(name="local", role="admin", all_areas=True, scoped=False)
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: A login session ends after this long without a request (the signed cookie carries its
#: time, so a copied cookie stops working too).
SESSION_IDLE = timedelta(hours=12)
#: How long an API token's principal is reused before it is read again: for API clients, a
#: revoked token, a disabled user or a changed scope takes effect within this time (for
#: login sessions, at the next request).
PRINCIPAL_TTL_S = 10.0


class PrincipalCache:
    """Principals by API token, each kept :data:`PRINCIPAL_TTL_S` seconds, per process.

    Saves the queries of resolving a token on every request of an API client. Only valid
    tokens are kept (an unknown token is looked up each time), keyed by their SHA-256, never
    as they are.
    """

    def __init__(self, ttl_s: float = PRINCIPAL_TTL_S, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(kind: str, credential: str) -> str:
        """The cache key of a credential of some ``kind`` (e.g. ``"token"``)."""
        return kind + ":" + hashlib.sha256(credential.encode()).hexdigest()

    def get(self, key: str) -> Principal | None:
        """The principal kept for ``key``, if it is still fresh."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        """Keep ``principal`` for ``key`` for the next :attr:`ttl_s` seconds."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_s, principal)


class SessionUser(UserMixin):
    """The logged-in user of a session (Flask-Login), carrying their principal."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        return str(self.principal.user_id)


def check_auth_off(host: str, *, proxy_hops: int = 0) -> None:
    """``GCRM_AUTH=off`` is for one person on their own machine: refuse any other host, and
    any reverse proxy in front (it would pass the whole network through to the local port).

    Raises
    ------
    ConfigurationError
        When ``host`` is not 127.0.0.1, localhost or ::1, or ``proxy_hops`` is not 0.
    """
    if host not in _LOCAL_HOSTS:
        msg = (
            f"GCRM_AUTH=off with --host {host}: without login the server may only listen on "
            "127.0.0.1 or localhost; bind there, or turn login on (unset GCRM_AUTH)"
        )
        raise ConfigurationError(msg)
    if proxy_hops:
        msg = (
            f"GCRM_AUTH=off with GCRM_PROXY_HOPS={proxy_hops}: a reverse proxy would let the "
            "network in without login; unset GCRM_PROXY_HOPS, or turn login on (unset GCRM_AUTH)"
        )
        raise ConfigurationError(msg)


def current_request_principal() -> Principal | None:
    """The principal of the current request (None: nobody logged in)."""
    principal = flask.g.get("gcrm_principal")
    return principal if isinstance(principal, Principal) else None


def require(permission: str) -> Principal:
    """The request's principal when it has ``permission``.

    Raises
    ------
    Unauthorized
        When nobody is logged in and no valid token was sent (401).
    Forbidden
        When the principal's role lacks ``permission`` (403).
    """
    principal = current_request_principal()
    if principal is None:
        msg = (
            "no valid credentials: send `Authorization: Bearer TOKEN` (gcrm tokens create "
            "NAME) or log in at /login"
        )
        raise Unauthorized(msg)
    if not principal.can(permission):
        msg = f"user {principal.name!r} (role {principal.role}) may not {permission.replace('_', ' ')}"
        raise Forbidden(msg)
    return principal


def _bearer_token() -> str | None:
    header = flask.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _resolve(services: Services, cache: PrincipalCache) -> Principal | None:
    if services.settings.auth == "off":
        return LOCAL
    token = _bearer_token()
    if token is not None:
        key = cache.key("token", token)
        principal = cache.get(key)
        if principal is None:
            with services.owner.begin() as conn:
                principal = principal_of_token(conn, token)
            if principal is not None:
                cache.put(key, principal)
        return principal
    if current_user.is_authenticated:
        return current_user.principal
    return None


def install_principals(server: flask.Flask, services: Services) -> LoginManager:
    """Resolve every request's principal and run the request as them.

    Also sets up Flask-Login (sessions reload the user, so a disabled user is out at their
    next request) with a session cookie that is HttpOnly, SameSite=Lax and, unless
    ``cookie_secure`` is off, Secure; a login session ends after :data:`SESSION_IDLE`
    without a request.
    """
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=services.settings.cookie_secure,
        SESSION_COOKIE_NAME="gcrm_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=services.settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE,
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    manager = LoginManager(server)
    cache = PrincipalCache()

    @manager.user_loader
    def _load(user_id: str) -> SessionUser | None:
        if not user_id.isdigit():
            return None
        # Read on every request: a disabled user is out at their next click.
        with services.owner.connect() as conn:
            principal = load_principal(conn, int(user_id))
        return SessionUser(principal) if principal is not None else None

    @server.before_request
    def _enter() -> None:
        principal = _resolve(services, cache)
        flask.g.gcrm_principal = principal
        context = act_as(principal)
        context.__enter__()
        flask.g.gcrm_act_as = context

    @server.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        context: Any = flask.g.pop("gcrm_act_as", None)
        if context is not None:
            context.__exit__(None, None, None)

    return manager
