"""Prospecting: leads near an address, a customer or a point, and call-list exports."""

from gcrm.leads.export import EXPORT_FORMATS, export_leads
from gcrm.leads.search import Origin, find_nearby_leads, resolve_origin

__all__ = ["EXPORT_FORMATS", "Origin", "export_leads", "find_nearby_leads", "resolve_origin"]
