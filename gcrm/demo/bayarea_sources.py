"""Source data of the San Francisco Bay Area region: MTC zones, land use and ZIP codes.

The zones and their land use ship inside the ``activitysim`` wheel as example data of the
Metropolitan Transportation Commission's (MTC) travel model; they are read by path, without
importing activitysim (installed with ``--no-deps``, most of its modules would not import).
ZIP code centroids come from the ``zipcodes`` package. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
import zipcodes

from gcrm.core import STORAGE_CRS, ConfigurationError, CRSMismatchError, ValidationError
from gcrm.demo._geom import polygonal_parts

__all__ = [
    "BAYAREA_METRIC_CRS",
    "COUNTY_NAMES",
    "LAND_USE_FILE",
    "LAND_USE_MEASURES",
    "MTC_COUNTY_FIPS",
    "SECTORS",
    "ZONES_FILE",
    "BayAreaSources",
    "activitysim_examples_dir",
    "read_bayarea_sources",
]

#: NAD83 / UTM zone 10N (metres): the CRS the MTC zone shapefile comes in. Areas, distances
#: and random points are computed in it; output is reprojected to EPSG:4326.
BAYAREA_METRIC_CRS = "EPSG:26910"
#: Paths inside ``activitysim/examples``.
ZONES_FILE = "prototype_mtc/notebooks/zone_shapefile/bayarea_rtaz1454_rev1.shp"
LAND_USE_FILE = "example_estimation/data_full/land_use.csv"
#: The nine Bay Area counties by FIPS code (state 06 = California).
COUNTY_NAMES = {
    "06001": "Alameda",
    "06013": "Contra Costa",
    "06041": "Marin",
    "06055": "Napa",
    "06075": "San Francisco",
    "06081": "San Mateo",
    "06085": "Santa Clara",
    "06095": "Solano",
    "06097": "Sonoma",
}
#: MTC's county numbers (``county_id`` in land_use.csv) -> FIPS code. The shapefile's own
#: FIPSSTCO column is empty for 79 zones, so the land use is the source of the county.
MTC_COUNTY_FIPS = {
    1: "06075",
    2: "06081",
    3: "06085",
    4: "06001",
    5: "06013",
    6: "06095",
    7: "06055",
    8: "06097",
    9: "06041",
}
#: Employment sectors of the MTC land use: key -> land_use.csv column.
SECTORS = {
    "retail": "RETEMPN",
    "financial_professional": "FPSEMPN",
    "health_education_recreation": "HEREMPN",
    "agriculture_natural_resources": "AGREMPN",
    "manufacturing_wholesale_transport": "MWTEMPN",
    "other": "OTHEMPN",
}
#: area_stats measure -> land_use.csv column.
LAND_USE_MEASURES = {
    "population": "TOTPOP",
    "households": "TOTHH",
    "jobs": "TOTEMP",
    **{f"jobs_{key}": column for key, column in SECTORS.items()},
    "residential_acres": "RESACRE",
    "commercial_acres": "CIACRE",
}
#: ZIP prefixes that cover the nine counties (94xxx, and 95xxx for San Jose, Sonoma, Solano).
_ZIP_PREFIXES = ("94", "95")
_ZIP_COLUMNS = ["postcode", "city", "lon", "lat", "x", "y"]


@dataclass(frozen=True)
class BayAreaSources:
    """Zones with their land use, and the ZIP code centroids of California's 94/95 ranges."""

    zones: gpd.GeoDataFrame  # zone, superdistrict, county (FIPS), LAND_USE_MEASURES; EPSG:26910
    zips: pd.DataFrame  # postcode, city, lon, lat (EPSG:4326), x, y (EPSG:26910)


def activitysim_examples_dir() -> Path:
    """The ``examples`` folder inside the installed activitysim package, found without import.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigurationError
        If activitysim is not installed.
    """
    spec = importlib.util.find_spec("activitysim")
    if spec is None or not spec.submodule_search_locations:
        msg = (
            "package 'activitysim' is not installed; the Bay Area region reads its example "
            "data. Install it with: pip install --no-deps activitysim"
        )
        raise ConfigurationError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "examples"


def read_bayarea_sources() -> BayAreaSources:
    """Read the MTC zones joined to their land use, and the candidate ZIP centroids.

    Returns
    -------
    BayAreaSources

    Raises
    ------
    ConfigurationError
        If activitysim is missing or lacks one of its example files.
    CRSMismatchError
        If the zone shapefile is not in EPSG:26910.
    ValidationError
        If zone ids or superdistricts of the shapefile and land_use.csv disagree.
    """
    examples = activitysim_examples_dir()
    zones = _read_zones(_example_file(examples, ZONES_FILE))
    land_use = _read_land_use(_example_file(examples, LAND_USE_FILE))
    return BayAreaSources(zones=_join_land_use(zones, land_use), zips=_read_zips())


