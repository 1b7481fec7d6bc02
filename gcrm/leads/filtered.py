"""Leads by drive time from an origin, and leads inside a polygon or an area.

Drive time follows the definition of :mod:`gcrm.enrich.drive_times` (and
:func:`gcrm.routing.drive_times_to_branches`): a point joins the road graph at its nearest
snapping node, the straight line between them covered at :data:`gcrm.routing.ACCESS_SPEED_KMH`;
the rest is the shortest path over the graph read from PostGIS. Here the trip runs *from* the
origin *to* each lead (a rep setting out): one Dijkstra on the road graph from the origin's
node, bounded by the time limit like :func:`gcrm.routing.catchment`, then each lead's time is
its node's time plus its own access leg. Candidates are read from ``gcrm.leads`` (row-level
security applies) inside the box of the reached nodes grown by the longest access leg still
possible, and only those within the limit are kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gcrm.areas import level_names
from gcrm.core import ValidationError, parse_area_id
from gcrm.io import read_features
from gcrm.leads.search import (
    LEAD_COLUMNS,
    MAX_LIMIT,
    Origin,
    _check_point,
    _expand_area_codes,
    _text_array,
)
from gcrm.routing import ACCESS_SPEED_KMH, RoadGraph, read_road_graph
from gcrm.store import load_queries, read_geodataframe

__all__ = [
    "MAX_DRIVE_MINUTES",
    "find_leads_by_drive_time",
    "find_leads_within",
    "read_polygon",
]

#: Upper bound on ``minutes``: a day's drive out, not a country-wide search.
MAX_DRIVE_MINUTES = 180.0

_QUERIES = load_queries(__package__, "filtered.sql")
_FILTERED_SQL = _QUERIES["filtered"].format(
    columns=", ".join(LEAD_COLUMNS), filters=_QUERIES["filters"]
)
_CANDIDATES_SQL = _QUERIES["candidates"].format(filters=_QUERIES["filters"])
_POLYGON_TYPES = ("Polygon", "MultiPolygon")


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


def _area_filter(conn: Connection, area: str | tuple[str, str] | None) -> str | None:
    """``area`` as the jsonb the leads' area codes must contain; unknown areas are errors."""
    if area is None:
        return None
    levels = level_names(conn)
    if isinstance(area, str):
        level, code = parse_area_id(area, levels=levels, argument="area")
    else:
        level, code = area
        if level not in levels:
            msg = f"area={level}:{code} has an unknown level {level!r}; use one of {levels}"
            raise ValidationError(msg)
    found = conn.execute(text(_QUERIES["area_exists"]), {"level": level, "code": code})
    if not found.scalar_one():
        some = conn.execute(text(_QUERIES["some_area_codes"]), {"level": level}).scalars()
        codes = [str(c) for c in some]
        examples = ", ".join(f"{level}:{c}" for c in codes[:5]) + (
            ", ..." if len(codes) > 5 else ""
        )
        msg = (
            f"area={level}:{code} is not an area of level {level!r} you can see; check the "
            f"code, e.g. {examples or 'none: import areas with `gcrm import areas`'}"
        )
        raise ValidationError(msg)
    return json.dumps({level: code})


def _params(
    conn: Connection,
    *,
    categories: Sequence[str] | None,
    zoning_classes: Sequence[str] | None,
    area: str | tuple[str, str] | None,
) -> dict[str, object]:
    return {
        "categories": _text_array(categories, name="categories"),
        "zoning": _text_array(zoning_classes, name="zoning_classes"),
        "area": _area_filter(conn, area),
        "polygon": None,
        "box": None,
        "ids": None,
        "lon": None,
        "lat": None,
        "limit": MAX_LIMIT,
    }


def _read(conn: Connection, params: dict[str, object]) -> gpd.GeoDataFrame:
    gdf = read_geodataframe(conn, _FILTERED_SQL, params)
    gdf["distance_m"] = gdf["distance_m"].astype(float)
    return gdf


def _as_polygon(polygon: BaseGeometry) -> BaseGeometry:
    if not isinstance(polygon, BaseGeometry) or polygon.geom_type not in _POLYGON_TYPES:
        kind = getattr(polygon, "geom_type", type(polygon).__name__)
        msg = (
            f"polygon={kind} is not a Polygon or MultiPolygon; pass an area in EPSG:4326, "
            "e.g. read_polygon('area.geojson')"
        )
        raise ValidationError(msg)
    if polygon.is_empty:
        msg = "polygon is empty; pass a Polygon or MultiPolygon with an area"
        raise ValidationError(msg)
    return shapely.make_valid(polygon) if not polygon.is_valid else polygon


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


