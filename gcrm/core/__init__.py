"""Foundations: settings, errors, CRS, and the facts every layer shares, each stated once.

Nothing here imports another gcrm package.
"""

from gcrm.core.config import DEFAULT_DATABASE_URL, Settings, get_settings
from gcrm.core.crs import METRIC_CRS, STORAGE_CRS, STORAGE_SRID, require_crs, to_storage_crs
from gcrm.core.entities import POINT_ENTITIES, PointEntity, point_entity
from gcrm.core.errors import (
    ConfigurationError,
    CRSMismatchError,
    DatabaseError,
    GcrmError,
    GeocodingError,
    NotFoundError,
    ValidationError,
)
from gcrm.core.ids import AREA_ID_HELP, area_id, area_ids, parse_area_id
from gcrm.core.periods import PERIOD_HELP, Period, is_all, parse_period, period_bounds
from gcrm.core.precisions import (
    APPROXIMATE_PRECISIONS,
    FALLBACK_PRECISIONS,
    PRECISIONS,
    check_precisions,
)
from gcrm.core.zoning import BUILDING_USES, BUSINESS_PARK_CLASSES, ZONE_CLASSES

__all__ = [
    "APPROXIMATE_PRECISIONS",
    "AREA_ID_HELP",
    "BUILDING_USES",
    "BUSINESS_PARK_CLASSES",
    "DEFAULT_DATABASE_URL",
    "FALLBACK_PRECISIONS",
    "METRIC_CRS",
    "PERIOD_HELP",
    "POINT_ENTITIES",
    "PRECISIONS",
    "STORAGE_CRS",
    "STORAGE_SRID",
    "ZONE_CLASSES",
    "CRSMismatchError",
    "ConfigurationError",
    "DatabaseError",
    "GcrmError",
    "GeocodingError",
    "NotFoundError",
    "Period",
    "PointEntity",
    "Settings",
    "ValidationError",
    "area_id",
    "area_ids",
    "check_precisions",
    "get_settings",
    "is_all",
    "parse_area_id",
    "parse_period",
    "period_bounds",
    "point_entity",
    "require_crs",
    "to_storage_crs",
]
