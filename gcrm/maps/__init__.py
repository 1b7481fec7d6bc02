"""Folium maps that render offline: region choropleths with points, territory maps."""

from gcrm.maps.data import read_areas
from gcrm.maps.offline import external_references, render_offline, save_offline
from gcrm.maps.region import (
    build_region_map,
    build_territory_map,
    make_region_map,
    make_territory_map,
    measure_values,
)

__all__ = [
    "build_region_map",
    "build_territory_map",
    "external_references",
    "make_region_map",
    "make_territory_map",
    "measure_values",
    "read_areas",
    "render_offline",
    "save_offline",
]
