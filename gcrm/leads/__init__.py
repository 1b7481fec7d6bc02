"""Prospecting: leads near an address, a customer or a point (also as GeoJSON text built by
PostgreSQL, for the API), by drive time, inside a polygon or an area, and call-list exports."""

from gcrm.leads.export import EXPORT_FORMATS, export_leads, with_origin
from gcrm.leads.filtered import (
    MAX_DRIVE_MINUTES,
    find_leads_by_drive_time,
    find_leads_within,
    read_polygon,
)
from gcrm.leads.geojson import NearbyGeoJSON, nearby_geojson
from gcrm.leads.listing import format_lead_table
from gcrm.leads.search import MAX_LIMIT, Origin, find_nearby_leads, resolve_origin

__all__ = [
    "EXPORT_FORMATS",
    "MAX_DRIVE_MINUTES",
    "MAX_LIMIT",
    "NearbyGeoJSON",
    "Origin",
    "export_leads",
    "find_leads_by_drive_time",
    "find_leads_within",
    "find_nearby_leads",
    "format_lead_table",
    "nearby_geojson",
    "read_polygon",
    "resolve_origin",
    "with_origin",
]
