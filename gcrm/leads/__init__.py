"""Prospecting: leads near an address, a customer or a point (also as GeoJSON text built by
PostgreSQL, for the API), and call-list exports."""

from gcrm.leads.export import EXPORT_FORMATS, export_leads, with_origin
from gcrm.leads.geojson import NearbyGeoJSON, nearby_geojson
from gcrm.leads.listing import format_lead_table
from gcrm.leads.search import MAX_LIMIT, Origin, find_nearby_leads, resolve_origin

__all__ = [
    "EXPORT_FORMATS",
    "MAX_LIMIT",
    "NearbyGeoJSON",
    "Origin",
    "export_leads",
    "find_nearby_leads",
    "format_lead_table",
    "nearby_geojson",
    "resolve_origin",
    "with_origin",
]
