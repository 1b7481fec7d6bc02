"""OpenStreetMap extracts (``.osm.pbf``) as gcrm layers: addresses, roads, zones, buildings, leads.

:func:`read_osm_layers` reads any extract with pyrosm and returns one GeoDataFrame per layer
in exactly the column contract of the matching importer (:data:`gcrm.ingest.specs.LAYERS`),
so each can go through :func:`gcrm.ingest.frames.import_frame` unchanged. The ``osm_*``
functions convert one raw pyrosm layer each; the demo builder (:mod:`gcrm.demo`) uses them
too, with its own Helsinki-specific options.

Every pyrosm call is wrapped in ``warnings.catch_warnings``: pyrosm and its dependencies
warn about pandas / shapely APIs they still use, which is noise for gcrm's users.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.ingest.frames import import_frame
from gcrm.ingest.specs import LAYERS
from gcrm.ingest.validate import ImportReport

__all__ = [
    "ADDRESS_COLUMNS",
    "ADDRESS_TAGS",
    "BUILDING_COLUMNS",
    "BUILDING_USE",
    "DEFAULT_SPEED_KMH",
    "IMPORT_ORDER",
    "LANDUSE_CLASS",
    "LEAD_COLUMNS",
    "LEAD_EXCLUDED",
    "LEAD_KEYS",
    "NAMED_SPEED_KMH",
    "OSM_LAYERS",
    "ROAD_COLUMNS",
    "ZONE_COLUMNS",
    "import_osm",
    "osm_addresses",
    "osm_buildings",
    "osm_leads",
    "osm_refs",
    "osm_roads",
    "osm_tag",
    "osm_tags",
    "osm_zones",
    "read_osm_layers",
    "read_osm_raw",
    "sort_osm_features",
]

#: Layers :func:`read_osm_layers` can produce, each named like its importer kind.
OSM_LAYERS = ("addresses", "roads", "zones", "buildings", "leads")
#: The order :func:`import_osm` loads layers in: reference layers first, leads last.
IMPORT_ORDER = ("zones", "roads", "buildings", "addresses", "leads")

# The importers' contracts (gcrm.ingest.specs.LAYERS), so the two can never drift apart.
# OSM addresses carry no ``source`` column: the importer fills it.
ADDRESS_COLUMNS = [c for c in LAYERS["addresses"].columns if c != "source"]
ROAD_COLUMNS = LAYERS["roads"].columns
ZONE_COLUMNS = LAYERS["zones"].columns
BUILDING_COLUMNS = LAYERS["buildings"].columns
LEAD_COLUMNS = LAYERS["leads"].columns
_COLUMNS = {
    "addresses": ADDRESS_COLUMNS,
    "roads": ROAD_COLUMNS,
    "zones": ZONE_COLUMNS,
    "buildings": BUILDING_COLUMNS,
    "leads": LEAD_COLUMNS,
}

#: Tags read as columns for address features.
ADDRESS_TAGS = ["addr:street", "addr:housenumber", "addr:postcode", "addr:city", "addr:unit"]
#: The OSM keys that make a point of interest a possible lead, in order of precedence.
LEAD_KEYS = ["shop", "amenity", "office", "tourism", "craft", "leisure"]

#: Speed (km/h) by OSM highway class where ``maxspeed`` is missing or unreadable (``_link``
#: roads as their base class): European urban defaults, residential streets at 30.
DEFAULT_SPEED_KMH = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 50.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 20.0,
    "service": 20.0,
}
FALLBACK_SPEED_KMH = 30.0
#: Speed limits written as words rather than numbers (implicit limits).
NAMED_SPEED_KMH = {"FI:urban": 50.0, "FI:rural": 80.0, "walk": 6.0}
MPH_TO_KMH = 1.609344

#: Zoning class by OSM ``landuse``; any other value is ``other``.
LANDUSE_CLASS = {
    "residential": "residential",
    "commercial": "commercial",
    "retail": "commercial",
    "office": "commercial",
    "industrial": "industrial",
    "port": "industrial",
    "depot": "industrial",
    "business_park": "industrial",
    "logistics": "industrial",
    "warehouse": "industrial",
    "quarry": "industrial",
    "mixed": "mixed",
    "mixed_use": "mixed",
}

#: Building use by OSM ``building`` value; any other value (``yes``, ``roof``, ``garage``,
#: ``shed``, ...) is ``other``.
BUILDING_USE = {
    **dict.fromkeys(
        [
            "apartments",
            "residential",
            "house",
            "detached",
            "semidetached_house",
            "terrace",
            "dormitory",
            "bungalow",
            "cabin",
            "farm",
            "houseboat",
            "static_caravan",
        ],
        "residential",
    ),
    **dict.fromkeys(
        ["commercial", "retail", "office", "shop", "supermarket", "kiosk", "hotel"],
        "commercial",
    ),
    **dict.fromkeys(
        ["industrial", "warehouse", "manufacture", "factory", "hangar", "storage_tank", "silo"],
        "industrial",
    ),
    **dict.fromkeys(
        [
            "public",
            "civic",
            "government",
            "school",
            "university",
            "college",
            "kindergarten",
            "hospital",
            "church",
            "chapel",
            "cathedral",
            "mosque",
            "synagogue",
            "temple",
            "religious",
            "train_station",
            "transportation",
            "fire_station",
            "museum",
            "sports_hall",
            "stadium",
        ],
        "public",
    ),
}

#: Points of interest that are street furniture or infrastructure, not businesses/amenities.
LEAD_EXCLUDED: dict[str, frozenset[str]] = {
    "amenity": frozenset(
        {
            "atm",
            "bbq",
            "bench",
            "bicycle_parking",
            "bicycle_rental",
            "bicycle_repair_station",
            "bus_station",
            "charging_station",
            "clock",
            "drinking_water",
            "fountain",
            "grit_bin",
            "life_ring",
            "motorcycle_parking",
            "parking",
            "parking_entrance",
            "parking_space",
            "post_box",
            "recycling",
            "shelter",
            "taxi",
            "telephone",
            "toilets",
            "vending_machine",
            "waste_basket",
            "waste_disposal",
            "artwork",
            "bandstand",
            "ferry_terminal",
            "fire_station",
            "marketplace",
        }
    ),
    "tourism": frozenset({"artwork", "information", "attraction", "viewpoint", "picnic_site"}),
    "leisure": frozenset(
        {
            "park",
            "playground",
            "pitch",
            "garden",
            "fitness_station",
            "slipway",
            "outdoor_seating",
            "bandstand",
            "picnic_table",
            "common",
            "nature_reserve",
        }
    ),
}

_POLYGONAL = [3, 6]  # shapely type ids of Polygon and MultiPolygon
_TYPE_RANK = {"way": 0, "relation": 1, "node": 2}


# --------------------------------------------------------------------------- reading


def read_osm_raw(
    path: Path | str, *, layers: Iterable[str] = OSM_LAYERS
) -> dict[str, gpd.GeoDataFrame]:
    """Read the raw pyrosm layers behind ``layers`` from an ``.osm.pbf`` extract.

    Parameters
    ----------
    path
        An OpenStreetMap PBF extract.
    layers
        Any of :data:`OSM_LAYERS`.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Per layer the pyrosm features (addresses: anything with ``addr:housenumber``; roads:
        the driving network; zones: land use; buildings; leads: points of interest with any of
        :data:`LEAD_KEYS`), in EPSG:4326, sorted by OSM type and id so that everything derived
        from them is deterministic. A layer the extract lacks is an empty frame.

    Raises
    ------
    ValidationError
        When ``path`` does not exist or is not a ``.pbf`` file, or ``layers`` names an
        unknown layer.
    """
    import pyrosm

    path = _check_pbf(path)
    wanted = _check_layers(layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(str(path))
        readers = {
            "addresses": lambda: osm.get_data_by_custom_criteria(
                custom_filter={"addr:housenumber": True},
                filter_type="keep",
                keep_nodes=True,
                keep_ways=True,
                keep_relations=True,
                tags_as_columns=ADDRESS_TAGS,
            ),
            "roads": lambda: osm.get_network(network_type="driving"),
            "zones": osm.get_landuse,
            "buildings": osm.get_buildings,
            "leads": lambda: osm.get_pois(custom_filter={key: True for key in LEAD_KEYS}),
        }
        return {layer: sort_osm_features(readers[layer]()) for layer in wanted}


def _check_pbf(path: Path | str) -> Path:
    path = Path(path)
    if not path.is_file():
        msg = f"OSM file {str(path)!r} does not exist; pass the path of an .osm.pbf extract"
        raise ValidationError(msg)
    if path.suffix.lower() != ".pbf":
        msg = (
            f"OSM file {str(path)!r} has suffix {path.suffix!r}; expected an .osm.pbf extract "
            "(convert .osm XML with osmium cat FILE.osm -o FILE.osm.pbf)"
        )
        raise ValidationError(msg)
    return path


def _check_layers(layers: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(layers))
    unknown = sorted(set(wanted) - set(OSM_LAYERS))
    if unknown or not wanted:
        msg = f"layers {unknown or wanted!r} unknown or empty; expected some of {list(OSM_LAYERS)}"
        raise ValidationError(msg)
    return wanted


def sort_osm_features(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """pyrosm features in EPSG:4326 sorted by OSM type and id; None becomes an empty frame."""
    if frame is None or len(frame) == 0:
        return gpd.GeoDataFrame(
            {"osm_type": pd.Series(dtype=object), "id": pd.Series(dtype="int64")},
            geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
            crs=STORAGE_CRS,
        )
    frame = frame.set_crs(STORAGE_CRS, allow_override=True)
    frame = frame.assign(osm_type=frame["osm_type"].astype(str), id=frame["id"].astype("int64"))
    return frame.sort_values(["osm_type", "id"], kind="stable").reset_index(drop=True)


def read_osm_layers(
    path: Path | str,
    *,
    layers: Iterable[str] = OSM_LAYERS,
    city: str | None = None,
    postcode_pattern: str | None = None,
    postcode_fill_m: float | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read an ``.osm.pbf`` extract as gcrm layers, ready for the importers.

    Parameters
    ----------
    path
        Any OpenStreetMap PBF extract, e.g. from Geofabrik or ``pyrosm.get_data``.
    layers
        Any of :data:`OSM_LAYERS` (``addresses``, ``roads``, ``zones``, ``buildings``,
        ``leads``).
    city, postcode_pattern, postcode_fill_m
        Address options; see :func:`osm_addresses`.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Layer name to a frame with exactly the importer's columns (``ADDRESS_COLUMNS``,
        ``ROAD_COLUMNS``, ``ZONE_COLUMNS``, ``BUILDING_COLUMNS``, ``LEAD_COLUMNS``) and its
        geometry in EPSG:4326, in the order of ``layers``.

    Raises
    ------
    ValidationError
        When ``path`` is not an existing ``.pbf`` file or ``layers`` names an unknown layer.

    Examples
    --------
    >>> import pyrosm
    >>> layers = read_osm_layers(pyrosm.get_data("test_pbf"), layers=["zones"])
    >>> sorted(layers["zones"]["class"].unique())
    ['industrial', 'other', 'residential', 'commercial']  # doctest: +SKIP
    """
    raw = read_osm_raw(path, layers=layers)
    convert = {
        "addresses": lambda frame: osm_addresses(
            frame, city=city, postcode_pattern=postcode_pattern, postcode_fill_m=postcode_fill_m
        ),
        "roads": osm_roads,
        "zones": osm_zones,
        "buildings": osm_buildings,
        "leads": osm_leads,
    }
    return {layer: convert[layer](frame) for layer, frame in raw.items()}


