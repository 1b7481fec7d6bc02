"""Area profiles: housing, buildings, roads, zoning, customers and leads of every area of a level.

One row per area, computed in set-based SQL (``profiles.sql``, ``housing.sql``) next to the
data:

- ``population``, ``households``, ``dwellings`` and any other measure of ``gcrm.area_stats``
  for the level, of the latest vintage or of ``vintage`` (:func:`gcrm.areas.read_area_stats`;
  NaN where the area has no figure); ``businesses`` likewise, falling back to the number of
  leads;
- dwellings by type, building forms and heights (:mod:`gcrm.areas.housing`): from the
  statistics where the user has them, else estimated from the buildings and labelled so;
- ``buildings`` (each building counted once, in the area holding its centroid),
  ``building_density_per_km2`` and ``residential_floor_share`` (floor area, footprint x levels
  with one level where unknown, of residential buildings over all buildings);
- ``road_km`` and ``road_km_<class>``: road lines clipped to the area, measured on the spheroid;
- ``zoning_<class>_share``: the share of the area's surface covered by each zoning class;
- ``customers``, ``active_customers``, ``leads``: points by their enriched ``area_codes``
  (as the cube counts them, so run ``gcrm enrich`` first);
- ``penetration`` = active customers / households, and ``market_share_approx`` = active
  customers / (households + businesses): the share of the homes and businesses that buy;
- ``sources``: where the area's figures come from (``"population, households: <source>
  (<vintage>); ..."``); :func:`profile_sources` gives the same per measure, with methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.areas.housing import DWELLING_MEASURES, FORM_MEASURES, HEIGHT_MEASURES, area_housing
from gcrm.areas.levels import check_level, level_names
from gcrm.areas.stats import describe_sources, read_area_stats
from gcrm.core import ZONE_CLASSES
from gcrm.store import load_queries, read_geodataframe

__all__ = [
    "PROFILE_MEASURES",
    "ProfileFigures",
    "area_profiles",
    "profile_figures",
    "profile_measures",
    "profile_sources",
]

_SQL = load_queries(__package__, "profiles.sql")
#: Profile columns that are static measures per area for the cube (``road_km_<class>`` too);
#: population, households, leads, customers and penetration the cube has already.
PROFILE_MEASURES = (
    "area_km2",
    "dwellings",
    *DWELLING_MEASURES,
    "businesses",
    "buildings",
    "building_density_per_km2",
    "residential_floor_share",
    *FORM_MEASURES,
    *HEIGHT_MEASURES,
    "road_km",
    *(f"zoning_{c}_share" for c in ZONE_CLASSES),
)
_HOUSING = ["population", "households", "dwellings", *DWELLING_MEASURES, "businesses"]
_BUILDINGS = [
    "buildings",
    "building_density_per_km2",
    "residential_floor_share",
    *FORM_MEASURES,
    *HEIGHT_MEASURES,
]
_POINTS = ["customers", "active_customers", "leads", "penetration", "market_share_approx"]
LEADS_SOURCE = "gcrm count of leads (gcrm.leads)"


@dataclass(frozen=True)
class _Profile:
    """The profile of one level and the provenance of its figures (code, measure, source,
    vintage, method)."""

    areas: gpd.GeoDataFrame
    provenance: pd.DataFrame


def area_profiles(conn: Connection, *, level: str, vintage: str | None = None) -> gpd.GeoDataFrame:
    """Profile every area of ``level``: housing, buildings, roads, zoning, customers, leads.

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    level
        An area level of ``gcrm.area_levels``, e.g. ``"district"``.
    vintage
        The vintage of the statistics to read (e.g. ``"2019"``); None: the latest of each.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area, sorted by code, with the columns described in this module's
        docstring (road classes as found in ``gcrm.roads``, zoning classes all five, other
        measures of ``gcrm.area_stats`` after the housing columns) and the area's geometry
        (EPSG:4326).

    Raises
    ------
    NotFoundError
        When ``level`` is not a level of ``gcrm.area_levels``, or ``vintage`` the vintage of
        no figure.

    Examples
    --------
    >>> profiles = area_profiles(conn, level="district")  # doctest: +SKIP
    >>> profiles[["code", "households", "buildings", "penetration"]]  # doctest: +SKIP
    """
    return _profile(conn, level=level, vintage=vintage).areas


def profile_sources(conn: Connection, *, level: str, vintage: str | None = None) -> pd.DataFrame:
    """Where the figures of the profiles of ``level`` come from, one row per measure and
    provenance (:func:`gcrm.areas.describe_sources`: measure, source, vintage, method, areas,
    text)."""
    return describe_sources(_profile(conn, level=level, vintage=vintage).provenance)


def _profile(conn: Connection, *, level: str, vintage: str | None) -> _Profile:
    check_level(conn, level)
    params = {"level": level}
    gdf = read_geodataframe(conn, _SQL["profile"], params)
    stats = read_area_stats(conn, levels=[level], vintage=vintage)
    table, provenance, extra = _statistics(conn, gdf, stats, level=level)
    gdf = gdf.join(table, on="code")
    gdf["sources"] = _sources_by_area(provenance).reindex(gdf["code"]).fillna("").to_numpy()
    roads = _wide(conn, _SQL["roads"], params, value="km", prefix="road_km_", suffix="")
    zoning = _wide(conn, _SQL["zoning"], params, value="share", prefix="zoning_", suffix="_share")
    zoning = zoning.reindex(columns=[f"zoning_{c}_share" for c in ZONE_CLASSES], fill_value=0.0)
    gdf = gdf.join(roads.sum(axis=1).rename("road_km"), on="code")
    gdf = gdf.join(roads, on="code").join(zoning, on="code")
    roads_zoning = ["road_km", *roads.columns, *zoning.columns]
    gdf[roads_zoning] = gdf[roads_zoning].fillna(0.0)
    households = gdf["households"].astype(float)
    active = gdf["active_customers"].astype(float)
    gdf["penetration"] = active / households.where(households > 0)
    market = households + gdf["businesses"].astype(float)
    gdf["market_share_approx"] = active / market.where(market > 0)
    areas = _ordered(gdf, road_columns=list(roads.columns), extra=extra)
    return _Profile(areas=areas, provenance=provenance)


def _statistics(
    conn: Connection, gdf: gpd.GeoDataFrame, stats: pd.DataFrame, *, level: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The housing columns and any other statistic, indexed by code; their provenance (in
    the order of the columns); and the other statistics' names."""
    codes = pd.Index(gdf["code"], name="code")
    figures = stats.pivot(index="code", columns="measure", values="value")
    figures = figures.reindex(index=codes).rename_axis(columns=None)
    housing = area_housing(conn, level=level, codes=codes, stats=stats)
    stated_businesses = figures.get("businesses", pd.Series(np.nan, index=codes))
    leads = pd.Series(gdf["leads"].to_numpy(float), index=codes)
    extra = [m for m in figures.columns if m not in {*_HOUSING, *gdf.columns}]
    table = pd.DataFrame(
        {
            "population": figures.get("population", np.nan),
            "households": figures.get("households", np.nan),
            "dwellings": figures.get("dwellings", np.nan),
            **{m: housing.figures[m] for m in housing.figures.columns},
            "businesses": stated_businesses.fillna(leads),
            **{m: figures[m] for m in extra},
        },
        index=codes,
    )
    provenance = _provenance(
        stats, housing.provenance, businesses_from_leads=stated_businesses.isna()
    )
    # Measures in the order of the profile's columns, as people read them.
    rank = {m: i for i, m in enumerate([*_HOUSING, *extra])}
    provenance = provenance.sort_values(
        ["code", "measure"], key=lambda c: c.map(rank) if c.name == "measure" else c
    ).reset_index(drop=True)
    return table, provenance, extra


