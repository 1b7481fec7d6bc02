"""Zoning and building classes: the vocabularies of the zones and buildings layers."""

from __future__ import annotations

__all__ = ["BUILDING_USES", "BUSINESS_PARK_CLASSES", "ZONE_CLASSES"]

#: Zoning / land-use classes of ``gcrm.zones``.
ZONE_CLASSES = ("residential", "commercial", "industrial", "mixed", "other")
#: Zoning classes counted as business parks (``business_park_distance_m``).
BUSINESS_PARK_CLASSES = ("industrial", "commercial")
#: Building uses of ``gcrm.buildings``.
BUILDING_USES = ("residential", "commercial", "industrial", "public", "other")
