"""Maps that render offline: region choropleths with points, territory, flow and catchment
maps (folium), the offline basemap's tiles, and what the dashboard draws: one classification
(mapclassify), one palette set and one number format for every surface."""

from gcrm.maps.catchment_map import build_catchment_map, make_catchment_map
from gcrm.maps.classify import SCHEMES, Classes, classify_values
from gcrm.maps.flow_map import FLOW_WEIGHTS, build_flow_map, flow_lines, make_flow_map
from gcrm.maps.hotspot_map import HOTSPOT_COLOURS, build_hotspot_map, make_hotspot_map
from gcrm.maps.layers import (
    CATCHMENT_MINUTES,
    HEAT_MEASURES,
    branch_geojson,
    catchment_geojson,
    catchment_inputs,
    heat_in_view,
    revenue_per_customer,
)
from gcrm.maps.offline import external_references, render_offline, save_offline
from gcrm.maps.png import PNG_SIZE, render_map_png
from gcrm.maps.region import (
    build_region_map,
    build_territory_map,
    make_region_map,
    make_territory_map,
    measure_values,
)
from gcrm.maps.route_map import ROUTE_FORMATS, build_route_map, route_map_html, write_route
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
from gcrm.maps.tiles import (
    BASEMAP_COLOURS,
    MAX_ZOOM,
    basemap_fingerprint,
    check_tile,
    render_basemap_tile,
)
from gcrm.maps.view_map import build_view_map, render_view_html

__all__ = [
    "CATCHMENT_MINUTES",
    "HEAT_MEASURES",
    "BASEMAP_COLOURS",
    "MAX_POINTS",
    "PNG_SIZE",
    "ROUTE_FORMATS",
    "ROUTE_FORMATS",
    "MAX_ZOOM",
    "FLOW_WEIGHTS",
    "HOTSPOT_COLOURS",
    "NO_DATA_COLOUR",
    "OTHER_COLOUR",
    "PRECISION_COLOURS",
    "SCHEMES",
    "STATUS_COLOURS",
    "Classes",
    "area_geojson",
    "route_map_html",
    "write_route",
    "basemap_fingerprint",
    "branch_geojson",
    "build_catchment_map",
    "build_flow_map",
    "build_hotspot_map",
    "build_region_map",
    "build_route_map",
    "build_territory_map",
    "build_view_map",
    "check_tile",
    "catchment_geojson",
    "catchment_inputs",
    "classify_values",
    "external_references",
    "flow_lines",
    "format_value",
    "heat_in_view",
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
    "render_basemap_tile",
    "render_map_png",
    "render_offline",
    "render_view_html",
    "revenue_per_customer",
    "save_offline",
]