def _provenance(
    stats: pd.DataFrame, housing: pd.DataFrame, *, businesses_from_leads: pd.Series
) -> pd.DataFrame:
    """Every figure's provenance: the statistics read, the dwelling types (statistics or
    estimates) and the businesses counted from the leads where no statistic gives them."""
    columns = ["code", "measure", "source", "vintage", "method"]
    stated = stats[~stats["measure"].isin(DWELLING_MEASURES)][columns]
    counted = businesses_from_leads[businesses_from_leads].index
    leads = pd.DataFrame(
        {
            "code": counted,
            "measure": "businesses",
            "source": LEADS_SOURCE,
            "vintage": "leads as stored",
            "method": "leads in the area (no businesses statistic)",
        }
    )
    return pd.concat([stated, housing[columns], leads], ignore_index=True)


def _sources_by_area(provenance: pd.DataFrame) -> pd.Series:
    """Per code: ``"population, households: <source> (<vintage>); ..."``."""
    if provenance.empty:
        return pd.Series(dtype=object)
    grouped = (
        provenance.groupby(["code", "source", "vintage"], sort=False)["measure"]
        .agg(", ".join)
        .reset_index()
    )
    grouped["text"] = (
        grouped["measure"] + ": " + grouped["source"] + " (" + grouped["vintage"] + ")"
    )
    return grouped.groupby("code", sort=False)["text"].agg("; ".join)


