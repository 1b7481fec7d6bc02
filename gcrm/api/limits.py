"""Rate limits per token on the expensive routes (flask-limiter).

One :class:`RouteLimits` per blueprint: ``limits.limit(view)`` wraps any view (batch
geocoding today; drive-time searches as they come) in the limit of ``Settings.rate_limit``,
counted per API token, per user for a login session, else per client address, in the storage
of ``Settings.rate_limit_storage`` (``memory://`` counts per worker process). Over the limit a
request answers 429 in the one JSON error shape, with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse

from gcrm.core import ConfigurationError, Settings
from gcrm.web import TooManyRequests, current_request_principal, error_response

__all__ = ["RouteLimits", "rate_limit_key"]

F = TypeVar("F", bound=Callable[..., Any])


def rate_limit_key() -> str:
    """Whose requests count together: the bearer token's, a session user's, else the
    client address's (behind a proxy, ``Settings.proxy_hops`` makes that the real client)."""
    principal = current_request_principal()
    header = flask.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if principal is not None and scheme.lower() == "bearer" and token.strip():
        # The token's digest, not the token: keys may sit in a shared store (redis).
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    if principal is not None and principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"address:{flask.request.remote_addr or 'unknown'}"


class RouteLimits:
    """The rate limit of the expensive routes of one blueprint.

    Parameters
    ----------
    settings
        ``rate_limit`` (e.g. ``"120/minute"``) and ``rate_limit_storage`` (a ``limits``
        storage URI).

    Raises
    ------
    ConfigurationError
        When ``rate_limit`` is not a rate such as ``120/minute``.
    """

    def __init__(self, settings: Settings) -> None:
        try:
            parse(settings.rate_limit)
        except ValueError:
            msg = (
                f"GCRM_RATE_LIMIT={settings.rate_limit!r} is not a rate; write N/second, "
                "N/minute or N/hour, e.g. 120/minute"
            )
            raise ConfigurationError(msg) from None
        self.rate = settings.rate_limit
        self.limiter = Limiter(
            rate_limit_key,
            storage_uri=settings.rate_limit_storage,
            strategy="moving-window",
            key_prefix="gcrm-api",
        )

    def init_app(self, app: flask.Flask) -> None:
        """Attach the limiter to the app the blueprint is registered on."""
        self.limiter.init_app(app)

    def limit(self, view: F) -> F:
        """``view`` under the rate limit (per token, user or address)."""
        return cast(F, self.limiter.limit(self.rate, key_func=rate_limit_key)(view))

    def exceeded(self, exc: RateLimitExceeded) -> tuple[flask.Response, int]:
        """The 429 answer: the one error shape, and ``Retry-After`` in seconds."""
        retry_s = 1
        current = self.limiter.current_limit
        if current is not None:
            retry_s = max(1, math.ceil(current.window[0] - time.time()))
        msg = (
            f"rate limit {self.rate} exceeded for {flask.request.method} {flask.request.path} "
            f"(counted per API token); retry after {retry_s} s, or ask an admin to raise "
            "GCRM_RATE_LIMIT"
        )
        response, status = error_response(TooManyRequests(msg))
        response.headers["Retry-After"] = str(retry_s)
        return response, status
