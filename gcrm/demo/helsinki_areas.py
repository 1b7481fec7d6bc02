"""Derived small areas of the demo region: districts, postcode areas and an H3 hexagon grid.

Central Helsinki's OpenStreetMap extract has no area boundaries, so they are derived and
labelled as such. Voronoi cells and clipping are computed in ETRS-TM35FIN (EPSG:3067,
metres) because Voronoi cells in degrees would be stretched east-west at 60° N; H3 cells are
defined in longitude/latitude and reprojected to EPSG:3067 before clipping.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.areas.hexes import build_hexes as build_h3_hexes
from gcrm.core import METRIC_CRS, STORAGE_CRS, ValidationError
from gcrm.demo._geom import polygonal_parts

__all__ = [
    "AREA_COLUMNS",
    "AREA_LEVEL_COLUMNS",
    "DISTRICT_PLACES",
    "H3_RESOLUTION",
    "LEVEL_ORDER",
    "REGION_BUFFER_M",
    "build_area_levels",
    "build_areas",
    "build_region",
]

AREA_COLUMNS = ["level", "code", "name", "parent_code", "derivation"]
AREA_LEVEL_COLUMNS = ["level", "parent_level", "rank", "label", "derivation"]
LEVEL_ORDER = ("district", "hex", "postcode")
#: The region is the convex hull of address points and roads, buffered by this many metres.
REGION_BUFFER_M = 100.0
#: ``place`` values whose named nodes seed the districts.
DISTRICT_PLACES = ("suburb", "neighbourhood", "quarter")
H3_RESOLUTION = 9
#: Finnish area postcodes end in 0; others (00014, 00099, 00101, ...) are PO boxes and
#: large-volume recipients, which have addresses but no area of their own.
AREA_POSTCODE_PATTERN = r"\d{4}0"

DISTRICT_DERIVATION = "Voronoi cell of the OSM place node, clipped to the region"
HEX_DERIVATION = (
    f"H3 res-{H3_RESOLUTION} cell clipped to the region; parent = district holding its centroid"
)
POSTCODE_DERIVATION = (
    "Voronoi cells of OSM address points dissolved by postcode, clipped to the region"
)


def build_area_levels() -> pd.DataFrame:
    """The area levels of the demo: district and its hexagons, and postcode areas.

    Returns
    -------
    pandas.DataFrame
        Columns ``AREA_LEVEL_COLUMNS``.
    """
    rows = [
        ("district", "", 1, "District", DISTRICT_DERIVATION),
        ("hex", "district", 2, f"H3 hexagon (res {H3_RESOLUTION})", HEX_DERIVATION),
        ("postcode", "", 1, "Postcode area", POSTCODE_DERIVATION),
    ]
    return pd.DataFrame(rows, columns=AREA_LEVEL_COLUMNS)


def build_region(addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> shapely.Polygon:
    """The demo region: convex hull of address points and roads, buffered ``REGION_BUFFER_M``.

    Parameters
    ----------
    addresses, roads
        Address points and road lines (any CRS; reprojected to EPSG:3067).

    Returns
    -------
    shapely.Polygon
        The region in EPSG:3067 (metres).
    """
    geoms = np.concatenate(
        [addresses.geometry.to_crs(METRIC_CRS).values, roads.geometry.to_crs(METRIC_CRS).values]
    )
    hull = shapely.convex_hull(shapely.GeometryCollection(list(geoms)))
    return shapely.buffer(hull, REGION_BUFFER_M, quad_segs=8)


def build_areas(
    region_m: shapely.Polygon, *, places: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Every area of every level, tiling the region without overlaps within a level.

    Parameters
    ----------
    region_m
        The region in EPSG:3067 from :func:`build_region`.
    places
        OSM place nodes with ``name`` and ``place`` (EPSG:4326).
    addresses
        Address points from :func:`gcrm.demo.helsinki_layers.build_addresses`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``AREA_COLUMNS``, (Multi)Polygon geometry in EPSG:4326, sorted by level
        (``LEVEL_ORDER``) and code.
    """
    districts = build_districts(region_m, places=places)
    postcodes = build_postcode_areas(region_m, addresses=addresses)
    hexes = build_hexes(region_m, districts=districts)
    areas = pd.concat([districts, hexes, postcodes], ignore_index=True)
    areas = gpd.GeoDataFrame(areas, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)
    return areas[[*AREA_COLUMNS, "geometry"]]