def _example_file(examples: Path, relative: str) -> Path:
    path = examples / relative
    if not path.is_file():
        msg = (
            f"activitysim example file {relative!r} is missing under {examples}; install an "
            "activitysim release that ships it (pip install --no-deps 'activitysim>=1.6')"
        )
        raise ConfigurationError(msg)
    return path


def _read_zones(path: Path) -> gpd.GeoDataFrame:
    raw = pyogrio.read_dataframe(path, columns=["TAZ1454", "SUPERD"])
    if raw.crs is None or raw.crs.to_epsg() != 26910:
        msg = f"{path.name} has CRS {raw.crs}; expected {BAYAREA_METRIC_CRS} (UTM 10N)"
        raise CRSMismatchError(msg)
    geometry = polygonal_parts(shapely.make_valid(raw.geometry.values))
    zones = gpd.GeoDataFrame(
        {
            "zone": raw["TAZ1454"].astype(np.int64),
            "superdistrict": raw["SUPERD"].astype(np.int64),
        },
        geometry=geometry,
        crs=BAYAREA_METRIC_CRS,
    )
    return zones.sort_values("zone", kind="stable").reset_index(drop=True)


def _read_land_use(path: Path) -> pd.DataFrame:
    columns = ["zone_id", "SD", "county_id", *LAND_USE_MEASURES.values()]
    land_use = pd.read_csv(path)
    missing = sorted(set(columns) - set(land_use.columns))
    if missing:
        msg = f"{path} lacks columns {missing}; expected the MTC land use columns {columns}"
        raise ValidationError(msg)
    unknown = sorted(set(land_use["county_id"]) - set(MTC_COUNTY_FIPS))
    if unknown:
        msg = f"{path} has county_id values {unknown}; expected MTC's {sorted(MTC_COUNTY_FIPS)}"
        raise ValidationError(msg)
    return land_use[columns]


def _join_land_use(zones: gpd.GeoDataFrame, land_use: pd.DataFrame) -> gpd.GeoDataFrame:
    if set(zones["zone"]) != set(land_use["zone_id"]):
        odd = sorted(set(zones["zone"]) ^ set(land_use["zone_id"]))[:5]
        msg = f"zone ids of {ZONES_FILE} and {LAND_USE_FILE} differ (e.g. {odd}); use one release"
        raise ValidationError(msg)
    joined = zones.merge(land_use, left_on="zone", right_on="zone_id", validate="one_to_one")
    if (joined["SD"] != joined["superdistrict"]).any():
        msg = f"superdistricts of {ZONES_FILE} and {LAND_USE_FILE} disagree; use one release"
        raise ValidationError(msg)
    renamed = joined.rename(columns={v: k for k, v in LAND_USE_MEASURES.items()})
    renamed["county"] = renamed["county_id"].map(MTC_COUNTY_FIPS)
    columns = ["zone", "superdistrict", "county", *LAND_USE_MEASURES, "geometry"]
    return renamed[columns].sort_values("zone", kind="stable").reset_index(drop=True)


def _read_zips() -> pd.DataFrame:
    """Active STANDARD ZIP codes of California in the 94/95 ranges (PO boxes and unique
    large-volume ZIPs have no area of their own)."""
    records = [z for prefix in _ZIP_PREFIXES for z in zipcodes.similar_to(prefix)]
    frame = pd.DataFrame.from_records(records)
    keep = (
        (frame["state"] == "CA") & (frame["zip_code_type"] == "STANDARD") & frame["active"]
    ).to_numpy()
    frame = frame[keep]
    lon = frame["long"].astype(float).to_numpy()
    lat = frame["lat"].astype(float).to_numpy()
    to_metric = pyproj.Transformer.from_crs(STORAGE_CRS, BAYAREA_METRIC_CRS, always_xy=True)
    x, y = to_metric.transform(lon, lat)
    zips = pd.DataFrame(
        {
            "postcode": frame["zip_code"].to_numpy(),
            "city": frame["city"].to_numpy(),
            "lon": lon,
            "lat": lat,
            "x": x,
            "y": y,
        }
    )
    return zips.sort_values("postcode", kind="stable").reset_index(drop=True)[_ZIP_COLUMNS]
