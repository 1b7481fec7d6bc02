"""Enrichment: area codes at every level, zoning class and nearest road for every point."""

from gcrm.enrich.points import ENTITIES, VECTOR_THRESHOLD, EnrichReport, enrich_points

__all__ = ["ENTITIES", "VECTOR_THRESHOLD", "EnrichReport", "enrich_points"]
