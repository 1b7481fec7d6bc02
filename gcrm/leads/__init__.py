"""Prospecting: leads near an address, a customer or a point, and call-list exports."""

from gcrm.leads.export import EXPORT_FORMATS, export_leads, with_origin
from gcrm.leads.listing import format_lead_table
from gcrm.leads.search import MAX_LIMIT, Origin, find_nearby_leads, resolve_origin

__all__ = [
    "EXPORT_FORMATS",
    "MAX_LIMIT",
    "Origin",
    "export_leads",
    "find_nearby_leads",
    "format_lead_table",
    "resolve_origin",
    "with_origin",
]
