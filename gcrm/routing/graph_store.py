"""The road graph in PostGIS: built once per roads import, then read in a fraction of a second.

Building the graph (reading every road as WKB, noding crossings, costs) takes most of a
drive-time run on a large network, and its result only changes when the roads do. So
:func:`read_road_graph` stores what it built in ``gcrm.road_nodes`` and ``gcrm.road_edges``
(migration 0004), with a row in ``gcrm.road_graph_state`` naming the roads import it was
built from, and later reads that instead:

- the stored graph is current when its ``roads_stamp`` equals :func:`roads_stamp` (the last
  roads import that inserted or updated a road) and it was built with the same
  ``node_crossings``; triggers on ``gcrm.roads`` delete the state row on any statement that
  really changes a road, so edits outside ``gcrm import roads`` are caught too;
- it is read as one packed bytea per table straight into numpy (no per-row Python, floats
  bit for bit), and gives the same :class:`~gcrm.routing.graph.RoadGraph` as a fresh build;
- a rebuild is written back with COPY under a lock on ``gcrm.road_graph_state``, so two
  sessions rebuilding at once do not interleave their rows.
"""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from sqlalchemy import Connection, text

from gcrm.core import STORAGE_CRS, DatabaseError, NotFoundError
from gcrm.routing.graph import RoadGraph, build_road_network, road_graph_from_matrix
from gcrm.store import copy_frame, driver_connection

__all__ = ["read_road_graph", "roads_stamp"]

_ROADS_STAMP_SQL = (
    "SELECT coalesce(max(id), 0) FROM gcrm.import_runs "
    "WHERE kind = 'roads' AND inserted + updated > 0"
)
_STATE_SQL = (
    "SELECT roads_stamp, node_crossings, crs, n_nodes, n_edges, built_at FROM gcrm.road_graph_state"
)
_SEND = {">i4": "int4send", ">f8": "float8send", "?": "boolsend"}


class _State(NamedTuple):
    roads_stamp: int
    node_crossings: bool
    crs: str
    n_nodes: int
    n_edges: int
    built_at: object


def roads_stamp(conn: Connection) -> int:
    """Id of the last ``gcrm import roads`` run that inserted or updated a road (0: none)."""
    return int(conn.execute(text(_ROADS_STAMP_SQL)).scalar_one())


def read_road_graph(
    conn: Connection, *, node_crossings: bool = True, store: bool = True
) -> RoadGraph:
    """The road graph of ``gcrm.roads``: the stored one if current, else built (and stored).

    Parameters
    ----------
    conn
        A connection to a gcrm database.
    node_crossings
        Also put a node where segments cross without a shared vertex (see
        :mod:`gcrm.routing.graph`).
    store
        Write a freshly built graph to ``gcrm.road_nodes`` / ``gcrm.road_edges`` on
        ``conn``'s transaction (kept once it commits). Pass False on a read-only connection.

    Returns
    -------
    RoadGraph

    Raises
    ------
    NotFoundError
        When ``gcrm.roads`` is empty.
    """
    stamp = roads_stamp(conn)
    state = _current_state(conn, stamp=stamp, node_crossings=node_crossings)
    if state is not None:
        graph = _read_stored(conn, state)
        if graph is not None:
            return graph
    graph, edges = _build_from_roads(conn, node_crossings=node_crossings)
    if store:
        _store(conn, graph, edges, stamp=stamp, node_crossings=node_crossings)
    return graph


def _state(conn: Connection) -> _State | None:
    row = conn.execute(text(_STATE_SQL)).one_or_none()
    return None if row is None else _State(*row)


def _current_state(conn: Connection, *, stamp: int, node_crossings: bool) -> _State | None:
    state = _state(conn)
    if state is None or state.roads_stamp != stamp or state.node_crossings != node_crossings:
        return None
    return state


def _read_stored(conn: Connection, state: _State) -> RoadGraph | None:
    """The stored graph, or None when the tables do not match ``state`` (changed meanwhile)."""
    edges = _read_packed(
        conn, "gcrm.road_edges", {"source": ">i4", "target": ">i4", "cost_s": ">f8"}
    )
    nodes = _read_packed(
        conn, "gcrm.road_nodes", {"node_id": ">i4", "x_m": ">f8", "y_m": ">f8", "snap": "?"}
    )
    n, ids = state.n_nodes, nodes["node_id"]
    complete = len(edges) == state.n_edges and len(ids) == n
    # Under READ COMMITTED a rebuild committed between these statements would mix graphs.
    if not complete or (n and (ids.min() < 0 or ids.max() >= n)) or _state(conn) != state:
        return None
    node_xy = np.empty((n, 2))
    node_xy[ids] = nodes[["x_m", "y_m"]].to_numpy(dtype=float)
    snap = np.zeros(n, dtype=bool)
    snap[ids] = nodes["snap"].to_numpy()
    # COO -> CSR sorts and de-duplicates: the same canonical matrix as a fresh build.
    matrix = sp.csr_matrix(
        (edges["cost_s"].to_numpy(dtype=float), (edges["source"], edges["target"])),
        shape=(n, n),
    )
    return road_graph_from_matrix(
        matrix, node_xy=node_xy, crs=state.crs, snap_nodes=np.flatnonzero(snap)
    )