def _wide(
    conn: Connection, sql: str, params: dict[str, str], *, value: str, prefix: str, suffix: str
) -> pd.DataFrame:
    """Long (code, class, value) rows as one column per class, indexed by code."""
    result = conn.execute(text(sql), params)
    long = pd.DataFrame(result.fetchall(), columns=["code", "class", value])
    wide = long.pivot(index="code", columns="class", values=value).astype(float)
    wide.columns = [f"{prefix}{c}{suffix}" for c in wide.columns]
    return wide.sort_index(axis=1)


def _ordered(
    gdf: gpd.GeoDataFrame, *, road_columns: list[str], extra: list[str]
) -> gpd.GeoDataFrame:
    first = ["level", "code", "name", "parent_code", "area_km2"]
    housing = [*_HOUSING, *extra]
    zoning = [f"zoning_{c}_share" for c in ZONE_CLASSES]
    columns = [*first, *housing, *_BUILDINGS, "road_km", *road_columns, *zoning, *_POINTS]
    gdf[housing] = gdf[housing].astype(float)
    for col in ("buildings", "customers", "active_customers", "leads"):
        gdf[col] = gdf[col].astype(np.int64)
    return gpd.GeoDataFrame(
        gdf[[*columns, "sources", "geometry"]], geometry="geometry", crs=gdf.crs
    )


@dataclass(frozen=True)
class ProfileFigures:
    """The static profile measures of every area, long form (``values``: level, code,
    measure, value), and where its statistics come from (``provenance``: level, code,
    measure, source, vintage, method)."""

    values: pd.DataFrame
    provenance: pd.DataFrame


def profile_figures(
    conn: Connection, *, levels: list[str] | None = None, vintage: str | None = None
) -> ProfileFigures:
    """The static profile measures of every area and their provenance, for the cube.

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    levels
        Levels to profile; None: every level of ``gcrm.area_levels``.
    vintage
        The vintage of the statistics (None: the latest of each figure).

    Returns
    -------
    ProfileFigures
        ``values``: columns ``level``, ``code``, ``measure`` (one of
        :data:`PROFILE_MEASURES` or ``road_km_<class>``), ``value`` (float; NaN where
        unknown, e.g. no dwellings figure). ``provenance``: one row per figure read from the
        statistics or estimated (population, households, dwellings and their types,
        businesses, any other statistic).
    """
    if levels is None:
        levels = level_names(conn)
    frames, sources = [], []
    for level in levels:  # a handful of levels: one set-based query batch each
        profile = _profile(conn, level=level, vintage=vintage)
        table = pd.DataFrame(profile.areas.drop(columns="geometry"))
        measures = [*PROFILE_MEASURES, *(c for c in table if c.startswith("road_km_"))]
        long = table.melt(id_vars=["level", "code"], value_vars=measures, var_name="measure")
        frames.append(long.astype({"value": float}))
        sources.append(profile.provenance.assign(level=level))
    columns = ["level", "code", "measure", "value"]
    source_columns = ["level", "code", "measure", "source", "vintage", "method"]
    if not frames:
        return ProfileFigures(pd.DataFrame(columns=columns), pd.DataFrame(columns=source_columns))
    return ProfileFigures(
        values=pd.concat(frames, ignore_index=True)[columns],
        provenance=pd.concat(sources, ignore_index=True)[source_columns],
    )


def profile_measures(
    conn: Connection, *, levels: list[str] | None = None, vintage: str | None = None
) -> pd.DataFrame:
    """The static profile measures of every area, long form: ``profile_figures(...).values``
    (columns ``level``, ``code``, ``measure``, ``value``)."""
    return profile_figures(conn, levels=levels, vintage=vintage).values
