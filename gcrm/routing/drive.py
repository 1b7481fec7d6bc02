"""Drive time from every customer and lead to its nearest branch.

One multi-source Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``) runs
from all branches at once on the reversed road graph, so it yields, for every node, the time
to drive *to* the nearest branch and which branch that is. Points join the network at their
nearest node (KD-tree); the straight line between a point and its node, and between a branch
and its node, is covered at :data:`ACCESS_SPEED_KMH` (walking to the car, finding a parking
space: slower than any road). Each branch enters the search as a virtual node linked to its
road node by that access time, so two branches on one node still differ.

The search ran faster in scipy than in pgRouting or networkx on the same graph (see
``docs/benchmarks.md``, "Drive time and catchments"), so gcrm computes drive times in Python
next to the graph read from PostGIS (stored there once per roads import, see
:mod:`gcrm.routing.graph_store`). This module returns them; :mod:`gcrm.enrich.drive_times`
writes them into each entity's enrichment table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.routing.graph import RoadGraph

__all__ = ["ACCESS_SPEED_KMH", "drive_times_to_branches", "read_branch_points"]

#: Speed (km/h) over the straight line between a point and the road node it snaps to.
ACCESS_SPEED_KMH = 15.0


def _access_seconds(distance_m: np.ndarray, access_speed_kmh: float) -> np.ndarray:
    return distance_m / (access_speed_kmh / 3.6)


def _with_branch_sources(
    graph: RoadGraph, branch_nodes: np.ndarray, egress_s: np.ndarray
) -> sp.csr_matrix:
    """The reversed graph plus one virtual node per branch, linked to its road node."""
    rev = graph.reversed
    n, k = graph.n_nodes, len(branch_nodes)
    indptr = np.concatenate([rev.indptr, rev.indptr[-1] + np.arange(1, k + 1)])
    indices = np.concatenate([rev.indices, branch_nodes]).astype(rev.indices.dtype)
    data = np.concatenate([rev.data, egress_s])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def drive_times_to_branches(
    graph: RoadGraph,
    points_xy: np.ndarray,
    branches_xy: np.ndarray,
    *,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each point to its nearest branch by road, and that branch's index.

    Parameters
    ----------
    graph
        The road graph (:func:`gcrm.routing.read_road_graph`).
    points_xy, branches_xy
        ``(n, 2)`` and ``(k, 2)`` arrays of longitude, latitude (EPSG:4326).
    access_speed_kmh
        Speed over the straight line from a point (or branch) to its nearest road node.

    Returns
    -------
    seconds : numpy.ndarray
        Float seconds per point; NaN where no branch can be reached.
    branch_index : numpy.ndarray
        Index into ``branches_xy`` per point; -1 where no branch can be reached.

    Raises
    ------
    ValidationError
        When there is no branch, or ``access_speed_kmh`` is not positive.
    """
    if len(np.asarray(branches_xy).reshape(-1, 2)) == 0:
        msg = "branches_xy is empty; pass at least one branch (import them with `gcrm import branches`)"
        raise ValidationError(msg)
    if not access_speed_kmh > 0:
        msg = f"access_speed_kmh={access_speed_kmh!r} must be positive, e.g. 15"
        raise ValidationError(msg)
    branch_nodes, branch_m = graph.snap(branches_xy)
    point_nodes, point_m = graph.snap(points_xy)
    search = _with_branch_sources(graph, branch_nodes, _access_seconds(branch_m, access_speed_kmh))
    sources = graph.n_nodes + np.arange(len(branch_nodes))
    dist, _, source = dijkstra(
        search, directed=True, indices=sources, min_only=True, return_predecessors=True
    )
    seconds = dist[point_nodes] + _access_seconds(point_m, access_speed_kmh)
    reached = np.isfinite(seconds)
    branch = np.where(reached, source[point_nodes] - graph.n_nodes, -1).astype(np.int64)
    return np.where(reached, seconds, np.nan), branch


def read_branch_points(conn: Connection) -> pd.DataFrame:
    """Branches as ``code``, ``name``, ``lon``, ``lat`` (ordered by code).

    Raises
    ------
    NotFoundError
        When ``gcrm.branches`` is empty.
    """
    result = conn.execute(
        text(
            "SELECT code, name, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gcrm.branches "
            "ORDER BY code"
        )
    )
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if frame.empty:
        msg = "gcrm.branches has no branches; import them with `gcrm import branches branches.csv`"
        raise NotFoundError(msg)
    return frame
