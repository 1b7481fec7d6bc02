"""Error types. Every message names the argument, the bad value and the fix."""

from __future__ import annotations

__all__ = [
    "CRSMismatchError",
    "ConfigurationError",
    "DatabaseError",
    "GcrmError",
    "GeocodingError",
    "NotFoundError",
    "ValidationError",
]


class GcrmError(Exception):
    """Base class of every error gcrm raises on purpose."""


class ConfigurationError(GcrmError):
    """A setting is missing or wrong."""


class ValidationError(GcrmError, ValueError):
    """Input (a file, a column, an argument) failed validation."""


class NotFoundError(GcrmError, LookupError):
    """A named thing (customer, area, level, measure) does not exist."""


class GeocodingError(GcrmError):
    """An address could not be geocoded as asked."""


class CRSMismatchError(GcrmError, ValueError):
    """Geometry came in a CRS other than the one expected, or with none."""


class DatabaseError(GcrmError):
    """The database cannot be reached or is not set up."""
