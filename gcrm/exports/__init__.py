"""Exports: customer and lead lists with their enrichment, and area profiles, to the files
people open (CSV, XLSX, GeoJSON, GeoPackage)."""

from gcrm.exports.points import (
    ENRICHMENT_COLUMNS,
    ENTITY_COLUMNS,
    EXPORT_FORMATS,
    export_points,
    read_points,
)
from gcrm.exports.profiles import PROFILE_FORMATS, export_profiles

__all__ = [
    "ENRICHMENT_COLUMNS",
    "ENTITY_COLUMNS",
    "EXPORT_FORMATS",
    "PROFILE_FORMATS",
    "export_points",
    "export_profiles",
    "read_points",
]
