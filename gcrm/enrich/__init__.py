"""Enrichment: the one writer of the ``*_enrichment`` tables.

Area code at every level, zoning class, distance to the nearest business park, nearest road
and drive time to the nearest branch, for every customer and lead; each lead's nearest
road node and access leg, for the drive-time search.
"""

from gcrm.enrich.drive_times import DRIVE_TIME_STAGES, can_compute_drive_times, compute_drive_times
from gcrm.enrich.points import (
    ENTITIES,
    VECTOR_THRESHOLD,
    EnrichReport,
    enrich_points,
    forget_points,
)
from gcrm.enrich.road_access import compute_road_access, has_roads

__all__ = [
    "DRIVE_TIME_STAGES",
    "ENTITIES",
    "VECTOR_THRESHOLD",
    "EnrichReport",
    "can_compute_drive_times",
    "compute_drive_times",
    "compute_road_access",
    "enrich_points",
    "forget_points",
    "has_roads",
]
