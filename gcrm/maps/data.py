"""What maps draw, read from PostGIS as binary WKB (one query per layer)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError
from gcrm.store import read_geodataframe

__all__ = [
    "area_id",
    "read_areas",
    "read_branches",
    "read_customer_points",
    "read_lead_points",
]


def area_id(level: str, code: str) -> str:
    """The cube's id of an area: ``"<level>:<code>"``."""
    return f"{level}:{code}"


def _levels(conn: Connection) -> list[str]:
    return list(
        conn.execute(text("SELECT level FROM gcrm.area_levels ORDER BY rank, level")).scalars()
    )


def read_areas(conn: Connection, *, level: str) -> gpd.GeoDataFrame:
    """Areas of one level with ``area_id``, ``level``, ``code``, ``name``, ``geometry``.

    Raises
    ------
    NotFoundError
        When ``level`` has no areas; the message lists the levels that do.
    """
    gdf = read_geodataframe(
        conn,
        "SELECT level, code, name, parent_code, ST_AsBinary(geom) AS geom "
        "FROM gcrm.areas WHERE level = :level ORDER BY code",
        {"level": level},
    )
    if gdf.empty:
        msg = (
            f"level {level!r} has no areas; use one of {_levels(conn)} "
            "(or import areas with `gcrm import areas`)"
        )
        raise NotFoundError(msg)
    gdf.insert(0, "area_id", level + ":" + gdf["code"].astype(str))
    return gdf


def read_customer_points(
    conn: Connection,
    *,
    segment: str | None = None,
    precisions: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Geocoded customers as points: optionally of one segment, at some geocode precisions."""
    return read_geodataframe(
        conn,
        "SELECT external_id, name, segment, status, geocode_precision, "
        "ST_AsBinary(geom) AS geom FROM gcrm.customers "
        "WHERE geom IS NOT NULL AND (CAST(:segment AS text) IS NULL OR segment = :segment) "
        "AND (CAST(:precisions AS text[]) IS NULL OR geocode_precision = ANY(:precisions)) "
        "ORDER BY external_id",
        {
            "segment": None if segment in (None, "all") else segment,
            "precisions": None if precisions is None else list(precisions),
        },
    )


def read_lead_points(conn: Connection) -> gpd.GeoDataFrame:
    """All leads as points."""
    return read_geodataframe(
        conn,
        "SELECT external_id, name, category, zoning_class, ST_AsBinary(geom) AS geom "
        "FROM gcrm.leads ORDER BY external_id",
    )


def read_branches(conn: Connection) -> gpd.GeoDataFrame:
    """The company's branches as points."""
    return read_geodataframe(
        conn,
        "SELECT code, name, street, housenumber, city, ST_AsBinary(geom) AS geom "
        "FROM gcrm.branches ORDER BY code",
    )
