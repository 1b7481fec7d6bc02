"""gcrm: a Geographic CRM. Customers, leads and territories on a map, analysed in PostGIS."""

from gcrm.core import (
    ConfigurationError,
    CRSMismatchError,
    DatabaseError,
    GcrmError,
    GeocodingError,
    Settings,
    ValidationError,
    get_settings,
)

__all__ = [
    "CRSMismatchError",
    "ConfigurationError",
    "DatabaseError",
    "GcrmError",
    "GeocodingError",
    "Settings",
    "ValidationError",
    "get_settings",
]
__version__ = "0.1.0"
