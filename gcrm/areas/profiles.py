"""Area profiles: housing, buildings, roads, zoning, customers and leads of every area of a level.

One row per area, computed in set-based SQL (``profiles.sql``) next to the data:

- ``population``, ``households``, ``dwellings`` from ``gcrm.area_stats`` where present (NULL
  otherwise); ``businesses`` likewise, falling back to the number of leads;
- ``buildings`` (each building counted once, in the area holding its centroid),
  ``building_density_per_km2`` and ``residential_floor_share`` (floor area, footprint x levels
  with one level where unknown, of residential buildings over all buildings);
- ``road_km`` and ``road_km_<class>``: road lines clipped to the area, measured on the spheroid;
- ``zoning_<class>_share``: the share of the area's surface covered by each zoning class;
- ``customers``, ``active_customers``, ``leads``: points by their enriched ``area_codes``
  (as the cube counts them, so run ``gcrm enrich`` first);
- ``penetration`` = active customers / households, and ``market_share_approx`` = active
  customers / (households + businesses): the share of the homes and businesses that buy.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.areas.levels import check_level, level_names
from gcrm.core import ZONE_CLASSES
from gcrm.store import load_queries, read_geodataframe

__all__ = ["PROFILE_MEASURES", "area_profiles", "profile_measures"]

_SQL = load_queries(__package__, "profiles.sql")
#: Profile columns that are static measures per area for the cube (``road_km_<class>`` too);
#: population, households, leads, customers and penetration the cube has already.
PROFILE_MEASURES = (
    "area_km2",
    "dwellings",
    "businesses",
    "buildings",
    "building_density_per_km2",
    "residential_floor_share",
    "road_km",
    *(f"zoning_{c}_share" for c in ZONE_CLASSES),
)


def area_profiles(conn: Connection, *, level: str) -> gpd.GeoDataFrame:
    """Profile every area of ``level``: housing, buildings, roads, zoning, customers, leads.

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    level
        An area level of ``gcrm.area_levels``, e.g. ``"district"``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area, sorted by code, with the columns described in this module's
        docstring (road classes as found in ``gcrm.roads``, zoning classes all five) and the
        area's geometry (EPSG:4326).

    Raises
    ------
    NotFoundError
        When ``level`` is not a level of ``gcrm.area_levels``.

    Examples
    --------
    >>> profiles = area_profiles(conn, level="district")  # doctest: +SKIP
    >>> profiles[["code", "households", "buildings", "penetration"]]  # doctest: +SKIP
    """
    check_level(conn, level)
    params = {"level": level}
    gdf = read_geodataframe(conn, _SQL["profile"], params)
    roads = _wide(conn, _SQL["roads"], params, value="km", prefix="road_km_", suffix="")
    zoning = _wide(conn, _SQL["zoning"], params, value="share", prefix="zoning_", suffix="_share")
    zoning = zoning.reindex(columns=[f"zoning_{c}_share" for c in ZONE_CLASSES], fill_value=0.0)
    gdf = gdf.join(roads.sum(axis=1).rename("road_km"), on="code")
    gdf = gdf.join(roads, on="code").join(zoning, on="code")
    extra = ["road_km", *roads.columns, *zoning.columns]
    gdf[extra] = gdf[extra].fillna(0.0)
    households = gdf["households"].astype(float)
    active = gdf["active_customers"].astype(float)
    gdf["penetration"] = active / households.where(households > 0)
    market = households + gdf["businesses"].astype(float)
    gdf["market_share_approx"] = active / market.where(market > 0)
    return _ordered(gdf, road_columns=list(roads.columns))


def _wide(
    conn: Connection, sql: str, params: dict[str, str], *, value: str, prefix: str, suffix: str
) -> pd.DataFrame:
    """Long (code, class, value) rows as one column per class, indexed by code."""
    result = conn.execute(text(sql), params)
    long = pd.DataFrame(result.fetchall(), columns=["code", "class", value])
    wide = long.pivot(index="code", columns="class", values=value).astype(float)
    wide.columns = [f"{prefix}{c}{suffix}" for c in wide.columns]
    return wide.sort_index(axis=1)


def _ordered(gdf: gpd.GeoDataFrame, *, road_columns: list[str]) -> gpd.GeoDataFrame:
    first = ["level", "code", "name", "parent_code", "area_km2"]
    housing = ["population", "households", "dwellings", "businesses"]
    buildings = ["buildings", "building_density_per_km2", "residential_floor_share"]
    zoning = [f"zoning_{c}_share" for c in ZONE_CLASSES]
    points = ["customers", "active_customers", "leads", "penetration", "market_share_approx"]
    columns = [*first, *housing, *buildings, "road_km", *road_columns, *zoning, *points]
    gdf[housing] = gdf[housing].astype(float)
    for col in ("buildings", "customers", "active_customers", "leads"):
        gdf[col] = gdf[col].astype(np.int64)
    return gpd.GeoDataFrame(gdf[[*columns, "geometry"]], geometry="geometry", crs=gdf.crs)


def profile_measures(conn: Connection, *, levels: list[str] | None = None) -> pd.DataFrame:
    """The static profile measures of every area, long form, for the cube to pivot.

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    levels
        Levels to profile; None: every level of ``gcrm.area_levels``.

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``code``, ``measure`` (one of :data:`PROFILE_MEASURES` or
        ``road_km_<class>``), ``value`` (float; NaN where unknown, e.g. no dwellings figure).
    """
    if levels is None:
        levels = level_names(conn)
    frames = []
    for level in levels:  # a handful of levels: one set-based query batch each
        profile = pd.DataFrame(area_profiles(conn, level=level).drop(columns="geometry"))
        measures = [*PROFILE_MEASURES, *(c for c in profile if c.startswith("road_km_"))]
        long = profile.melt(id_vars=["level", "code"], value_vars=measures, var_name="measure")
        frames.append(long.astype({"value": float}))
    columns = ["level", "code", "measure", "value"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
