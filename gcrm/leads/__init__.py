"""Prospecting: leads near an address, a customer or a point (also as GeoJSON text built by
PostgreSQL, for the API), by drive time, inside a polygon or an area, filtered by score and
by being a customer already, and call-list exports."""

from gcrm.leads.export import (
    EXPORT_FORMATS,
    LEAD_PERSONAL_FIELDS,
    SCORE_COLUMNS,
    export_leads,
    with_origin,
    with_scores,
)
from gcrm.leads.filtered import (
    MAX_DRIVE_MINUTES,
    find_leads_by_drive_time,
    find_leads_within,
    read_polygon,
)
from gcrm.leads.geojson import NearbyGeoJSON, drive_time_geojson, nearby_geojson, within_geojson
from gcrm.leads.listing import format_lead_table
from gcrm.leads.query import CUSTOMER_MODES, SORTS
from gcrm.leads.search import MAX_LIMIT, Origin, find_nearby_leads, resolve_origin

__all__ = [
    "CUSTOMER_MODES",
    "EXPORT_FORMATS",
    "LEAD_PERSONAL_FIELDS",
    "MAX_DRIVE_MINUTES",
    "MAX_LIMIT",
    "NearbyGeoJSON",
    "Origin",
    "SORTS",
    "drive_time_geojson",
    "SCORE_COLUMNS",
    "export_leads",
    "find_leads_by_drive_time",
    "find_leads_within",
    "find_nearby_leads",
    "format_lead_table",
    "nearby_geojson",
    "read_polygon",
    "resolve_origin",
    "with_origin",
    "with_scores",
    "within_geojson",
]
