"""What maps and the dashboard draw, read from PostGIS as binary WKB (one query per layer),
and the points of one map view: clustered in PostGIS, or one by one when few are in view."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, text

from gcrm.areas import read_areas
from gcrm.core import NotFoundError, ValidationError, period_bounds, point_entity
from gcrm.store import load_queries, read_geodataframe

__all__ = [
    "CLUSTER_CELL_PX",
    "MAX_CELLS_ACROSS",
    "MAX_POINTS",
    "TOLERANCE_DEG",
    "BBox",
    "area_geojson",
    "point_geojson",
    "point_name",
    "points_in_view",
    "read_areas",
    "read_branches",
    "read_customer_points",
    "read_lead_points",
]

_SQL = load_queries(__package__, "sources.sql")
#: Simplification tolerance for the browser, in degrees of EPSG:4326 (~5-10 m in Helsinki).
TOLERANCE_DEG = 0.00008
#: A view with at most this many points of a layer gets them one by one; more, as clusters.
MAX_POINTS = 2000
#: Side of a cluster's grid cell in screen pixels (Leaflet's 256-pixel tiles of Web Mercator).
CLUSTER_CELL_PX = 48
#: At most this many cells across a view, whatever its zoom: bounds what one view sends.
MAX_CELLS_ACROSS = 64
#: A view's box: ``(west, south, east, north)`` in degrees of EPSG:4326.
BBox = tuple[float, float, float, float]
#: Web Mercator's latitude limit: the map draws nothing beyond it.
_MAX_LAT = 85.05112878
#: The point layers of the map (gcrm.points_in_box reads either).
_POINT_KINDS = ("customers", "leads")


def area_geojson(
    conn: Connection, *, level: str, tolerance_deg: float = TOLERANCE_DEG
) -> dict[str, Any]:
    """The areas of ``level`` as a simplified GeoJSON FeatureCollection, for the browser.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    level
        Area level, e.g. ``"district"``.
    tolerance_deg
        Douglas-Peucker tolerance in degrees of EPSG:4326 (storage CRS; the browser draws
        lon/lat, so simplifying in it keeps shared edges aligned with no reprojection).

    Returns
    -------
    dict
        Features with ``id`` = area id ``"<level>:<code>"`` and properties ``area``, ``level``,
        ``code``, ``name``.

    Raises
    ------
    NotFoundError
        When the database has no area of ``level``.
    """
    gdf = read_areas(conn, level=level)
    simple = shapely.simplify(gdf.geometry.to_numpy(), tolerance_deg, preserve_topology=True)
    gdf = gdf.set_geometry(shapely.set_precision(simple, 1e-6))
    gdf = gdf.rename(columns={"area_id": "area"})[["level", "code", "name", "area", "geometry"]]
    collection = gdf.to_geo_dict(drop_id=True)
    for feature in collection["features"]:
        feature["id"] = feature["properties"]["area"]
    return collection


def read_customer_points(
    conn: Connection,
    *,
    segment: str | None = None,
    precisions: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Geocoded customers as points: optionally of one segment, at some geocode precisions."""
    return read_geodataframe(
        conn,
        _SQL["customer_points"],
        {
            "segment": None if segment in (None, "all") else segment,
            "precisions": None if precisions is None else list(precisions),
        },
    )


def read_lead_points(conn: Connection) -> gpd.GeoDataFrame:
    """All leads as points."""
    return read_geodataframe(conn, _SQL["lead_points"])


def read_branches(conn: Connection) -> gpd.GeoDataFrame:
    """The company's branches as points."""
    return read_geodataframe(conn, _SQL["branches"])


def point_geojson(conn: Connection, *, kind: str) -> dict[str, Any]:
    """Every customer or lead as one GeoJSON FeatureCollection of points, whatever the view.

    What the dashboard sent before it read :func:`points_in_view` (16 MB for 100,000
    customers); kept as the baseline of ``benchmarks/dashboard_points.py``. Customer points
    carry only segment, status and geocode precision; lead points carry the business name and
    category (public OSM data) and a ``tooltip``.

    Raises
    ------
    ValidationError
        When ``kind`` is not ``"customers"`` or ``"leads"``.
    """
    queries = {"customers": "customer_dots", "leads": "lead_dots"}
    if kind not in queries:
        msg = f"kind={kind!r} is not a point layer; use one of {sorted(queries)}"
        raise ValidationError(msg)
    gdf = read_geodataframe(conn, _SQL[queries[kind]])
    if kind == "leads":
        gdf["tooltip"] = gdf["name"] + " (" + gdf["category"].str.replace("_", " ") + ")"
    return gdf.to_geo_dict(drop_id=True)


