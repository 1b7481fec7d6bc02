"""gcrm: a Geographic CRM. Customers, leads and territories on a map, analysed in PostGIS."""

from gcrm.config import Settings, get_settings
from gcrm.errors import (
    ConfigurationError,
    CRSMismatchError,
    DatabaseError,
    GcrmError,
    GeocodingError,
    ValidationError,
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
