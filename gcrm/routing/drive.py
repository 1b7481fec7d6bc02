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
:mod:`gcrm.routing.store`), and writes them into each entity's enrichment table with COPY and
one upsert.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, text

from gcrm.core import POINT_ENTITIES, NotFoundError, PointEntity, ValidationError
from gcrm.routing.graph import RoadGraph
from gcrm.routing.store import read_road_graph
from gcrm.store import copy_frame

__all__ = [
    "ACCESS_SPEED_KMH",
    "DRIVE_TIME_ENTITIES",
    "DRIVE_TIME_STAGES",
    "can_compute_drive_times",
    "compute_drive_times",
    "drive_times_to_branches",
    "read_branch_points",
]

#: Speed (km/h) over the straight line between a point and the road node it snaps to.
ACCESS_SPEED_KMH = 15.0
DRIVE_TIME_ENTITIES = {name: e.view for name, e in POINT_ENTITIES.items()}
#: Stage labels passed to ``on_stage``: one graph, then per entity: points, search, write.
DRIVE_TIME_STAGES = ("read road graph", "read points", "search", "write")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


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


def _read_points(
    conn: Connection, table: str, *, only_missing: bool, todo: str | None
) -> pd.DataFrame:
    where = "geom IS NOT NULL" + (" AND drive_time_s IS NULL" if only_missing else "")
    if todo is not None:
        where += f" AND external_id IN (SELECT external_id FROM {todo})"
    result = conn.execute(
        text(f"SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM {table} WHERE {where}")
    )
    return pd.DataFrame(result.fetchall(), columns=["external_id", "lon", "lat"])


def _clear_unlocated(conn: Connection, entity: PointEntity, *, todo: str | None) -> None:
    """A point that lost its location (geocoding failed after an edit) keeps no drive time."""
    only = f" AND r.external_id IN (SELECT external_id FROM {todo})" if todo is not None else ""
    conn.execute(
        text(
            f"UPDATE {entity.enrichment} e SET drive_time_s = NULL, branch_reached = NULL "
            f"FROM {entity.records} r WHERE r.external_id = e.external_id AND r.geom IS NULL "
            f"AND (e.drive_time_s IS NOT NULL OR e.branch_reached IS NOT NULL){only}"
        )
    )


def _check_todo(todo: str | None) -> None:
    if todo is not None and not _IDENTIFIER.fullmatch(todo):
        msg = (
            f"todo={todo!r} is not a table name; pass the name of a (temp) table with an "
            "external_id column, e.g. '_todo'"
        )
        raise ValidationError(msg)


def can_compute_drive_times(conn: Connection) -> bool:
    """True when ``gcrm.roads`` and ``gcrm.branches`` both have rows."""
    return bool(
        conn.execute(
            text("SELECT EXISTS (SELECT FROM gcrm.roads) AND EXISTS (SELECT FROM gcrm.branches)")
        ).scalar_one()
    )


def _write(conn: Connection, entity: PointEntity, frame: pd.DataFrame) -> None:
    """COPY into a staging table, then one set-based upsert of the changed rows.

    A point with no enrichment row yet gets one holding only its drive time (``enriched_at``
    NULL, so ``gcrm enrich`` still computes the rest).
    """
    conn.execute(text("DROP TABLE IF EXISTS _drive_times"))
    conn.execute(
        text(
            "CREATE TEMP TABLE _drive_times (external_id text PRIMARY KEY, "
            "drive_time_s double precision, branch_reached text) ON COMMIT DROP"
        )
    )
    copy_frame(conn, "_drive_times", frame)
    conn.execute(
        text(
            f"INSERT INTO {entity.enrichment} AS t (external_id, drive_time_s, branch_reached, "
            "enriched_at) SELECT external_id, drive_time_s, branch_reached, NULL FROM _drive_times "
            "ON CONFLICT (external_id) DO UPDATE SET drive_time_s = EXCLUDED.drive_time_s, "
            "branch_reached = EXCLUDED.branch_reached WHERE (t.drive_time_s, t.branch_reached) "
            "IS DISTINCT FROM (EXCLUDED.drive_time_s, EXCLUDED.branch_reached)"
        )
    )
    conn.execute(text("DROP TABLE _drive_times"))


def compute_drive_times(
    conn: Connection,
    *,
    entities: Sequence[str] = ("customers", "leads"),
    only_missing: bool = False,
    todo: str | None = None,
    graph: RoadGraph | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write ``drive_time_s`` and ``branch_reached`` for every located customer and lead.

    Runs on ``conn``'s transaction; idempotent (rows whose values do not change are not
    touched). Unreachable points get NULL in both columns.

    Parameters
    ----------
    entities
        ``"customers"`` and/or ``"leads"``.
    only_missing
        Only points whose ``drive_time_s`` is NULL (new, or unreachable last time).
    todo
        Name of a table (e.g. a temp table) with an ``external_id`` column: only those
        points. Combines with ``only_missing``. ``gcrm enrich`` passes its ``_todo`` set.
    graph
        A graph already read; by default :func:`gcrm.routing.read_road_graph` (the stored
        graph, or built from ``gcrm.roads`` and stored).
    on_stage
        Called with a label before each stage (progress bars); see :data:`DRIVE_TIME_STAGES`.

    Returns
    -------
    dict
        Number of points computed per entity.

    Raises
    ------
    ValidationError
        When an entity is unknown, or ``todo`` is not a table name.
    NotFoundError
        When there are no roads or no branches.
    """
    unknown = [e for e in entities if e not in POINT_ENTITIES]
    if unknown:
        msg = f"entities {unknown!r} unknown; use any of {sorted(POINT_ENTITIES)}"
        raise ValidationError(msg)
    _check_todo(todo)
    step = on_stage or (lambda _label: None)
    step(DRIVE_TIME_STAGES[0])
    branches = read_branch_points(conn)
    graph = graph if graph is not None else read_road_graph(conn)
    codes = branches["code"].to_numpy(dtype=object)
    counts: dict[str, int] = {}
    for entity in entities:
        ent = POINT_ENTITIES[entity]
        step(f"{entity}: {DRIVE_TIME_STAGES[1]}")
        _clear_unlocated(conn, ent, todo=todo)
        points = _read_points(conn, ent.view, only_missing=only_missing, todo=todo)
        step(f"{entity}: {DRIVE_TIME_STAGES[2]}")
        seconds, branch = drive_times_to_branches(
            graph, points[["lon", "lat"]].to_numpy(dtype=float), branches[["lon", "lat"]].to_numpy()
        )
        step(f"{entity}: {DRIVE_TIME_STAGES[3]}")
        result = pd.DataFrame(
            {
                "external_id": points["external_id"],
                "drive_time_s": seconds,
                "branch_reached": np.where(branch >= 0, codes[np.maximum(branch, 0)], None),
            }
        )
        _write(conn, ent, result)
        counts[entity] = len(result)
    return counts
