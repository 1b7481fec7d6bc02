"""The areas' outlines (``gcrm.areas``), read in one place for maps, the dashboard and the
spatial statistics of the cube (hot spots)."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Connection

from gcrm.areas.levels import level_names
from gcrm.core import NotFoundError, area_ids
from gcrm.store import load_queries, read_geodataframe

__all__ = ["read_areas"]

_SQL = load_queries(__package__, "geometry.sql")


def read_areas(conn: Connection, *, level: str) -> gpd.GeoDataFrame:
    """Areas of one level with ``area_id``, ``level``, ``code``, ``name``, ``parent_code``,
    ``geometry`` (EPSG:4326), by code.

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
