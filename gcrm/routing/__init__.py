"""Routing on the road network: the road graph, drive times to branches, catchments, the
day's visit route.

Routing returns data; it writes only its own tables (the stored road graph). Drive times are
stored with each point's enrichment by :mod:`gcrm.enrich`.
"""

from gcrm.routing.catchments import (
    CATCHMENT_BUFFER_M,
    CATCHMENT_DIRECTIONS,
    branch_catchments,
    catchment,
)
from gcrm.routing.drive import ACCESS_SPEED_KMH, drive_times_to_branches, read_branch_points
from gcrm.routing.graph import DEFAULT_SPEED_KMH, RoadGraph, build_road_graph
from gcrm.routing.graph_store import read_road_graph, roads_stamp
from gcrm.routing.route import (
    MAX_STOPS,
    RoutePlan,
    plan_route,
    route_geojson,
    route_gpx,
    route_matrix,
    route_table,
)

__all__ = [
    "ACCESS_SPEED_KMH",
    "CATCHMENT_BUFFER_M",
    "DEFAULT_SPEED_KMH",
    "CATCHMENT_DIRECTIONS",
    "MAX_STOPS",
    "RoadGraph",
    "RoutePlan",
    "branch_catchments",
    "build_road_graph",
    "catchment",
    "drive_times_to_branches",
    "plan_route",
    "read_branch_points",
    "read_road_graph",
    "roads_stamp",
    "route_geojson",
    "route_gpx",
    "route_matrix",
    "route_table",
]