def build_districts(region_m: shapely.Polygon, *, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Districts: Voronoi cells of the named place nodes, clipped to the region (EPSG:3067).

    Raises
    ------
    ValidationError
        If no named place node with a ``place`` in ``DISTRICT_PLACES`` lies in the region.
    """
    seeds = places[places["place"].isin(DISTRICT_PLACES) & places["name"].fillna("").ne("")]
    seeds = seeds.to_crs(METRIC_CRS)
    seeds = seeds[seeds.geometry.within(region_m)]
    seeds = seeds.sort_values(["name", "id"]).drop_duplicates("name", keep="first")
    if seeds.empty:
        msg = f"places has no named node with place in {DISTRICT_PLACES} inside the region; pass the OSM place nodes"
        raise ValidationError(msg)
    cells = _voronoi_cells(seeds.geometry.values, region_m)
    return gpd.GeoDataFrame(
        {
            "level": "district",
            "code": [f"D{i + 1:02d}" for i in range(len(seeds))],
            "name": seeds["name"].to_numpy(),
            "parent_code": "",
            "derivation": DISTRICT_DERIVATION,
        },
        geometry=cells,
        crs=METRIC_CRS,
    )


def build_postcode_areas(
    region_m: shapely.Polygon, *, addresses: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Postcode areas: Voronoi cells of address points dissolved by postcode (EPSG:3067).

    Only area postcodes (``AREA_POSTCODE_PATTERN``) seed cells; where several addresses
    share a location, the lowest (postcode, ref) wins.
    """
    seeds = addresses[addresses["postcode"].str.fullmatch(AREA_POSTCODE_PATTERN)].to_crs(METRIC_CRS)
    xy = shapely.get_coordinates(seeds.geometry.values).round(2)
    seeds = seeds.assign(_x=xy[:, 0], _y=xy[:, 1]).sort_values(["postcode", "ref"])
    seeds = seeds.drop_duplicates(["_x", "_y"], keep="first")
    cells = gpd.GeoDataFrame(
        {"code": seeds["postcode"].to_numpy()},
        geometry=_voronoi_cells(seeds.geometry.values, region_m),
        crs=METRIC_CRS,
    )
    merged = cells.dissolve(by="code", sort=True).reset_index()
    merged["geometry"] = polygonal_parts(merged.geometry.values)
    return gpd.GeoDataFrame(
        {
            "level": "postcode",
            "code": merged["code"],
            "name": merged["code"] + " Helsinki",
            "parent_code": "",
            "derivation": POSTCODE_DERIVATION,
        },
        geometry=merged.geometry.values,
        crs=METRIC_CRS,
    )


def build_hexes(region_m: shapely.Polygon, *, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """H3 cells overlapping the region, clipped to it, each under the district holding its
    centroid (:func:`gcrm.areas.hexes.build_hexes`); in EPSG:3067 like the other levels, so all
    levels share the region's exact edge."""
    return build_h3_hexes(
        districts, resolution=H3_RESOLUTION, level="hex", region=region_m, derivation=HEX_DERIVATION
    )


def _voronoi_cells(points: np.ndarray, region_m: shapely.Polygon) -> np.ndarray:
    """Voronoi cell of each point (in input order), clipped to the region."""
    if len(points) == 1:
        return np.array([region_m], dtype=object)
    extent = shapely.buffer(shapely.envelope(region_m), 1000.0)
    diagram = shapely.voronoi_polygons(
        shapely.MultiPoint(list(points)), extend_to=extent, ordered=True
    )
    cells = shapely.get_parts(diagram)
    return polygonal_parts(shapely.intersection(cells, region_m))
