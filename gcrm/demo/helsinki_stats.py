"""Population, households and dwellings estimated from OpenStreetMap buildings.

These are estimates, not statistics: residential floor area (footprint x levels x the
residential share of the building type) divided by floor area per person or per dwelling.
Every estimate sits at a point (a building's representative point, or an address point
outside any mapped building) and is summed into the area containing it, at every level, so
the totals of every level are equal.

Calibrated against published figures (:mod:`gcrm.demo.helsinki_reference`): the residential
share of central Helsinki's untyped blocks (``building=yes``/``block``, 337 of the 435
buildings that count) was a guess of one half, which put the region's population at 27,420,
about 4.5 times the 6,025 of the published densities. Shops, offices, the university and
department stores fill those blocks; the share that makes the region's total meet the
published one is 0.067, used as :data:`UNTYPED_RESIDENTIAL_SHARE` = 0.07.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.core import METRIC_CRS
from gcrm.demo._geom import assign_to_areas
from gcrm.demo.helsinki_areas import LEVEL_ORDER
from gcrm.ingest.osm import osm_tag

__all__ = [
    "AREA_STAT_COLUMNS",
    "DEFAULT_LEVELS",
    "FALLBACK_FLOOR_M2",
    "M2_PER_DWELLING",
    "M2_PER_PERSON",
    "PERSONS_PER_HOUSEHOLD",
    "RESIDENTIAL_SHARE",
    "UNTYPED_RESIDENTIAL_SHARE",
    "HousingPoints",
    "build_area_stats",
    "estimate_housing",
]

AREA_STAT_COLUMNS = ["level", "code", "measure", "value", "source", "vintage", "method"]
#: Share of an untyped central block's floor area that is homes, calibrated so that the
#: region's total meets the published figures (see the module docstring and data/README.md).
UNTYPED_RESIDENTIAL_SHARE = 0.07
#: Share of a building's floor area that is homes, by OSM ``building`` value. Central
#: Helsinki's untyped blocks (``yes``, ``block``) are mostly shops and offices.
#: Every other value (office, retail, public, church, school, ...) counts no homes.
RESIDENTIAL_SHARE = {
    "apartments": 1.0,
    "residential": 1.0,
    "house": 1.0,
    "detached": 1.0,
    "terrace": 1.0,
    "dormitory": 1.0,
    "yes": UNTYPED_RESIDENTIAL_SHARE,
    "block": UNTYPED_RESIDENTIAL_SHARE,
}
#: Storeys assumed where ``building:levels`` is missing or unreadable (a typical central
#: Helsinki block); readable values are clipped to 1..30.
DEFAULT_LEVELS = 5.0
M2_PER_PERSON = 40.0
M2_PER_DWELLING = 65.0
PERSONS_PER_HOUSEHOLD = 1.8
#: Residential floor area credited to an address point outside every mapped building: a
#: typical untyped block (600 m² footprint x 5 levels x the untyped share).
FALLBACK_FLOOR_M2 = 600.0 * DEFAULT_LEVELS * UNTYPED_RESIDENTIAL_SHARE
#: Buildings smaller than this footprint are sheds and kiosks, not homes.
MIN_FOOTPRINT_M2 = 30.0

SOURCE = "gcrm estimate from OpenStreetMap buildings"
LEADS_SOURCE = "gcrm count of OpenStreetMap points of interest (leads)"
VINTAGE = "OSM 2019 extract"
METHODS = {
    "population": "floor_area_per_person",
    "households": "population_per_household_size",
    "dwellings": "floor_area_per_dwelling",
    "businesses": "lead_count",
}


@dataclass(frozen=True)
class HousingPoints:
    """Housing estimates at points (EPSG:3067) plus the dwellings of each address point."""

    points: gpd.GeoDataFrame  # columns population, households, dwellings
    address_dwellings: np.ndarray  # float, aligned with the addresses passed in


def estimate_housing(
    buildings: gpd.GeoDataFrame, *, addresses: gpd.GeoDataFrame, region_m: shapely.Polygon
) -> HousingPoints:
    """Estimate population, households and dwellings at building and address points.

    Parameters
    ----------
    buildings
        pyrosm ``get_buildings()`` polygons (EPSG:4326).
    addresses
        Address points from :func:`gcrm.demo.helsinki_layers.build_addresses`.
    region_m
        The region (EPSG:3067); estimates whose point lies outside it are dropped.

    Returns
    -------
    HousingPoints
        Integer estimates per point, and per address point the dwellings it stands for (its
        building's dwellings shared among the addresses inside it, or the fallback).
    """
    footprints = buildings.geometry.to_crs(METRIC_CRS).values
    share = osm_tag(buildings, "building").map(RESIDENTIAL_SHARE).fillna(0.0).to_numpy(float)
    levels = pd.to_numeric(osm_tag(buildings, "building:levels"), errors="coerce")
    levels = levels.fillna(DEFAULT_LEVELS).clip(1.0, 30.0).to_numpy(float)
    area = shapely.area(footprints)
    floor = np.where(area >= MIN_FOOTPRINT_M2, area * levels * share, 0.0)

    address_pts = addresses.geometry.to_crs(METRIC_CRS).values
    addr_idx, bldg_idx = shapely.STRtree(footprints).query(address_pts, predicate="intersects")
    outside = np.ones(len(address_pts), dtype=bool)
    outside[addr_idx] = False

    points = np.concatenate([shapely.point_on_surface(footprints), address_pts[outside]])
    floor_all = np.concatenate([floor, np.full(int(outside.sum()), FALLBACK_FLOOR_M2)])
    inside = shapely.contains_xy(region_m, *shapely.get_coordinates(points).T)
    estimates = _from_floor_area(floor_all[inside])
    housing = gpd.GeoDataFrame(estimates, geometry=points[inside], crs=METRIC_CRS)
    return HousingPoints(
        points=housing[housing["population"] + housing["dwellings"] > 0].reset_index(drop=True),
        address_dwellings=_address_dwellings(floor, addr_idx, bldg_idx, outside),
    )


def _from_floor_area(floor_m2: np.ndarray) -> pd.DataFrame:
    population = np.rint(floor_m2 / M2_PER_PERSON)
    return pd.DataFrame(
        {
            "population": population.astype(np.int64),
            "households": np.rint(population / PERSONS_PER_HOUSEHOLD).astype(np.int64),
            "dwellings": np.rint(floor_m2 / M2_PER_DWELLING).astype(np.int64),
        }
    )


def _address_dwellings(
    floor: np.ndarray, addr_idx: np.ndarray, bldg_idx: np.ndarray, outside: np.ndarray
) -> np.ndarray:
    per_building = floor / M2_PER_DWELLING
    addresses_in = np.bincount(bldg_idx, minlength=len(floor)).astype(float)
    shared = per_building[bldg_idx] / np.maximum(addresses_in[bldg_idx], 1.0)
    dwellings = np.where(outside, FALLBACK_FLOOR_M2 / M2_PER_DWELLING, 0.0)
    np.add.at(dwellings, addr_idx, shared)
    return dwellings


def build_area_stats(
    areas: gpd.GeoDataFrame, *, housing: gpd.GeoDataFrame, leads: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Long-form stats for every area of every level.

    Parameters
    ----------
    areas
        Areas from :func:`gcrm.demo.helsinki_areas.build_areas` (EPSG:4326).
    housing
        ``HousingPoints.points`` from :func:`estimate_housing` (EPSG:3067).
    leads
        Leads from :func:`gcrm.demo.helsinki_layers.build_leads`; those inside the region are
        counted as ``businesses``.

    Returns
    -------
    pandas.DataFrame
        Columns ``AREA_STAT_COLUMNS``, one row per (level, code, measure), sorted.
    """
    areas_m = areas.to_crs(METRIC_CRS)
    region = shapely.union_all(areas_m.loc[areas_m["level"] == LEVEL_ORDER[0]].geometry.values)
    lead_pts = leads.geometry.to_crs(METRIC_CRS).values
    lead_pts = lead_pts[shapely.contains_xy(region, *shapely.get_coordinates(lead_pts).T)]
    frames = [
        _level_stats(areas_m[areas_m["level"] == level], housing=housing, lead_points=lead_pts)
        for level in LEVEL_ORDER
    ]
    stats = pd.concat(frames, ignore_index=True)
    stats["source"] = np.where(stats["measure"] == "businesses", LEADS_SOURCE, SOURCE)
    stats["vintage"] = VINTAGE
    stats["method"] = stats["measure"].map(METHODS)
    return stats[AREA_STAT_COLUMNS]


def _level_stats(
    level_areas: gpd.GeoDataFrame, *, housing: gpd.GeoDataFrame, lead_points: np.ndarray
) -> pd.DataFrame:
    codes = level_areas["code"].to_numpy()
    geoms = level_areas.geometry.values
    at = assign_to_areas(housing.geometry.values, geoms)
    sums = {
        m: np.bincount(at, weights=housing[m], minlength=len(codes))
        for m in METHODS
        if m in housing
    }
    sums["businesses"] = np.bincount(assign_to_areas(lead_points, geoms), minlength=len(codes))
    wide = pd.DataFrame({"code": codes, **{m: sums[m] for m in METHODS}})
    long = wide.melt(id_vars="code", var_name="measure", value_name="value")
    long["value"] = np.rint(long["value"]).astype(np.int64)
    long["level"] = level_areas["level"].iloc[0]
    long["measure"] = pd.Categorical(long["measure"], categories=list(METHODS), ordered=True)
    long = long.sort_values(["code", "measure"]).astype({"measure": str})
    return long.reset_index(drop=True)
