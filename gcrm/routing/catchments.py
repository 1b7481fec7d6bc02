"""Drive-time catchments: the area from which a place is reached within so many minutes, or
the area reached from it.

A catchment is computed with one Dijkstra bounded by the time limit (``limit=``) so only the
reached part of the network is searched: on the reversed road graph for the drive *to* the
origin (``direction="to"``, like :func:`gcrm.routing.drive_times_to_branches`: a branch's
customers come to it), on the road graph as it is for the drive *from* the origin
(``direction="from"``, like :func:`gcrm.leads.find_leads_by_drive_time`: a rep sets out).
The two differ where one-way streets make the way out not the way back. Its shape is the
union of the reached road pieces, buffered by :data:`CATCHMENT_BUFFER_M`: every edge whose
far end is reached in time, plus the reachable fraction of each edge that leaves the
reached set (cut where the time runs out). A buffered street network follows the roads (no bridging across
water or parks without streets, which a concave hull of the nodes would do) and grows
monotonically with the time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.ndimage import binary_dilation
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.routing.drive import ACCESS_SPEED_KMH, read_branch_points
from gcrm.routing.graph import RoadGraph
from gcrm.routing.graph_store import read_road_graph

__all__ = ["CATCHMENT_BUFFER_M", "CATCHMENT_DIRECTIONS", "branch_catchments", "catchment"]

#: Half-width (m) of the band drawn around the reached streets: about half a city block, so
#: the buildings along a reached street fall inside.
CATCHMENT_BUFFER_M = 60.0
#: Raster cells across one buffer width: the outline follows the streets to buffer / 2.
CELLS_PER_BUFFER = 2
#: ``direction=`` values: drive to the origin, or from it.
CATCHMENT_DIRECTIONS = ("to", "from")


def _check_minutes(minutes: float) -> float:
    if not np.isfinite(minutes) or minutes <= 0:
        msg = f"minutes={minutes!r} must be a positive number, e.g. 10"
        raise ValidationError(msg)
    return float(minutes)


def _check_direction(direction: str) -> str:
    if direction not in CATCHMENT_DIRECTIONS:
        msg = (
            f"direction={direction!r} is not one of {list(CATCHMENT_DIRECTIONS)}; 'to' is the "
            "drive to the origin (a branch's catchment), 'from' the drive out of it (a rep's "
            "reach)"
        )
        raise ValidationError(msg)
    return direction


def _search_matrix(graph: RoadGraph, direction: str) -> sp.csr_matrix:
    """The graph a search of ``direction`` runs on: edges turned round for the drive *to*
    the origin, as they are for the drive *from* it."""
    return graph.reversed if direction == "to" else graph.matrix


def _times_to(
    graph: RoadGraph, origin_xy: Sequence[float], limit_s: float, *, direction: str = "to"
) -> np.ndarray:
    """Seconds from every node to the origin (``direction="to"``) or from the origin to
    every node (``"from"``), inf beyond ``limit_s``, access leg included."""
    node, distance_m = graph.snap(np.asarray(origin_xy, dtype=float).reshape(1, 2))
    access_s = float(distance_m[0]) / (ACCESS_SPEED_KMH / 3.6)
    remaining = limit_s - access_s
    if remaining < 0:
        return np.full(graph.n_nodes, np.inf)
    search = _search_matrix(graph, direction)
    return dijkstra(search, directed=True, indices=int(node[0]), limit=remaining) + access_s


def _reached_pieces(
    graph: RoadGraph, seconds: np.ndarray, limit_s: float, *, direction: str = "to"
) -> np.ndarray:
    """Reached road pieces as ``(m, 2, 2)`` metric segments for node times and the limit."""
    # Edges of the search's graph run from a reached node ``a`` towards ``b`` (the driver
    # goes b -> a on the reversed graph, a -> b on the graph as it is); either way the part
    # of the edge within (limit - t[a]) seconds of ``a`` is in reach.
    search = _search_matrix(graph, direction)
    a = np.repeat(np.arange(graph.n_nodes), np.diff(search.indptr))
    t_a = seconds[a]
    keep = np.isfinite(t_a) & (t_a <= limit_s)
    a, b, cost, t_a = a[keep], search.indices[keep], search.data[keep], t_a[keep]
    share = np.clip((limit_s - t_a) / np.maximum(cost, 1e-9), 0.0, 1.0)
    start = graph.node_xy[a]
    end = start + share[:, None] * (graph.node_xy[b] - start)
    return np.stack([start, end], axis=1)[share > 0]


def catchment(
    graph: RoadGraph,
    *,
    origin_xy: Sequence[float],
    minutes: float,
    buffer_m: float = CATCHMENT_BUFFER_M,
    direction: str = "to",
) -> Polygon | BaseGeometry:
    """The area (EPSG:4326) from which ``origin_xy`` is reached by road within ``minutes``,
    or with ``direction="from"`` the area reached from it.

    Parameters
    ----------
    graph
        The road graph (:func:`gcrm.routing.read_road_graph`).
    origin_xy
        Longitude, latitude of the place (a branch, or where a search starts).
    minutes
        The time limit, access leg at :data:`gcrm.routing.ACCESS_SPEED_KMH` included.
    buffer_m
        Half-width of the band around the reached streets.
    direction
        ``"to"``: the drive to the origin (a branch's customers coming to it; the edges
        followed backwards). ``"from"``: the drive out of the origin, one-way streets taken
        the way they run, as :func:`gcrm.leads.find_leads_by_drive_time` times its leads.

    Returns
    -------
    shapely Polygon or MultiPolygon
        Empty when even the origin's nearest road is farther than the limit.

    Raises
    ------
    ValidationError
        When ``minutes`` is not a positive number or ``direction`` is not one of
        :data:`CATCHMENT_DIRECTIONS`.
    """
    limit_s = 60.0 * _check_minutes(minutes)
    _check_direction(direction)
    seconds = _times_to(graph, origin_xy, limit_s, direction=direction)
    return _polygon(graph, seconds, limit_s, buffer_m=buffer_m, direction=direction)


def _sample(segments: np.ndarray, step_m: float) -> np.ndarray:
    """Points along each segment, at most ``step_m`` apart, ends included."""
    length = np.hypot(*(segments[:, 1] - segments[:, 0]).T)
    k = np.maximum(np.ceil(length / step_m).astype(np.int64), 1)
    piece = np.repeat(np.arange(len(segments)), k + 1)
    frac = (np.arange(len(piece)) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)) / k[piece]
    return segments[piece, 0] + frac[:, None] * (segments[piece, 1] - segments[piece, 0])


def _mask_polygon(mask: np.ndarray, x0: float, y0: float, cell_m: float) -> BaseGeometry:
    """The cells set in ``mask`` as one polygon: row runs become boxes, then a coverage union."""
    padded = np.pad(mask, ((0, 0), (1, 1))).astype(np.int8)
    edges = np.diff(padded, axis=1)
    row_s, col_s = np.nonzero(edges == 1)
    _, col_e = np.nonzero(edges == -1)
    boxes = shapely.box(
        x0 + col_s * cell_m, y0 + row_s * cell_m, x0 + col_e * cell_m, y0 + (row_s + 1) * cell_m
    )
    # Boxes of one grid never overlap: a coverage union is exact and much faster than
    # union_all. Cells that touch only at a corner leave a self-touching ring, which a
    # zero-width buffer splits into valid polygons.
    return shapely.buffer(shapely.coverage_union_all(boxes), 0.0)


def _polygon(
    graph: RoadGraph, seconds: np.ndarray, limit_s: float, *, buffer_m: float, direction: str = "to"
) -> BaseGeometry:
    reached = np.isfinite(seconds) & (seconds <= limit_s)
    if not reached.any():
        return Polygon()
    cell_m = buffer_m / CELLS_PER_BUFFER
    segments = _reached_pieces(graph, seconds, limit_s, direction=direction)
    points = np.vstack([graph.node_xy[reached], _sample(segments, cell_m)])
    # The grid is anchored at multiples of the cell size, so the catchments of one origin at
    # two limits are drawn on one grid and nest.
    x0, y0 = (np.floor(points.min(axis=0) / cell_m) - CELLS_PER_BUFFER - 1) * cell_m
    col = ((points[:, 0] - x0) // cell_m).astype(np.int64)
    row = ((points[:, 1] - y0) // cell_m).astype(np.int64)
    size = (row.max() + CELLS_PER_BUFFER + 2, col.max() + CELLS_PER_BUFFER + 2)
    mask = np.zeros(size, dtype=bool)
    mask[row, col] = True
    disk = (
        np.hypot(
            *np.mgrid[
                -CELLS_PER_BUFFER : CELLS_PER_BUFFER + 1, -CELLS_PER_BUFFER : CELLS_PER_BUFFER + 1
            ]
        )
        <= CELLS_PER_BUFFER
    )
    mask = binary_dilation(mask, structure=disk)
    area = shapely.simplify(_mask_polygon(mask, x0, y0, cell_m), cell_m / 2)
    return shapely.set_coordinates(area, graph.to_storage(shapely.get_coordinates(area)))


def branch_catchments(
    conn: Connection,
    *,
    minutes: Sequence[float] = (5, 10, 15),
    graph: RoadGraph | None = None,
    on_branch: Callable[[str], None] | None = None,
) -> gpd.GeoDataFrame:
    """Catchments of every branch at every time limit, from ``gcrm.roads`` and ``gcrm.branches``.

    Parameters
    ----------
    minutes
        Time limits; one Dijkstra per branch, bounded by the largest.
    graph
        A graph already read; by default it is read from ``gcrm.roads``.
    on_branch
        Called with each branch code before it is computed (progress bars).

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name``, ``minutes``, ``area_km2``, geometry (EPSG:4326); one row per branch
        and limit, ordered by code then minutes.
    """
    limits = sorted({_check_minutes(float(m)) for m in minutes})
    if not limits:
        msg = "minutes is empty; pass at least one limit, e.g. (5, 10, 15)"
        raise ValidationError(msg)
    branches = read_branch_points(conn)
    graph = graph if graph is not None else read_road_graph(conn)
    rows = []
    # One search per branch (a handful), each reused for every limit.
    for branch in branches.itertuples(index=False):
        if on_branch is not None:
            on_branch(branch.code)
        seconds = _times_to(graph, (branch.lon, branch.lat), 60.0 * limits[-1])
        for limit in limits:
            area = _polygon(graph, seconds, 60.0 * limit, buffer_m=CATCHMENT_BUFFER_M)
            rows.append((branch.code, branch.name, limit, area))
    frame = pd.DataFrame(rows, columns=["code", "name", "minutes", "geometry"])
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS)
    gdf.insert(3, "area_km2", (gdf.to_crs(graph.crs).area / 1e6).round(3))
    return gdf
