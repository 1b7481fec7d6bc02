"""Routing on the road network: drive time to the nearest branch, catchments, flows."""

from gcrm.routing.catchments import CATCHMENT_BUFFER_M, branch_catchments, catchment
from gcrm.routing.drive import (
    ACCESS_SPEED_KMH,
    DRIVE_TIME_STAGES,
    compute_drive_times,
    drive_times_to_branches,
)
from gcrm.routing.flows import FLOW_COLUMNS, origin_destination_flows
from gcrm.routing.graph import DEFAULT_SPEED_KMH, RoadGraph, build_road_graph
from gcrm.routing.store import read_road_graph, roads_stamp

__all__ = [
    "ACCESS_SPEED_KMH",
    "CATCHMENT_BUFFER_M",
    "DEFAULT_SPEED_KMH",
    "DRIVE_TIME_STAGES",
    "FLOW_COLUMNS",
    "RoadGraph",
    "branch_catchments",
    "build_road_graph",
    "catchment",
    "compute_drive_times",
    "drive_times_to_branches",
    "origin_destination_flows",
    "read_road_graph",
    "roads_stamp",
]
