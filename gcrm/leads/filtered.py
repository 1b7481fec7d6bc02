"""Leads by drive time from an origin, and leads inside a polygon or an area.

Drive time follows the definition of :mod:`gcrm.enrich.drive_times` (and
:func:`gcrm.routing.drive_times_to_branches`): a point joins the road graph at its nearest
snapping node, the straight line between them covered at :data:`gcrm.routing.ACCESS_SPEED_KMH`;
the rest is the shortest path over the graph read from PostGIS. Here the trip runs *from* the
origin *to* each lead (a rep setting out): one Dijkstra on the road graph from the origin's
node, bounded by the time limit like :func:`gcrm.routing.catchment`, then each lead's time is
its node's time plus its own access leg.

Each lead's node and access leg are stored by enrichment (``gcrm.lead_road_access``,
migration 0021, :func:`gcrm.enrich.compute_road_access`): the reached nodes and their
seconds go to PostgreSQL as two arrays and are joined to the leads standing at them on the
node index, quickest nodes first, in rounds that stop as soon as ``limit`` leads are certain
(a lead is never quicker than its node). The graph is read once per process and kept while
it is current. When the stored legs are not complete for the current graph (leads imported
or moved since ``gcrm enrich``), the search snaps the leads of the catchment's box in Python
instead, as it did before: slower, with the same answer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gcrm.areas import level_names
from gcrm.core import ValidationError
from gcrm.io import read_features
from gcrm.leads.query import Kind, check_sort, filter_params, read_rows
from gcrm.leads.search import MAX_LIMIT, Origin, _check_point, _expand_area_codes
from gcrm.routing import ACCESS_SPEED_KMH, RoadGraph, read_road_graph
from gcrm.store import load_queries

__all__ = [
    "MAX_DRIVE_MINUTES",
    "find_leads_by_drive_time",
    "find_leads_within",
    "read_polygon",
]

#: Upper bound on ``minutes``: a day's drive out, not a country-wide search.
MAX_DRIVE_MINUTES = 180.0
#: Nodes of the first round of a drive-time search ordered by time when the number of leads
#: per node is not known; each next round takes 4x.
FIRST_ROUND_NODES = 512
#: Fewest best-scored leads (of all) the first round of a drive-time search in score order
#: takes; each next round takes 4-64x, by what the last one kept.
FIRST_SCORE_ROUND = 256

_QUERIES = load_queries(__package__, "filtered.sql")
_POLYGON_TYPES = ("Polygon", "MultiPolygon")
T = TypeVar("T")
#: Road graphs by (database, build time): read once per process, dropped when rebuilt.
_GRAPHS: dict[tuple[str, object], RoadGraph] = {}
_GRAPHS_LOCK = threading.Lock()


def _check_limit(limit: int) -> int:
    if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
        msg = f"limit={limit!r} must be an integer from 1 to {MAX_LIMIT}, e.g. 50"
        raise ValidationError(msg)
    return limit


def _check_minutes(minutes: float) -> float:
    if not (
        isinstance(minutes, int | float)
        and math.isfinite(minutes)
        and 0 < minutes <= MAX_DRIVE_MINUTES
    ):
        msg = (
            f"minutes={minutes!r} must be a number of minutes above 0 and at most "
            f"{MAX_DRIVE_MINUTES:g}, e.g. 15"
        )
        raise ValidationError(msg)
    return float(minutes)


def _as_polygon(polygon: BaseGeometry) -> BaseGeometry:
    if not isinstance(polygon, BaseGeometry) or polygon.geom_type not in _POLYGON_TYPES:
        kind = getattr(polygon, "geom_type", type(polygon).__name__)
        msg = (
            f"polygon={kind} is not a Polygon or MultiPolygon; pass an area in EPSG:4326, "
            "e.g. read_polygon('area.geojson')"
        )
        raise ValidationError(msg)
    if not np.isfinite(shapely.get_coordinates(polygon)).all():
        msg = "polygon has a coordinate that is not a finite number; pass degrees (EPSG:4326)"
        raise ValidationError(msg)
    if not polygon.is_valid:
        # A bow tie or a spike repairs into polygons and lines: keep the polygons (PostGIS
        # cannot test containment in a collection).
        parts = shapely.get_parts(shapely.make_valid(polygon))
        polygon = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), [3, 6])])
    if polygon.is_empty or polygon.area == 0:
        msg = "polygon is empty or has no area; pass a Polygon or MultiPolygon with an area"
        raise ValidationError(msg)
    return polygon


def read_polygon(path: Path) -> BaseGeometry:
    """The union of the polygons of a spatial file (GeoJSON, GeoPackage...), in EPSG:4326.

    Parameters
    ----------
    path
        A file :func:`gcrm.io.read_features` reads; points and lines in it are ignored.

    Returns
    -------
    shapely Polygon or MultiPolygon

    Raises
    ------
    ValidationError
        When the file cannot be read or holds no polygon.
    """
    features = read_features(Path(path), argument="FILE")
    geoms = features.geometry
    polygons = geoms[geoms.notna() & geoms.geom_type.isin(_POLYGON_TYPES) & ~geoms.is_empty]
    if polygons.empty:
        kinds = sorted(set(geoms.dropna().geom_type)) or ["no geometry"]
        msg = (
            f"FILE {str(path)!r} holds no polygon (found {', '.join(kinds)}); pass a file "
            "with a Polygon or MultiPolygon, e.g. an area drawn on geojson.io"
        )
        raise ValidationError(msg)
    return shapely.union_all(shapely.make_valid(polygons.to_numpy()))


def _finish(conn: Connection, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geometry = gdf.geometry.name
    gdf = gdf[[c for c in gdf.columns if c != geometry] + [geometry]].reset_index(drop=True)
    return _expand_area_codes(gdf, level_names(conn))


def find_leads_within(
    conn: Connection,
    *,
    polygon: BaseGeometry | None = None,
    area: str | tuple[str, str] | None = None,
    limit: int = MAX_LIMIT,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
) -> gpd.GeoDataFrame:
    """The leads inside a polygon, or in an area (by their enrichment's area code).

    Parameters
    ----------
    conn
        Connection to the gcrm database; leads are read through ``gcrm.leads``.
    polygon
        A Polygon or MultiPolygon in EPSG:4326 (e.g. :func:`read_polygon`); a lead on its
        boundary is not inside.
    area
        ``"level:code"`` or ``(level, code)``: the leads whose ``area_codes`` hold that code
        (as ``gcrm enrich`` set them). Give ``polygon`` or ``area``, or both.
    limit
        At most this many leads.
    categories, zoning_classes, min_score, customers
        As for :func:`gcrm.leads.find_nearby_leads`.
    sort
        ``"score"`` (best first, unscored last); by default by ``external_id``, or by score
        when ``min_score`` is given.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`gcrm.leads.find_nearby_leads` (``rank``, the lead columns,
        ``distance_m`` (empty: there is no origin), ``score``, ``percentile``, ``reasons``,
        ``area_<level>`` codes, point geometry in EPSG:4326).

    Raises
    ------
    ValidationError
        When neither ``polygon`` nor ``area`` is given, the polygon is not one, the area is
        unknown, or ``limit``, ``sort`` or a filter is invalid.
    """
    params, order = within_query(
        conn,
        polygon=polygon,
        area=area,
        limit=limit,
        filters=LeadFilters(categories, zoning_classes, min_score, customers),
        sort=sort,
    )
    gdf, _ = read_rows(conn, "within", params, order=order, origin=False)
    return _finish(conn, gdf)


@dataclass(frozen=True)
class LeadFilters:
    """The filters every lead search takes (as :func:`gcrm.leads.find_nearby_leads`)."""

    categories: Sequence[str] | None = None
    zoning_classes: Sequence[str] | None = None
    min_score: float | None = None
    customers: str = "exclude"

    def params(self, conn: Connection, area: str | tuple[str, str] | None) -> dict[str, Any]:
        """The bound parameters of the filters, checked (:func:`filter_params`)."""
        return filter_params(
            conn,
            categories=self.categories,
            zoning_classes=self.zoning_classes,
            area=area,
            min_score=self.min_score,
            customers=self.customers,
        )


def within_query(
    conn: Connection,
    *,
    polygon: BaseGeometry | None,
    area: str | tuple[str, str] | None,
    limit: int,
    filters: LeadFilters,
    sort: str | None,
) -> tuple[dict[str, Any], str]:
    """The checked parameters (``limit`` included) and the order of a ``within`` search:
    what the GeoDataFrame and the GeoJSON forms of the search share."""
    if polygon is None and area is None:
        msg = "give polygon= (e.g. read_polygon('area.geojson')) or area= ('district:D01')"
        raise ValidationError(msg)
    _check_limit(limit)
    order = check_sort(sort, kind="within", min_score=filters.min_score)
    params = filters.params(conn, area)
    if polygon is not None:
        params["polygon"] = shapely.to_wkb(_as_polygon(polygon))
    return params | {"limit": limit}, order


def drive_query(
    conn: Connection,
    origin: Origin,
    *,
    minutes: float,
    limit: int,
    area: str | tuple[str, str] | None,
    filters: LeadFilters,
    sort: str | None,
) -> tuple[dict[str, Any], str, float]:
    """The checked parameters, the order and the limit in seconds of a drive-time search:
    what the GeoDataFrame and the GeoJSON forms of the search share."""
    limit_s = 60.0 * _check_minutes(minutes)
    _check_limit(limit)
    _check_point(origin.lon, origin.lat)
    order = check_sort(sort, kind="reached", min_score=filters.min_score)
    params = filters.params(conn, area)
    params |= {"lon": float(origin.lon), "lat": float(origin.lat), "limit": limit}
    return params, order, limit_s


def _graph_state(conn: Connection) -> Any:
    if not conn.execute(text(_QUERIES["has_roads"])).scalar_one():
        msg = (
            "minutes: there is no road graph (gcrm.roads is empty); import roads with "
            "`gcrm import roads roads.gpkg`, or search by radius_m"
        )
        raise ValidationError(msg)
    return conn.execute(text(_QUERIES["graph_state"])).one_or_none()


def _current_graph(conn: Connection, state: Any) -> RoadGraph:
    """The stored graph of ``state``, read once per process; else built (not stored)."""
    if state is None or not state.current:
        # A search reads; the graph is stored by imports and enrichment, not here.
        return read_road_graph(conn, store=False)
    key = (conn.engine.url.render_as_string(hide_password=True), state.built_at)
    with _GRAPHS_LOCK:
        graph = _GRAPHS.get(key)
    if graph is None:
        graph = read_road_graph(conn, store=False)
        with _GRAPHS_LOCK:
            for old in [k for k in _GRAPHS if k[0] == key[0]]:
                del _GRAPHS[old]
            _GRAPHS[key] = graph
    return graph


def _search_box(graph: RoadGraph, seconds: np.ndarray, limit_s: float) -> list[float]:
    """Degrees box of the reached nodes, grown by the longest access leg still possible."""
    reached = np.isfinite(seconds)
    xy = graph.node_xy[reached]
    grow_m = float((limit_s - seconds[reached].min()) * ACCESS_SPEED_KMH / 3.6)
    (x0, y0), (x1, y1) = xy.min(axis=0) - grow_m, xy.max(axis=0) + grow_m
    corners = graph.to_storage(np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]))
    return [*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist()]


def _times_in_box(
    conn: Connection,
    graph: RoadGraph,
    seconds: np.ndarray,
    params: dict[str, object],
    *,
    limit_s: float,
) -> tuple[list[str], list[float]]:
    """Every lead of the catchment's box snapped in Python and timed: those within
    ``limit_s``, quickest first."""
    box = {"box": _search_box(graph, seconds, limit_s)}
    rows = conn.execute(text(_QUERIES["candidates"]), params | box).fetchall()
    if not rows:
        return [], []
    ids = np.array([r[0] for r in rows], dtype=object)
    lead_nodes, lead_m = graph.snap(np.array([(r[1], r[2]) for r in rows], dtype=float))
    drive_s = seconds[lead_nodes] + lead_m / (ACCESS_SPEED_KMH / 3.6)
    keep = np.flatnonzero(np.isfinite(drive_s) & (drive_s <= limit_s))
    keep = keep[np.lexsort((ids[keep], drive_s[keep]))]
    return ids[keep].tolist(), drive_s[keep].tolist()


def _by_python_times(
    ids: list[str],
    times: list[float],
    params: dict[str, object],
    *,
    order: str,
    run: Callable[[Kind, dict[str, object]], tuple[T, int]],
) -> T:
    """Rows of leads timed in Python (quickest first): by drive time, the quickest few
    first, more while the filters leave fewer than ``limit``."""
    limit = int(params["limit"])  # type: ignore[call-overload]
    take = max(4 * limit, 1000) if order == "drive_time" else len(ids)
    while True:
        part = {"ids": ids[:take], "times": times[:take]}
        found, rows = run("timed", params | part)
        if take >= len(ids) or rows >= limit:
            return found
        take *= 8


def drive_rows(
    conn: Connection,
    origin: Origin,
    params: dict[str, object],
    *,
    order: str,
    limit_s: float,
    run: Callable[[Kind, dict[str, object]], tuple[T, int]],
    graph: RoadGraph | None = None,
) -> T:
    """The rows of a drive-time search (:func:`drive_query`'s ``params``), read by ``run``
    (a GeoDataFrame or GeoJSON text, and how many rows): one Dijkstra from ``origin``, then
    the stored access legs joined in SQL when they are current for the stored graph, else
    the leads of the reached box snapped and timed in Python. A ``graph`` passed in is
    always timed in Python (its node ids are not known to name the stored ones)."""
    state = _graph_state(conn) if graph is None else None
    stored = graph is None and state is not None and state.current and state.access
    graph = graph if graph is not None else _current_graph(conn, state)
    seconds = _seconds_from(graph, origin, limit_s=limit_s)
    if seconds is None:
        return run("timed", params | {"ids": [], "times": []})[0]
    if stored and state is not None:
        return _by_stored_legs(
            conn,
            seconds,
            params | {"built_at": state.built_at},
            limit_s=limit_s,
            order=order,
            first_round=_first_round(state, int(params["limit"])),  # type: ignore[call-overload]
            run=run,
        )
    ids, times = _times_in_box(conn, graph, seconds, params, limit_s=limit_s)
    return _by_python_times(ids, times, params, order=order, run=run)


def _time_rounds(
    node_s: np.ndarray, *, limit_s: float, first: int
) -> Iterator[tuple[int, float, bool]]:
    """The rounds of a search in drive-time order over nodes sorted by seconds ``node_s``:
    ``(end, bound, full)``, the nodes ``[:end]`` that hold every lead within ``bound``
    seconds (a lead is never quicker than its node), ``first`` nodes then 4x more each."""
    take = min(len(node_s), first)
    while True:
        full = take >= len(node_s)
        bound = limit_s if full else float(node_s[take - 1])
        end = len(node_s) if full else int(np.searchsorted(node_s, bound, side="right"))
        yield end, bound, full
        if full:
            return
        take = min(len(node_s), take * 4)


def _by_stored_legs(
    conn: Connection,
    seconds: np.ndarray,
    params: dict[str, object],
    *,
    limit_s: float,
    order: str,
    run: Callable[[Kind, dict[str, object]], tuple[T, int]],
    first_round: int | None = None,
) -> T:
    """Rows from the reached nodes joined to ``gcrm.lead_road_access``, in rounds.

    Ordered by drive time, a round takes the quickest nodes up to a time ``bound``: every
    lead within ``bound`` stands at one of them, so when the round finds ``limit`` leads they
    are the quickest of all. Ordered by score, rounds go down the scores instead
    (:func:`_by_score`). Ordered by distance, one round takes every reached node.
    ``first_round``: how many nodes the first round takes (see :func:`_first_round`). ``run``
    reads one round of a statement kind and says how many rows it has (as a GeoDataFrame or
    as GeoJSON text).
    """
    reached = np.flatnonzero(seconds <= limit_s)
    by_time = reached[np.argsort(seconds[reached], kind="stable")]
    node_s = seconds[by_time]
    if order == "score":
        share = len(by_time) / max(len(seconds), 1)
        with _custom_plans(conn):
            return _by_score(
                conn, by_time, node_s, params, limit_s=limit_s, share=share, run=run,
                first_round=first_round,
            )  # fmt: skip
    first = (first_round or FIRST_ROUND_NODES) if order == "drive_time" else len(by_time)
    for end, bound, full in _time_rounds(node_s, limit_s=limit_s, first=first):
        found, rows = run(
            "reached",
            params
            | {"nodes": by_time[:end].tolist(), "node_s": node_s[:end].tolist(), "bound_s": bound},
        )
        if full or rows >= int(params["limit"]):  # type: ignore[call-overload]
            break
    return found


@contextmanager
def _custom_plans(conn: Connection) -> Iterator[None]:
    """Plan each statement inside for its own values. psycopg prepares a statement run five
    times on a connection, and PostgreSQL may then keep a generic plan: one that guessed a
    third of all scores above the round's bound and joined a million leads (1-2 s instead of
    ~20 ms). Set for the transaction, then set back; after an error the transaction is
    rolled back, setting and all, so nothing is set back then."""
    before = conn.execute(text(_QUERIES["plan_cache_mode"])).scalar_one()
    conn.execute(text(_QUERIES["set_plan_cache_mode"]), {"mode": "force_custom_plan"})
    yield
    conn.execute(text(_QUERIES["set_plan_cache_mode"]), {"mode": before})


def _by_score(
    conn: Connection,
    by_time: np.ndarray,
    node_s: np.ndarray,
    params: dict[str, object],
    *,
    limit_s: float,
    share: float,
    run: Callable[[Kind, dict[str, object]], tuple[T, int]],
    first_round: int | None,
) -> T:
    """Rows of a drive-time search in score order (best first, unscored last by drive time).

    Joining every reached lead to sort them by score took seconds at a million leads (a
    15-minute catchment reaches hundreds of thousands). So a round takes only the leads
    scored at least a ``bound``, the score of the ``k``-th best lead of all (read on the
    index of ``gcrm.lead_scores``), and keeps those reached: when it finds ``limit`` leads
    they are the best reached, since every lead left out scores below all it kept. ``k``
    starts where about twice ``limit`` scored leads are expected in the catchment (its
    ``share`` of the graph's nodes) and grows by what the last round kept, down to
    ``min_score`` or to every score; then the unscored leads follow in rounds of drive time.
    """
    limit = int(params["limit"])  # type: ignore[call-overload]
    floor = None if params["min_score"] is None else float(params["min_score"])  # type: ignore[arg-type]
    every = {"nodes": by_time.tolist(), "node_s": node_s.tolist(), "limit_s": limit_s}
    no_time: dict[str, object] = {"time_nodes": [], "time_node_s": [], "bound_s": -1.0}
    k = _first_score_round(limit, share)
    while True:
        at_k: float | None = conn.execute(
            text(_QUERIES["score_at_rank"]), {"k": k}
        ).scalar_one_or_none()
        last = at_k is None or (floor is not None and at_k <= floor)
        bound = float(at_k) if at_k is not None and not last else (floor or 0.0)
        found, rows = run("scored", params | every | no_time | {"score_bound": bound})
        if rows >= limit or (last and floor is not None):
            return found
        if last:
            break
        # Filters (category, customers...) keep a share of a round's leads: the next round
        # takes enough for twice limit at that share, at least 4x, at most 64x.
        k *= min(max(4, math.ceil(2 * limit / max(rows, 1))), 64)
    # Every reached lead with a score is in and they are fewer than limit: the unscored
    # follow, quickest first (min_score is None here).
    first = first_round or FIRST_ROUND_NODES
    for end, bound_s, full in _time_rounds(node_s, limit_s=limit_s, first=first):
        time_nodes = {"time_nodes": by_time[:end].tolist(), "time_node_s": node_s[:end].tolist()}
        found, rows = run("scored", params | every | time_nodes | {
            "score_bound": 0.0, "bound_s": bound_s,
        })  # fmt: skip
        if full or rows >= limit:
            break
    return found


def _first_score_round(limit: int, share: float) -> int:
    """Best-scored leads (of all) the first round of a search in score order takes: about
    twice ``limit`` in a catchment holding ``share`` of the graph's nodes."""
    return max(FIRST_SCORE_ROUND, math.ceil(2 * limit / max(share, 1e-3)))


def _first_round(state: Any, limit: int) -> int | None:
    """Nodes that hold about twice ``limit`` leads, by the planner's count of stored legs
    (None: not known yet, before the table's first ANALYZE)."""
    if state is None or state.legs is None or state.legs <= 0 or not state.n_nodes:
        return None
    per_node = float(state.legs) / float(state.n_nodes)
    return max(16, math.ceil(2 * limit / per_node))


def find_leads_by_drive_time(
    conn: Connection,
    origin: Origin,
    *,
    minutes: float,
    limit: int = MAX_LIMIT,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    area: str | tuple[str, str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
    graph: RoadGraph | None = None,
) -> gpd.GeoDataFrame:
    """The leads reached by road from ``origin`` within ``minutes``, the nearest in time first.

    Parameters
    ----------
    conn
        Connection to the gcrm database; leads are read through ``gcrm.leads``.
    origin
        Where the drive starts (:func:`gcrm.leads.resolve_origin`).
    minutes
        The time limit, above 0 and at most :data:`MAX_DRIVE_MINUTES`; access legs at
        :data:`gcrm.routing.ACCESS_SPEED_KMH` at both ends included.
    limit
        At most this many leads, the first in ``sort`` order.
    categories, zoning_classes, min_score, customers
        As for :func:`gcrm.leads.find_nearby_leads`.
    area
        ``"level:code"`` or ``(level, code)``: only leads in that area.
    sort
        ``"drive_time"`` (the default), ``"distance"`` or ``"score"`` (the default when
        ``min_score`` is given).
    graph
        A road graph already read; by default the stored graph of ``gcrm.roads`` (kept in
        memory while current). A graph passed in is timed on snapping in Python: its node
        ids are not known to name the stored ones.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`gcrm.leads.find_nearby_leads` plus ``drive_time_s`` (seconds
        from the origin to the lead), with a 1-based ``rank`` in ``sort`` order (ties by
        ``external_id``); ``distance_m`` is the geodesic distance from the origin.

    Raises
    ------
    ValidationError
        When ``minutes``, ``limit``, ``sort``, the area or a filter is invalid, or there is
        no road graph (``gcrm import roads``).
    """
    params, order, limit_s = drive_query(
        conn,
        origin,
        minutes=minutes,
        limit=limit,
        area=area,
        filters=LeadFilters(categories, zoning_classes, min_score, customers),
        sort=sort,
    )

    def run(kind: Kind, p: dict[str, object]) -> tuple[gpd.GeoDataFrame, int]:
        gdf, _ = read_rows(conn, kind, p, order=order)
        return gdf, len(gdf)

    gdf = drive_rows(conn, origin, params, order=order, limit_s=limit_s, run=run, graph=graph)
    return _finish(conn, gdf)


def _seconds_from(graph: RoadGraph, origin: Origin, *, limit_s: float) -> np.ndarray | None:
    """Seconds from ``origin`` to every node (inf beyond ``limit_s``); None when even the
    origin's nearest road is out of reach."""
    node, origin_m = graph.snap(np.array([[origin.lon, origin.lat]]))
    access_s = float(origin_m[0]) / (ACCESS_SPEED_KMH / 3.6)
    if access_s > limit_s:
        return None
    found: np.ndarray = access_s + dijkstra(
        graph.matrix, directed=True, indices=int(node[0]), limit=limit_s - access_s
    )
    return found
