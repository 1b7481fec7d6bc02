"""What maps and the dashboard draw, read from PostGIS as binary WKB (one query per layer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection

from gcrm.areas import level_names
from gcrm.core import NotFoundError, ValidationError, area_ids
from gcrm.store import load_queries, read_geodataframe

__all__ = [
    "TOLERANCE_DEG",
    "area_geojson",
    "point_geojson",
    "read_areas",
    "read_branches",
    "read_customer_points",
    "read_lead_points",
]

_SQL = load_queries(__package__, "sources.sql")
#: Simplification tolerance for the browser, in degrees of EPSG:4326 (~5-10 m in Helsinki).
TOLERANCE_DEG = 0.00008


def read_areas(conn: Connection, *, level: str) -> gpd.GeoDataFrame:
    """Areas of one level with ``area_id``, ``level``, ``code``, ``name``, ``geometry``.

    Raises
    ------
    NotFoundError
        When ``level`` has no areas; the message lists the levels.
    """
    gdf = read_geodataframe(conn, _SQL["areas"], {"level": level})
    if gdf.empty:
        msg = (
            f"level {level!r} has no areas; use one of {level_names(conn)} "
            "(or import areas with `gcrm import areas`)"
        )
        raise NotFoundError(msg)
    gdf.insert(0, "area_id", area_ids(level, gdf["code"].astype(str)))
    return gdf


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
    """Customers or leads as a GeoJSON FeatureCollection of points for clustering.

    Customer points carry only segment, status and geocode precision (no names: personal
    data stays on the server); lead points carry the business name and category (public OSM
    data) and a ``tooltip``.

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
