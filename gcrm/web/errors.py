"""One JSON shape for every error of the API: ``{"error": message, "status": code}``.

One table from exception to HTTP status (:data:`STATUS_BY_ERROR`); library errors keep their
message, which names the argument, the value and the fix.
"""

from __future__ import annotations

from flask import Response, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from gcrm.core import (
    ConfigurationError,
    CRSMismatchError,
    DatabaseError,
    GcrmError,
    GeocodingError,
    NotFoundError,
    ValidationError,
)

__all__ = [
    "STATUS_BY_ERROR",
    "Forbidden",
    "TooManyRequests",
    "Unauthorized",
    "error_body",
    "error_response",
    "status_of",
]


class Unauthorized(GcrmError):
    """No valid credentials (401)."""


class Forbidden(GcrmError):
    """Credentials, but not the permission (403)."""


class TooManyRequests(GcrmError):
    """Over the rate limit of the route (429)."""


#: Exception type -> HTTP status; the most specific class in an exception's MRO wins.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    ValidationError: 400,
    CRSMismatchError: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFoundError: 404,
    GeocodingError: 422,
    TooManyRequests: 429,
    DatabaseError: 503,
    ConfigurationError: 503,
    OperationalError: 503,
    GcrmError: 500,
}


def status_of(exc: BaseException) -> int:
    """HTTP status of ``exc`` from :data:`STATUS_BY_ERROR` (500 when not listed)."""
    if isinstance(exc, HTTPException) and exc.code is not None:
        return exc.code
    for klass in type(exc).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 500


def error_body(message: str, status: int) -> dict[str, object]:
    """The body of every error: ``{"error": message, "status": status}``."""
    return {"error": message, "status": status}


def error_response(exc: BaseException) -> tuple[Response, int]:
    """The JSON response for ``exc``; a database outage is a 503 that names no internals."""
    status = status_of(exc)
    if isinstance(exc, GcrmError):
        message = str(exc)
    elif isinstance(exc, DBAPIError) and exc.connection_invalidated or status == 503:
        message = "the database cannot be reached; try again shortly"
    elif isinstance(exc, HTTPException):
        message = exc.description or exc.name
    else:
        message = "internal error; the server log has the details"
    response = jsonify(error_body(message, status))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gcrm"'
    return response, status
