"""Areas, statistics and the ZIP reference of the San Francisco Bay Area region.

Three nested levels from the MTC travel model: county > superdistrict > zone (TAZ). Zones
are the shapefile's polygons (made valid); superdistricts and counties are their unions.
Statistics are the zones' land use figures, summed up the hierarchy, so every level has the
same totals. Geometry work is done in UTM 10N (EPSG:26910, the shapefile's CRS) and the
results are reprojected explicitly to EPSG:4326 for storage.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.demo._geom import polygonal_parts
from gcrm.demo.bayarea_sources import BAYAREA_METRIC_CRS, COUNTY_NAMES, LAND_USE_MEASURES
from gcrm.demo.helsinki_areas import AREA_LEVEL_COLUMNS
from gcrm.demo.helsinki_stats import AREA_STAT_COLUMNS

__all__ = [
    "BAYAREA_LEVELS",
    "POSTCODE_COLUMNS",
    "STATS_SOURCE",
    "STATS_VINTAGE",
    "build_bayarea_area_levels",
    "build_bayarea_area_stats",
    "build_bayarea_areas",
    "build_postcodes",
]

BAYAREA_LEVELS = ("county", "superdistrict", "zone")
POSTCODE_COLUMNS = ["postcode", "city", "lon", "lat", "county"]
STATS_SOURCE = "MTC travel model land use (activitysim example data)"
#: land_use.csv carries no year; its totals (7.57 M people, 2.76 M households, 4.01 M jobs)
#: are those of the Bay Area around 2015, the base year of MTC's Travel Model One inputs.
STATS_VINTAGE = "2015 base year (activitysim example)"
_ORIGIN = "MTC travel model zones (TAZ1454) from activitysim's example data"
_DERIVATION = {
    "county": f"union of the {_ORIGIN} in the county (MTC county_id)",
    "superdistrict": f"union of the {_ORIGIN} with the superdistrict number (SUPERD)",
    "zone": f"{_ORIGIN}, polygon made valid",
}
_LABELS = {"county": "County", "superdistrict": "Superdistrict", "zone": "Travel analysis zone"}
#: Acres are summed in hundredths so that totals are exactly equal at every level.
_ACRE_MEASURES = ("residential_acres", "commercial_acres")


def build_bayarea_area_levels() -> pd.DataFrame:
    """County (rank 1), superdistrict (rank 2, in a county), zone (rank 3, in a superdistrict).

    Returns
    -------
    pandas.DataFrame
        Columns ``AREA_LEVEL_COLUMNS``.
    """
    parents = ("", "county", "superdistrict")
    rows = [
        (level, parent, rank, _LABELS[level], _DERIVATION[level])
        for rank, (level, parent) in enumerate(zip(BAYAREA_LEVELS, parents, strict=True), 1)
    ]
    return pd.DataFrame(rows, columns=AREA_LEVEL_COLUMNS)


def build_bayarea_areas(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Counties, superdistricts and zones as one frame, every area with its parent.

    Parameters
    ----------
    zones
        ``BayAreaSources.zones`` (EPSG:26910).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``AREA_COLUMNS``, valid (Multi)Polygons in EPSG:4326, ordered by level rank
        then code.

    Raises
    ------
    ValidationError
        If a superdistrict's zones lie in no known county.
    """
    sd_county = _majority_parent(zones["superdistrict"], zones["county"])
    counties = _dissolve(zones, "county")
    superdistricts = _dissolve(zones, "superdistrict")
    frames = [
        _area_frame(
            "county",
            codes=counties.index.to_numpy(),
            names=counties.index.map(COUNTY_NAMES).to_numpy(),
            parents=np.full(len(counties), ""),
            geometry=counties.to_numpy(),
        ),
        _area_frame(
            "superdistrict",
            codes=_superdistrict_codes(superdistricts.index),
            names=("Superdistrict " + superdistricts.index.astype(str)).to_numpy(),
            parents=sd_county.loc[superdistricts.index].to_numpy(),
            geometry=superdistricts.to_numpy(),
        ),
        _area_frame(
            "zone",
            codes=zones["zone"].astype(str).to_numpy(),
            names=("TAZ " + zones["zone"].astype(str)).to_numpy(),
            parents=_superdistrict_codes(zones["superdistrict"]),
            geometry=zones.geometry.to_numpy(),
        ),
    ]
    areas = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(areas, geometry="geometry", crs=STORAGE_CRS)


