"""Each lead's nearest road node and access leg, stored for the drive-time search.

A drive-time search from an origin is one bounded Dijkstra on the road graph; a lead's time
is its snapping node's time plus its access leg (the straight line to that node at
:data:`gcrm.routing.ACCESS_SPEED_KMH`, as in :mod:`gcrm.enrich.drive_times`). Both only
change when the lead moves or the graph is rebuilt, so they are computed here, with the
rest of a lead's enrichment, into ``gcrm.lead_road_access`` (migration 0021), and the
search joins the nodes it reached to the leads standing at them in SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.enrich.drive_times import _check_todo
from gcrm.routing import ACCESS_SPEED_KMH, RoadGraph, read_road_graph
from gcrm.store import copy_frame, load_queries

__all__ = ["compute_road_access", "has_roads"]

_SQL = load_queries(__package__, "road_access.sql")


def has_roads(conn: Connection) -> bool:
    """True when ``gcrm.roads`` has a row (the road graph can be built)."""
    return bool(conn.execute(text("SELECT EXISTS (SELECT FROM gcrm.roads)")).scalar_one())


def compute_road_access(
    conn: Connection, *, todo: str | None = None, graph: RoadGraph | None = None
) -> int:
    """Write each located lead's snapping node and access leg into ``gcrm.lead_road_access``.

    Runs on ``conn``'s transaction; idempotent. Marks the table complete for the current
    graph when every located lead has a row for it at its current location (the search
    uses the table only then).

    Parameters
    ----------
    conn
        Connection to the gcrm database (as the owner: it writes).
    todo
        Name of a table with an ``external_id`` column: only those leads (``gcrm enrich``
        passes its ``_todo`` set). Ignored when the stored rows are of another graph: then
        every lead is computed.
    graph
        A graph already read; by default :func:`gcrm.routing.read_road_graph` (the stored
        graph, or built from ``gcrm.roads`` and stored, so that its nodes have ids).

    Returns
    -------
    int
        Number of leads computed.

    Raises
    ------
    ValidationError
        When ``todo`` is not a table name.
    NotFoundError
        When there are no roads.
    """
    _check_todo(todo)
    stored_for, _ = conn.execute(text(_SQL["lock_state"])).one()
    graph = graph if graph is not None else read_road_graph(conn)
    built_at = conn.execute(text(_SQL["graph_built_at"])).scalar_one_or_none()
    if built_at is None:
        # The graph was not stored (read-only caller): its node ids name nothing to join on.
        conn.execute(text(_SQL["set_state"]), {"built_at": None, "complete": False})
        return 0
    only = ""
    if todo is not None and stored_for == built_at:
        only = f"AND external_id IN (SELECT external_id FROM {todo})"
    rows = conn.execute(text(_SQL["read_leads"].format(only=only))).fetchall()
    ids = np.array([r[0] for r in rows], dtype=object)
    lonlat = np.array([(r[1], r[2]) for r in rows], dtype=float).reshape(-1, 2)
    nodes, access_m = graph.snap(lonlat) if len(ids) else (np.empty(0, int), np.empty(0))
    frame = pd.DataFrame(
        {
            "external_id": ids,
            "node_id": nodes.astype(np.int32),
            "access_s": access_m / (ACCESS_SPEED_KMH / 3.6),
        }
    )
    conn.execute(text("DROP TABLE IF EXISTS _road_access"))
    conn.execute(text(_SQL["create_stage"]))
    copy_frame(conn, "_road_access", frame)
    conn.execute(text(_SQL["upsert"]), {"built_at": built_at})
    conn.execute(text("DROP TABLE _road_access"))
    conn.execute(text(_SQL["delete_unlocated"]))
    complete = bool(conn.execute(text(_SQL["complete"]), {"built_at": built_at}).scalar_one())
    conn.execute(text(_SQL["set_state"]), {"built_at": built_at, "complete": complete})
    return len(frame)
