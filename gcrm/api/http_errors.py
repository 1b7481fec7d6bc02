"""One table from exception to HTTP status, and the JSON error body."""

from __future__ import annotations

from flask import Response, jsonify
from sqlalchemy.exc import OperationalError

from gcrm.core import (
    ConfigurationError,
    CRSMismatchError,
    DatabaseError,
    GcrmError,
    GeocodingError,
    NotFoundError,
    ValidationError,
)

__all__ = ["STATUS_BY_ERROR", "error_response", "status_of"]

#: Exception type -> HTTP status; the most specific class in an exception's MRO wins.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    ValidationError: 400,
    CRSMismatchError: 400,
    NotFoundError: 404,
    GeocodingError: 422,
    DatabaseError: 503,
    ConfigurationError: 503,
    OperationalError: 503,
    GcrmError: 500,
}


def status_of(exc: BaseException) -> int:
    """HTTP status of ``exc`` from :data:`STATUS_BY_ERROR` (500 when not listed)."""
    for klass in type(exc).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 500


def error_response(exc: BaseException) -> tuple[Response, int]:
    """``{"error": message}`` with the status of ``exc``."""
    status = status_of(exc)
    message = str(exc) if isinstance(exc, GcrmError) else "the database cannot be reached"
    return jsonify({"error": message}), status
