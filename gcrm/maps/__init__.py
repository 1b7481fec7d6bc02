"""Maps that render offline: region choropleths with points, territory, flow and catchment
maps (folium), and what the dashboard draws: one classification (mapclassify), one palette
set and one number format for every surface."""

from gcrm.maps.catchment_map import build_catchment_map, make_catchment_map
from gcrm.maps.classify import SCHEMES, Classes, classify_values
from gcrm.maps.flow_map import FLOW_WEIGHTS, build_flow_map, flow_lines, make_flow_map
from gcrm.maps.hotspot_map import HOTSPOT_COLOURS, build_hotspot_map, make_hotspot_map
from gcrm.maps.offline import external_references, render_offline, save_offline
from gcrm.maps.region import (
    build_region_map,
    build_territory_map,
    make_region_map,
    make_territory_map,
    measure_values,
)
from gcrm.maps.sources import (
    MAX_POINTS,
    area_geojson,
    point_geojson,
    point_name,
    points_in_view,
    read_areas,
    read_branches,
    read_customer_points,
    read_lead_points,
)
from gcrm.maps.style import (
    NO_DATA_COLOUR,
    OTHER_COLOUR,
    PRECISION_COLOURS,
    STATUS_COLOURS,
    format_value,
    is_share,
)

__all__ = [
    "MAX_POINTS",
    "FLOW_WEIGHTS",
    "HOTSPOT_COLOURS",
    "NO_DATA_COLOUR",
    "OTHER_COLOUR",
    "PRECISION_COLOURS",
    "SCHEMES",
    "STATUS_COLOURS",
    "Classes",
    "area_geojson",
    "build_catchment_map",
    "build_flow_map",
    "build_hotspot_map",
    "build_region_map",
    "build_territory_map",
    "classify_values",
    "external_references",
    "flow_lines",
    "format_value",
    "is_share",
    "make_catchment_map",
    "make_flow_map",
    "make_hotspot_map",
    "make_region_map",
    "make_territory_map",
    "measure_values",
    "point_geojson",
    "point_name",
    "points_in_view",
    "read_areas",
    "read_branches",
    "read_customer_points",
    "read_lead_points",
    "render_offline",
    "save_offline",
]