def _check_bbox(bbox: Sequence[float]) -> BBox:
    """``bbox`` clipped to the map's world; a ValidationError when it is not a box."""
    try:
        west, south, east, north = (float(v) for v in bbox)
    except (TypeError, ValueError):
        msg = f"bbox={bbox!r} is not a box; pass (west, south, east, north) in degrees"
        raise ValidationError(msg) from None
    if not (west < east and south < north) or not all(map(math.isfinite, bbox)):
        msg = (
            f"bbox={tuple(bbox)!r} is not a box; pass (west, south, east, north) in degrees "
            "with west < east and south < north"
        )
        raise ValidationError(msg)
    # Leaflet's bounds run past +-180 when the world repeats; the data does not.
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -_MAX_LAT), min(north, _MAX_LAT)
    return west, south, east, north


def _mercator_y(lat: float) -> float:
    """Web Mercator y of ``lat`` in units of the world's height (0 north edge, 1 south)."""
    return 0.5 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)


def _cells_across_world(bbox: BBox, zoom: float, cell_px: int) -> float:
    """Grid cells across the whole Web Mercator world for a view of ``bbox`` at ``zoom``.

    Cells are ``cell_px`` screen pixels at the whole zoom level (so the grid is the same for
    every fractional zoom of one level); coarser when the box would be more than
    :data:`MAX_CELLS_ACROSS` cells wide or high (a view larger than a screen).
    """
    west, south, east, north = bbox
    per_world = 256 * 2 ** max(0, math.floor(zoom)) / cell_px
    span = max((east - west) / 360, _mercator_y(south) - _mercator_y(north))
    return min(per_world, MAX_CELLS_ACROSS / span)


def points_in_view(
    conn: Connection,
    *,
    kind: str,
    bbox: Sequence[float],
    zoom: float,
    segment: str | None = None,
    period: str | None = None,
    max_points: int = MAX_POINTS,
    cell_px: int = CLUSTER_CELL_PX,
) -> dict[str, Any]:
    """The customers or leads of one map view: one by one when few, else clusters.

    Everything is computed in PostGIS on rows the connection may see (read through
    :func:`gcrm.access.scoped_engine`, row-level security decides which), from the box of
    the view only (``geom && box``): never every point at once. Neither clusters nor points
    carry a name or a contact; :func:`point_name` reads one point's name when asked.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    kind
        ``"customers"`` or ``"leads"``.
    bbox
        The view's ``(west, south, east, north)`` in degrees of EPSG:4326.
    zoom
        The map's zoom level (Leaflet's; fractions allowed): sizes the cluster grid.
    segment
        Customers of this segment only (``None`` or ``"all"``: every segment).
    period
        Customers on the books at some time in this period (``"2025"``, ``"2025-Q1"``,
        ``"2025-03"``; ``None`` or ``"all"``: whole range): signed up before it ends and not
        churned before it begins. Leads have no segment or period; both are ignored for them.
    max_points
        Up to this many points in view are sent one by one.
    cell_px
        Side of a cluster's grid cell in screen pixels.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection of Points. A point's properties: ``id`` and, for
        customers, ``segment`` and ``geocode_precision``, for leads ``category``. A cluster's
        properties: ``count`` alone, drawn at the mean position of its points. The
        collection's ``clustered`` says which it holds.

    Raises
    ------
    ValidationError
        When ``kind``, ``bbox`` or ``period`` is not one.
    """
    if kind not in _POINT_KINDS:
        msg = f"kind={kind!r} is not a point layer; use one of {list(_POINT_KINDS)}"
        raise ValidationError(msg)
    box = _check_bbox(bbox)
    start, stop = period_bounds(period)
    params = dict(zip(("west", "south", "east", "north"), box, strict=True)) | {
        "segment": None if segment in (None, "all") else segment,
        "start": start,
        "stop": stop,
    }
    # One statement reads at most max_points + 1 points: a view of few points is answered in
    # one scan, a view of many stops early and is counted by cell instead.
    query = text(_SQL["points_in_box"])
    collection: dict[str, Any] = conn.execute(
        query, params | {"kind": kind, "limit": max_points + 1, "cells": None}
    ).scalar_one()
    clustered = len(collection["features"]) > max_points
    if clustered:
        cells = _cells_across_world(box, zoom, cell_px)
        collection = conn.execute(
            query, params | {"kind": kind, "limit": None, "cells": cells}
        ).scalar_one()
    return collection | {"clustered": clustered}


def point_name(conn: Connection, *, kind: str, point_id: str) -> str:
    """The name of one customer or lead, for the person who clicked it.

    Raises
    ------
    ValidationError
        When ``kind`` is not ``"customers"`` or ``"leads"``.
    NotFoundError
        When there is no such point, or it is outside the reader's scope.
    """
    entity = point_entity(kind)
    name = conn.execute(
        text(entity.fill(_SQL["point_name"])), {"id": point_id}
    ).scalar_one_or_none()
    if name is None:
        msg = f"{kind} {point_id!r} is not there (or not in your scope); click a point on the map"
        raise NotFoundError(msg)
    return str(name)