def import_osm(
    conn: Connection,
    path: Path | str,
    *,
    layers: Iterable[str] = OSM_LAYERS,
    rejects_dir: Path | None = None,
    city: str | None = None,
    postcode_pattern: str | None = None,
    postcode_fill_m: float | None = None,
) -> list[ImportReport]:
    """Read an ``.osm.pbf`` extract and load its layers through the layer importers.

    Each layer is checked, repaired and upserted by :func:`gcrm.ingest.frames.import_frame`
    exactly as the same layer from a file would be, on ``conn``'s transaction, so a re-import of
    the same extract changes nothing. Addresses get ``source`` ``"OpenStreetMap"``.

    Parameters
    ----------
    conn
        A connection inside the transaction the extract lands in.
    path
        The extract.
    layers
        Any of :data:`OSM_LAYERS`; loaded in :data:`IMPORT_ORDER`.
    rejects_dir
        Where each layer's rejects go, as ``<stem>.<layer>.rejects.csv``; None: beside ``path``.
    city, postcode_pattern, postcode_fill_m
        Address options; see :func:`osm_addresses`.

    Returns
    -------
    list of ImportReport
        One per layer, in the order loaded.

    Raises
    ------
    ValidationError
        When ``path`` is not an existing ``.pbf`` file or ``layers`` names an unknown layer.
    """
    path = _check_pbf(path)
    wanted = sorted(_check_layers(layers), key=IMPORT_ORDER.index)
    frames = read_osm_layers(
        path,
        layers=wanted,
        city=city,
        postcode_pattern=postcode_pattern,
        postcode_fill_m=postcode_fill_m,
    )
    if "addresses" in frames:
        frames["addresses"] = frames["addresses"].assign(source="OpenStreetMap")
    stem = path.name.removesuffix(path.suffix).removesuffix(".osm")
    folder = Path(rejects_dir) if rejects_dir is not None else path.parent
    return [
        import_frame(
            conn,
            layer,
            frame,
            source=f"{path}#{layer}",
            rejects_path=folder / f"{stem}.{layer}.rejects.csv",
        )
        for layer, frame in frames.items()
    ]