def find_leads_within(
    conn: Connection,
    *,
    polygon: BaseGeometry | None = None,
    area: str | tuple[str, str] | None = None,
    limit: int = MAX_LIMIT,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
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
        At most this many leads, by ``external_id``.
    categories, zoning_classes
        As for :func:`gcrm.leads.find_nearby_leads`.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`gcrm.leads.find_nearby_leads` (``rank``, the lead columns,
        ``area_<level>`` codes, point geometry in EPSG:4326), ordered by ``external_id``;
        ``distance_m`` is empty (there is no origin).

    Raises
    ------
    ValidationError
        When neither ``polygon`` nor ``area`` is given, the polygon is not one, the area is
        unknown, or ``limit`` or a filter is invalid.
    """
    if polygon is None and area is None:
        msg = "give polygon= (e.g. read_polygon('area.geojson')) or area= ('district:D01')"
        raise ValidationError(msg)
    _check_limit(limit)
    params = _params(conn, categories=categories, zoning_classes=zoning_classes, area=area)
    if polygon is not None:
        params["polygon"] = shapely.to_wkb(_as_polygon(polygon))
    gdf = _read(conn, params | {"limit": limit})
    gdf.insert(0, "rank", np.arange(1, len(gdf) + 1))
    return _expand_area_codes(gdf, level_names(conn))


def _road_graph(conn: Connection) -> RoadGraph:
    if not conn.execute(text(_QUERIES["has_roads"])).scalar_one():
        msg = (
            "minutes: there is no road graph (gcrm.roads is empty); import roads with "
            "`gcrm import roads roads.gpkg`, or search by radius_m"
        )
        raise ValidationError(msg)
    # A search reads; the graph is stored by imports and enrichment, not here.
    return read_road_graph(conn, store=False)


def _search_box(graph: RoadGraph, seconds: np.ndarray, limit_s: float) -> list[float]:
    """Degrees box of the reached nodes, grown by the longest access leg still possible."""
    reached = np.isfinite(seconds)
    xy = graph.node_xy[reached]
    grow_m = float((limit_s - seconds[reached].min()) * ACCESS_SPEED_KMH / 3.6)
    (x0, y0), (x1, y1) = xy.min(axis=0) - grow_m, xy.max(axis=0) + grow_m
    corners = graph.to_storage(np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]))
    return [*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist()]


def _quickest(
    conn: Connection,
    graph: RoadGraph,
    seconds: np.ndarray,
    params: dict[str, object],
    *,
    limit_s: float,
    limit: int,
) -> dict[str, float]:
    """Seconds to the ``limit`` quickest leads within ``limit_s``, by ``external_id``."""
    params = params | {"box": _search_box(graph, seconds, limit_s)}
    rows = conn.execute(text(_CANDIDATES_SQL), params).fetchall()
    if not rows:
        return {}
    ids = np.array([r[0] for r in rows], dtype=object)
    lead_nodes, lead_m = graph.snap(np.array([(r[1], r[2]) for r in rows], dtype=float))
    drive_s = seconds[lead_nodes] + lead_m / (ACCESS_SPEED_KMH / 3.6)
    keep = np.flatnonzero(np.isfinite(drive_s) & (drive_s <= limit_s))
    order = keep[np.lexsort((ids[keep], drive_s[keep]))][:limit]
    return dict(zip(ids[order].tolist(), drive_s[order].tolist(), strict=True))


def find_leads_by_drive_time(
    conn: Connection,
    origin: Origin,
    *,
    minutes: float,
    limit: int = MAX_LIMIT,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    area: str | tuple[str, str] | None = None,
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
        At most this many leads, the quickest reached first.
    categories, zoning_classes
        As for :func:`gcrm.leads.find_nearby_leads`.
    area
        ``"level:code"`` or ``(level, code)``: only leads in that area.
    graph
        A road graph already read; by default the stored graph of ``gcrm.roads``.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`gcrm.leads.find_nearby_leads` plus ``drive_time_s`` (seconds
        from the origin to the lead), ordered by ``drive_time_s`` then ``external_id``, with
        a 1-based ``rank``; ``distance_m`` is the geodesic distance from the origin.

    Raises
    ------
    ValidationError
        When ``minutes``, ``limit``, the area or a filter is invalid, or there is no road
        graph (``gcrm import roads``).
    """
    limit_s = 60.0 * _check_minutes(minutes)
    _check_limit(limit)
    _check_point(origin.lon, origin.lat)
    params = _params(conn, categories=categories, zoning_classes=zoning_classes, area=area)
    graph = graph if graph is not None else _road_graph(conn)
    speed_ms = ACCESS_SPEED_KMH / 3.6
    node, origin_m = graph.snap(np.array([[origin.lon, origin.lat]]))
    access_s = float(origin_m[0]) / speed_ms
    times: dict[str, float] = {}
    # Else even the origin's nearest road is out of reach, and so is every lead.
    if access_s <= limit_s:
        seconds = access_s + dijkstra(
            graph.matrix, directed=True, indices=int(node[0]), limit=limit_s - access_s
        )
        times = _quickest(conn, graph, seconds, params, limit_s=limit_s, limit=limit)
    params |= {"lon": float(origin.lon), "lat": float(origin.lat), "ids": list(times)}
    gdf = _read(conn, params)
    gdf["drive_time_s"] = gdf["external_id"].map(times).astype(float)
    gdf = gdf.sort_values(["drive_time_s", "external_id"], kind="stable")
    gdf.insert(0, "rank", np.arange(1, len(gdf) + 1))
    geometry = gdf.geometry.name
    gdf = gdf[[c for c in gdf.columns if c != geometry] + [geometry]].reset_index(drop=True)
    return _expand_area_codes(gdf, level_names(conn))