def _build_from_roads(conn: Connection, *, node_crossings: bool) -> tuple[RoadGraph, pd.DataFrame]:
    """Build the graph from ``gcrm.roads`` (geometry as binary WKB); edges name their road."""
    rows = conn.execute(
        text(
            "SELECT ref, class, speed_kmh, oneway, ST_AsBinary(geom) AS geom FROM gcrm.roads "
            "WHERE NOT ST_IsEmpty(geom)"
        )
    ).fetchall()
    if not rows:
        msg = "gcrm.roads has no roads; import them first with `gcrm import roads roads.gpkg`"
        raise NotFoundError(msg)
    refs, classes, speeds, oneway, wkb = (
        np.asarray(col, dtype=object) for col in zip(*rows, strict=True)
    )
    graph, edges = build_road_network(
        shapely.from_wkb(wkb),
        classes=classes,
        speed_kmh=pd.to_numeric(pd.Series(speeds), errors="coerce").to_numpy(dtype=float),
        oneway=oneway.astype(bool),
        node_crossings=node_crossings,
    )
    edges["road_ref"] = refs[edges.pop("line").to_numpy()]
    return graph, edges


def _store(
    conn: Connection,
    graph: RoadGraph,
    edges: pd.DataFrame,
    *,
    stamp: int,
    node_crossings: bool,
) -> None:
    """Replace the stored graph with ``graph`` (unless another session just stored it)."""
    # Self-conflicting: one writer at a time; plain readers (ACCESS SHARE) are not blocked.
    conn.execute(text("LOCK TABLE gcrm.road_graph_state IN SHARE ROW EXCLUSIVE MODE"))
    if _current_state(conn, stamp=stamp, node_crossings=node_crossings) is not None:
        return
    for table in ("road_graph_state", "road_edges", "road_nodes"):
        conn.execute(text(f"DELETE FROM gcrm.{table}"))
    copy_frame(conn, "gcrm.road_nodes", _node_frame(graph))
    copy_frame(
        conn, "gcrm.road_edges", edges[["source", "target", "cost_s", "length_m", "road_ref"]]
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.road_graph_state "
            "(roads_stamp, node_crossings, crs, n_nodes, n_edges) "
            "VALUES (:stamp, :crossings, :crs, :n_nodes, :n_edges)"
        ),
        {
            "stamp": stamp,
            "crossings": node_crossings,
            "crs": graph.crs,
            "n_nodes": graph.n_nodes,
            "n_edges": graph.n_edges,
        },
    )


def _node_frame(graph: RoadGraph) -> gpd.GeoDataFrame:
    """Nodes as stored: exact metric coordinates, snap flag, and a point in EPSG:4326."""
    snap = np.zeros(graph.n_nodes, dtype=bool)
    snap[graph.snap_nodes] = True
    lonlat = graph.to_storage(graph.node_xy)
    return gpd.GeoDataFrame(
        {
            "node_id": np.arange(graph.n_nodes),
            "x_m": graph.node_xy[:, 0],
            "y_m": graph.node_xy[:, 1],
            "snap": snap,
        },
        geometry=gpd.GeoSeries(shapely.points(lonlat), crs=STORAGE_CRS),
    ).rename_geometry("geom")


def _read_packed(conn: Connection, table: str, fields: dict[str, str]) -> pd.DataFrame:
    """Read ``fields`` of every row of ``table`` as one bytea, decoded by numpy in one call.

    Each row is packed server-side with the types' binary send functions (big-endian, fixed
    width; the fields must be NOT NULL) and the rows are concatenated by ``string_agg``: one
    value crosses the wire, where COPY or a plain fetch would cost Python work per row.
    ``fields`` maps each column to its numpy type: ``">i4"`` (integer), ``">f8"`` (double
    precision) or ``"?"`` (boolean). A bytea holds at most 1 GB: ~60 million edges.
    """
    packed = " || ".join(f"{_SEND[kind]}({name})" for name, kind in fields.items())
    raw = driver_connection(conn)
    with raw.cursor() as cur:
        cur.execute(f"SELECT string_agg({packed}, ''::bytea) FROM {table}", binary=True)
        data = cur.fetchone()[0] or b""  # type: ignore[index]
    record = np.dtype(list(fields.items()))
    if len(data) % record.itemsize:
        msg = (
            f"{table}: {len(data)} bytes are not whole rows of {record.itemsize}; is a field NULL?"
        )
        raise DatabaseError(msg)
    rows = np.frombuffer(data, dtype=record)
    return pd.DataFrame(
        {name: rows[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in fields.items()}
    )