# --------------------------------------------------------------------------- tags


def osm_refs(frame: pd.DataFrame) -> pd.Series:
    """References such as ``"osm:node/123"`` from the ``osm_type`` and ``id`` columns."""
    return "osm:" + frame["osm_type"].astype(str) + "/" + frame["id"].astype("int64").astype(str)


def osm_tags(frame: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Tags as string columns (``""`` when absent), from their own columns or the JSON ``tags``.

    pyrosm puts some tags in columns of their own and the rest in a JSON string; this reads
    both so callers need not know which. The JSON is parsed once for all ``keys``.
    """
    parsed = frame["tags"].map(_json_tags) if "tags" in frame.columns else None
    out: dict[str, pd.Series] = {}
    for key in keys:
        values = pd.Series("", index=frame.index, dtype=object)
        if key in frame.columns:
            values = frame[key].map(_clean)
        if parsed is not None:
            # The JSON column holds one dict per feature: reading a key is a row loop.
            from_json = parsed.map(lambda tags, key=key: _clean(tags.get(key)))
            values = values.where(values != "", from_json)
        out[key] = values.astype(object)
    return pd.DataFrame(out, index=frame.index)


def osm_tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """One tag as a string column (``""`` when absent); see :func:`osm_tags`."""
    return osm_tags(frame, [key])[key]


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


# --------------------------------------------------------------------------- layers


def osm_addresses(
    raw: gpd.GeoDataFrame,
    *,
    city: str | None = None,
    postcode_pattern: str | None = None,
    postcode_fill_m: float | None = None,
    metric_crs: Any = None,
) -> gpd.GeoDataFrame:
    """Address points: every OSM feature with ``addr:street`` and ``addr:housenumber``.

    Polygon features become their representative point. Identical (street, housenumber,
    postcode, city) keep one feature: ways, then relations, then nodes, then the lowest id.

    Parameters
    ----------
    raw
        pyrosm features with ``addr:housenumber`` (EPSG:4326), see :func:`read_osm_raw`.
    city
        The city of every address (an extract inside one city); None: the ``addr:city`` tag.
    postcode_pattern
        A regular expression a postcode must match in full (e.g. ``r"\\d{5}"``); others are
        dropped. None keeps every ``addr:postcode``.
    postcode_fill_m
        A missing postcode is taken from the nearest address with one on the same street within
        this distance in metres. None: no filling.
    metric_crs
        The CRS distances are measured in for ``postcode_fill_m``; None: the UTM zone of the
        addresses (``GeoSeries.estimate_utm_crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ADDRESS_COLUMNS``, Point geometry in EPSG:4326, sorted by street, house
        number and ref.
    """
    tags = osm_tags(raw, ["addr:street", "addr:housenumber", "addr:unit", "addr:postcode"])
    frame = pd.DataFrame(
        {
            "ref": osm_refs(raw),
            "street": tags["addr:street"],
            "housenumber": tags["addr:housenumber"],
            "unit": tags["addr:unit"],
            "postcode": tags["addr:postcode"],
            "city": city if city is not None else osm_tag(raw, "addr:city"),
            "_type_rank": raw["osm_type"].map(_TYPE_RANK).fillna(3),
            "_id": raw["id"],
        },
        index=raw.index,
    )
    points = gpd.GeoSeries(shapely.point_on_surface(raw.geometry.values), crs=STORAGE_CRS)
    keep = ((frame["street"] != "") & (frame["housenumber"] != "")).to_numpy()
    frame, points = frame[keep].reset_index(drop=True), points[keep].reset_index(drop=True)
    if postcode_pattern is not None:
        valid = frame["postcode"].str.fullmatch(postcode_pattern).fillna(False).astype(bool)
        frame["postcode"] = frame["postcode"].where(valid, "")
    if postcode_fill_m is not None and len(frame):
        crs = points.estimate_utm_crs() if metric_crs is None else metric_crs
        frame["postcode"] = _fill_postcodes(frame, points.to_crs(crs), max_m=postcode_fill_m)
    gdf = gpd.GeoDataFrame(frame, geometry=points.values, crs=STORAGE_CRS)
    gdf = gdf.sort_values(["street", "housenumber", "postcode", "_type_rank", "_id"])
    gdf = gdf.drop_duplicates(["street", "housenumber", "postcode", "city"], keep="first")
    gdf = gdf.sort_values(["street", "housenumber", "ref"]).reset_index(drop=True)
    return gdf[[*ADDRESS_COLUMNS, "geometry"]]


def _fill_postcodes(frame: pd.DataFrame, points_m: gpd.GeoSeries, *, max_m: float) -> pd.Series:
    """Nearest address with a postcode on the same street within ``max_m``; ties: lowest row."""
    postcode = frame["postcode"].to_numpy(dtype=object).copy()
    missing = np.flatnonzero(postcode == "")
    known = np.flatnonzero(postcode != "")
    if len(missing) == 0 or len(known) == 0:
        return pd.Series(postcode, index=frame.index)
    xy = shapely.get_coordinates(points_m.values)
    geoms = points_m.values
    # Candidate pairs from the tree (a little wider than max_m); the exact test below.
    m_i, k_i = shapely.STRtree(geoms[known]).query(
        geoms[missing], predicate="dwithin", distance=max_m * 1.001 + 1.0
    )
    miss, near = missing[m_i], known[k_i]
    dist = np.hypot(xy[miss, 0] - xy[near, 0], xy[miss, 1] - xy[near, 1])
    streets = frame["street"].to_numpy(dtype=object)
    ok = (streets[miss] == streets[near]) & (dist <= max_m)
    miss, near, dist = miss[ok], near[ok], dist[ok]
    order = np.lexsort((near, dist, miss))
    miss, near = miss[order], near[order]
    first = np.r_[True, miss[1:] != miss[:-1]] if len(miss) else np.array([], dtype=bool)
    postcode[miss[first]] = postcode[near[first]]
    return pd.Series(postcode, index=frame.index)


def osm_roads(
    raw: gpd.GeoDataFrame, *, default_speed_kmh: Mapping[str, float] = DEFAULT_SPEED_KMH
) -> gpd.GeoDataFrame:
    """Drivable roads with class, speed (km/h), name, a one-way flag and the surface.

    ``speed_kmh`` is the number in ``maxspeed`` (mph converted), a named limit
    (:data:`NAMED_SPEED_KMH`), or else the class default. ``oneway`` is true for ``oneway``
    yes/true/1/-1 and for roundabouts; ``-1`` lines are reversed so that every one-way line runs
    in its direction of travel. Multi-lines are exploded.

    Parameters
    ----------
    raw
        pyrosm ``get_network(network_type="driving")`` edges (EPSG:4326).
    default_speed_kmh
        Speed by OSM ``highway`` class where ``maxspeed`` is missing; other classes get 30.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ROAD_COLUMNS``, LineString geometry in EPSG:4326, sorted by ref.
    """
    tags = osm_tags(raw, ["highway", "oneway", "junction", "maxspeed", "name", "surface"])
    road_class = tags["highway"]
    oneway_tag = tags["oneway"].str.lower()
    reverse = (oneway_tag == "-1").to_numpy()
    oneway = oneway_tag.isin(["yes", "true", "1", "-1"]) | (tags["junction"] == "roundabout")
    geometry = raw.geometry.values.copy()
    geometry[reverse] = shapely.reverse(geometry[reverse])
    gdf = gpd.GeoDataFrame(
        {
            "ref": osm_refs(raw),
            "class": road_class,
            "speed_kmh": _parse_speed_kmh(tags["maxspeed"], road_class, default_speed_kmh),
            "name": tags["name"],
            "oneway": oneway.astype(bool),
            "surface": tags["surface"],
        },
        geometry=geometry,
        crs=STORAGE_CRS,
    )
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    gdf = gdf[gdf.geom_type == "LineString"]
    return gdf.sort_values("ref", kind="stable").reset_index(drop=True)


def _parse_speed_kmh(
    maxspeed: pd.Series, road_class: pd.Series, defaults: Mapping[str, float]
) -> pd.Series:
    parts = maxspeed.str.extract(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", expand=True)
    speed = pd.to_numeric(parts[0], errors="coerce")
    speed = speed.where(parts[1].isna(), speed * MPH_TO_KMH)
    speed = speed.fillna(maxspeed.map(NAMED_SPEED_KMH))
    base_class = road_class.str.removesuffix("_link")
    default = base_class.map(dict(defaults)).fillna(FALLBACK_SPEED_KMH)
    return speed.fillna(default).astype(float).round(1)


def osm_zones(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Land-use zones classed residential / commercial / industrial / mixed / other.

    Parameters
    ----------
    raw
        pyrosm ``get_landuse()`` polygons (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ZONE_COLUMNS`` (``class`` by :data:`LANDUSE_CLASS`), valid (Multi)Polygon
        geometry in EPSG:4326, sorted by ref; features without any polygonal part are dropped.
    """
    tags = osm_tags(raw, ["landuse", "name"])
    geometry = polygonal_parts(shapely.make_valid(raw.geometry.values))
    gdf = gpd.GeoDataFrame(
        {
            "ref": osm_refs(raw),
            "class": tags["landuse"].map(LANDUSE_CLASS).fillna("other"),
            "landuse": tags["landuse"],
            "name": tags["name"],
        },
        geometry=geometry,
        crs=STORAGE_CRS,
    )
    gdf = gdf[~shapely.is_empty(geometry) & ~shapely.is_missing(geometry)]
    return gdf.sort_values("ref", kind="stable").reset_index(drop=True)


def osm_buildings(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Buildings with their use, raw ``building`` value, levels and a residential flag.

    ``use`` maps ``building`` by :data:`BUILDING_USE` (else ``other``). ``levels`` is the first
    number in ``building:levels`` (NaN when missing). ``residential`` is true for residential
    use, or where ``building:flats`` is a positive number or ``building:use`` is residential
    (homes in a building of another type).

    Parameters
    ----------
    raw
        pyrosm ``get_buildings()`` polygons (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``BUILDING_COLUMNS``, valid (Multi)Polygon geometry in EPSG:4326, sorted by ref;
        features without any polygonal part are dropped.
    """
    tags = osm_tags(raw, ["building", "building:levels", "building:flats", "building:use"])
    building = tags["building"]
    use = building.str.lower().map(BUILDING_USE).fillna("other")
    levels = pd.to_numeric(
        tags["building:levels"]
        .str.extract(r"(\d+(?:[.,]\d+)?)", expand=False)
        .str.replace(",", ".", regex=False),
        errors="coerce",
    )
    flats = pd.to_numeric(tags["building:flats"], errors="coerce").fillna(0)
    residential = (
        (use == "residential")
        | (flats > 0)
        | tags["building:use"].str.lower().isin(["residential", "apartments"])
    )
    geometry = polygonal_parts(shapely.make_valid(raw.geometry.values))
    gdf = gpd.GeoDataFrame(
        {
            "ref": osm_refs(raw),
            "use": use,
            "building": building,
            "levels": levels.astype(float),
            "residential": residential.astype(bool),
        },
        geometry=geometry,
        crs=STORAGE_CRS,
    )
    gdf = gdf[~shapely.is_empty(geometry) & ~shapely.is_missing(geometry)]
    return gdf.sort_values("ref", kind="stable").reset_index(drop=True)


def osm_leads(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named businesses and amenities as leads.

    The category group is the first of :data:`LEAD_KEYS` the feature carries and the category
    its value. Features without a name, and those whose (group, category) is listed in
    :data:`LEAD_EXCLUDED` (benches, parking, bus stations, artworks, parks, ...), are left out.

    Parameters
    ----------
    raw
        pyrosm points of interest with any of ``LEAD_KEYS`` (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``LEAD_COLUMNS``, Point geometry in EPSG:4326, sorted by external_id.
    """
    tags = osm_tags(
        raw,
        [
            *LEAD_KEYS,
            "name",
            "addr:street",
            "addr:housenumber",
            "addr:postcode",
            "addr:city",
            "phone",
            "contact:phone",
            "website",
            "contact:website",
            "url",
        ],
    )
    group = pd.Series("", index=raw.index, dtype=object)
    category = pd.Series("", index=raw.index, dtype=object)
    for key in reversed(LEAD_KEYS):  # the earlier keys take precedence
        has = tags[key] != ""
        group, category = group.where(~has, key), category.where(~has, tags[key])
    frame = pd.DataFrame(
        {
            "external_id": osm_refs(raw),
            "name": tags["name"],
            "category_group": group,
            "category": category,
            "street": tags["addr:street"],
            "housenumber": tags["addr:housenumber"],
            "postcode": tags["addr:postcode"],
            "city": tags["addr:city"],
            "phone": _first(tags, ["phone", "contact:phone"]),
            "website": _first(tags, ["website", "contact:website", "url"]),
            "source": "OpenStreetMap",
        },
        index=raw.index,
    )
    excluded_pairs = [f"{grp}={cat}" for grp, cats in LEAD_EXCLUDED.items() for cat in cats]
    excluded = (group + "=" + category).isin(excluded_pairs)
    keep = ((frame["name"] != "") & (group != "") & ~excluded).to_numpy()
    points = shapely.point_on_surface(raw.geometry.values)
    gdf = gpd.GeoDataFrame(frame[keep], geometry=points[keep], crs=STORAGE_CRS)
    return gdf.sort_values("external_id", kind="stable").reset_index(drop=True)


def _first(tags: pd.DataFrame, keys: list[str]) -> pd.Series:
    values = tags[keys[0]]
    for key in keys[1:]:
        values = values.where(values != "", tags[key])
    return values


def polygonal_parts(geometry: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (``make_valid`` / clipping leftovers).

    Parameters
    ----------
    geometry
        Array of shapely geometries.

    Returns
    -------
    numpy.ndarray
        Polygons and MultiPolygons; a geometry without any polygonal part becomes an empty
        Polygon.
    """
    out = np.asarray(geometry, dtype=object).copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(out), _POLYGONAL))
    # Only the few collections that make_valid or an intersection produced are visited.
    for i in mixed:
        parts = shapely.get_parts(out[i])
        polygons = parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)]
        out[i] = shapely.union_all(polygons) if len(polygons) else shapely.Polygon()
    return out
