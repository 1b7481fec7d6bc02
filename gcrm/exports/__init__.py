"""Exports: customer and lead lists with their enrichment, and area profiles, to the files
people open (CSV, XLSX, GeoJSON, GeoPackage)."""

from gcrm.exports.point_lists import (
    ENRICHMENT_COLUMNS,
    ENTITY_COLUMNS,
    EXPORT_FORMATS,
    TERRITORY_COLUMNS,
    export_points,
    read_points,
)
from gcrm.exports.profile_tables import PROFILE_FORMATS, export_profiles

__all__ = [
    "ENRICHMENT_COLUMNS",
    "ENTITY_COLUMNS",
    "EXPORT_FORMATS",
    "PROFILE_FORMATS",
    "TERRITORY_COLUMNS",
    "export_points",
    "export_profiles",
    "read_points",
]