def build_bayarea_area_stats(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Land use figures of every area at every level, long form.

    Zones carry their land_use.csv values; superdistricts and counties the sums of their
    zones. Counts are integers; acres have two decimals and are summed exactly.

    Parameters
    ----------
    zones
        ``BayAreaSources.zones``.

    Returns
    -------
    pandas.DataFrame
        Columns ``AREA_STAT_COLUMNS``, ordered by level rank, code (zones numerically) and
        measure.
    """
    wide = zones[list(LAND_USE_MEASURES)].copy()
    for measure in _ACRE_MEASURES:
        wide[measure] = np.rint(wide[measure].to_numpy(float) * 100).astype(np.int64)
    keys = {
        "county": zones["county"],
        "superdistrict": pd.Series(_superdistrict_codes(zones["superdistrict"])),
        "zone": zones["zone"].astype(str),
    }
    frames = [_level_stats(level, wide, keys[level]) for level in BAYAREA_LEVELS]
    return pd.concat(frames, ignore_index=True)[AREA_STAT_COLUMNS]


def build_postcodes(zips: pd.DataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """The ZIP codes whose centroid lies in a zone: the region's postcode-level reference.

    Parameters
    ----------
    zips
        ``BayAreaSources.zips``.
    zones
        ``BayAreaSources.zones`` (EPSG:26910).

    Returns
    -------
    pandas.DataFrame
        Columns ``POSTCODE_COLUMNS`` plus ``x``, ``y`` (EPSG:26910) and ``zone`` (row index
        into ``zones``), sorted by postcode. ``county`` is the name of the county the
        centroid lies in.

    Raises
    ------
    ValidationError
        If no ZIP centroid lies in the region.
    """
    points = shapely.points(zips["x"].to_numpy(), zips["y"].to_numpy())
    idx_point, idx_zone = shapely.STRtree(zones.geometry.values).query(points, predicate="within")
    # A centroid on a shared edge is within neither zone; one inside two (overlap) keeps the first.
    first = np.unique(idx_point, return_index=True)[1]
    inside = zips.iloc[idx_point[first]].copy()
    inside["zone"] = idx_zone[first]
    if inside.empty:
        msg = "no ZIP centroid lies inside the zones; check that zips and zones share a CRS"
        raise ValidationError(msg)
    inside["county"] = zones["county"].to_numpy()[inside["zone"]]
    inside["county"] = inside["county"].map(COUNTY_NAMES)
    return inside[[*POSTCODE_COLUMNS, "x", "y", "zone"]].reset_index(drop=True)


def _majority_parent(child: pd.Series, parent: pd.Series) -> pd.Series:
    """Parent code of each child code: the parent most of its rows carry (ties: lowest)."""
    counts = pd.crosstab(child, parent)
    if counts.empty:
        msg = "zones is empty; pass BayAreaSources.zones"
        raise ValidationError(msg)
    return counts.idxmax(axis=1)


def _dissolve(zones: gpd.GeoDataFrame, key: str) -> pd.Series:
    """Union of the zone polygons per ``key`` value (one union per group, not per zone)."""
    groups = zones.groupby(key, sort=True).indices
    geoms = zones.geometry.to_numpy()
    unions = [shapely.union_all(geoms[rows]) for rows in groups.values()]
    return pd.Series(polygonal_parts(shapely.make_valid(np.array(unions))), index=list(groups))


def _superdistrict_codes(numbers: pd.Series | pd.Index) -> np.ndarray:
    return np.array([f"SD{n:02d}" for n in numbers], dtype=object)


def _area_frame(
    level: str, *, codes: np.ndarray, names: np.ndarray, parents: np.ndarray, geometry: np.ndarray
) -> gpd.GeoDataFrame:
    """One level's rows, reprojected explicitly from UTM 10N to EPSG:4326 and made valid."""
    metric = gpd.GeoSeries(geometry, crs=BAYAREA_METRIC_CRS)
    lonlat = polygonal_parts(shapely.make_valid(metric.to_crs(STORAGE_CRS).to_numpy()))
    frame = pd.DataFrame(
        {
            "level": level,
            "code": codes,
            "name": names,
            "parent_code": parents,
            "derivation": _DERIVATION[level],
        }
    )
    return gpd.GeoDataFrame(frame, geometry=lonlat, crs=STORAGE_CRS)


def _level_stats(level: str, wide: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    sums = wide.groupby(key.to_numpy(), sort=False).sum()
    # Zones keep their numeric order (text order would put "10" before "2").
    sums = sums.loc[key.to_numpy()] if level == "zone" else sums.sort_index()
    long = (
        sums.rename_axis("code")
        .reset_index()
        .melt(id_vars="code", var_name="measure", value_name="value")
    )
    long["order"] = long["code"].map({c: i for i, c in enumerate(sums.index)})
    long["measure_order"] = long["measure"].map({m: i for i, m in enumerate(LAND_USE_MEASURES)})
    long = long.sort_values(["order", "measure_order"], kind="stable")
    acres = long["measure"].isin(_ACRE_MEASURES).to_numpy()
    # Object column: counts print as integers, acres with their two decimals.
    values = long["value"].to_numpy().astype(object)
    values[acres] = long["value"].to_numpy()[acres] / 100
    long["value"] = values
    long["level"] = level
    long["source"] = STATS_SOURCE
    long["vintage"] = STATS_VINTAGE
    long["method"] = "zone value" if level == "zone" else "sum of zones"
    return long.reset_index(drop=True)
