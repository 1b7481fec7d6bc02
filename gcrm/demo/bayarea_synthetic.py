"""Synthetic businesses, branches and customers of the San Francisco Bay Area region.

Leads are placed by the MTC jobs per sector, customers by households (consumers) and jobs
(businesses), each at a uniform random point inside its zone (EPSG:26910). Addresses are
made up in US style; the only real reference is the ZIP code, taken from the ZIP centroid
nearest to the true point.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.demo._geom import sample_points_in_polygons
from gcrm.demo.bayarea_sources import BAYAREA_METRIC_CRS, SECTORS
from gcrm.demo.drivers import LeadPool
from gcrm.demo.helsinki_layers import BRANCH_COLUMNS, LEAD_COLUMNS
from gcrm.demo.synthetic_customers import MESS_RATES, CustomerLocale, Placer

__all__ = [
    "BAYAREA_TRUTH_COLUMNS",
    "BRANCH_CANDIDATES",
    "BUSINESS_TYPES",
    "JOBS_PER_LEAD",
    "LEAD_SOURCE",
    "US_LOCALE",
    "bayarea_lead_pool",
    "build_bayarea_leads",
    "choose_bayarea_branches",
    "zone_placer",
]

#: One lead per this many jobs of a sector in a zone (cumulative rounding over zones).
JOBS_PER_LEAD = 200
#: Branches stand at one of this many most-populated ZIPs.
BRANCH_CANDIDATES = 80
LEAD_SOURCE = "synthetic (gcrm), placed by MTC jobs per sector"
BAYAREA_TRUTH_COLUMNS = ["customer_id", "lon", "lat", "zone", "injected_mess"]

US_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Susan", "Daniel", "Jessica", "Matthew", "Sarah", "Anthony",
    "Karen", "Kevin", "Emily", "Jose", "Maria", "Luis", "Sofia", "Carlos", "Ana", "Wei",
    "Mei", "Jin", "Hana", "Minh", "Linh", "Raj", "Priya", "Arjun", "Anjali", "Joshua",
    "Ashley", "Andrew", "Olivia",
)  # fmt: skip
US_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Chen", "Wong", "Kim",
    "Patel", "Singh", "Tran", "Wang", "Liu", "Huang", "Ramirez", "Flores", "Rivera",
    "Torres", "Clark", "Lewis", "Walker", "Young", "Allen",
)  # fmt: skip
US_SMB_TRADES = (
    "Plumbing", "Bakery", "Dental", "Auto Repair", "Landscaping", "Consulting", "Cafe",
    "Hardware", "Cleaning", "Design",
)  # fmt: skip
US_CORPORATE_WORDS = ("Pacific", "Golden Gate", "Bay", "Redwood", "Sierra", "Summit", "Western")
US_CORPORATE_TRADES = (
    "Logistics", "Energy", "Construction", "Properties", "Technologies", "Media", "Health",
)  # fmt: skip
#: Bay Area telephone area codes.
AREA_CODES = ("415", "628", "650", "408", "669", "510", "341", "925", "707")
STREET_NAMES = (
    "Oak", "Pine", "Maple", "Cedar", "Elm", "Walnut", "Willow", "Redwood", "Main", "Park",
    "Lake", "Hill", "Church", "Washington", "Lincoln", "Jefferson", "Franklin", "Mission",
    "Market", "Broadway", "Sunset", "Valley", "Highland", "Railroad", "Spring", "Grand",
    "Adams", "Madison", "Jackson", "Castro", "Alameda", "Bayshore", "Vista", "Monterey",
    "Shoreline", "College", "Orchard", "Meadow", "Ridge", "Sequoia",
)  # fmt: skip
#: Street types as written in full, and the USPS abbreviation CRM users type.
STREET_TYPES = {
    "Street": "St",
    "Avenue": "Ave",
    "Boulevard": "Blvd",
    "Drive": "Dr",
    "Road": "Rd",
    "Lane": "Ln",
    "Court": "Ct",
    "Place": "Pl",
    "Way": "Way",  # no shorter form; left as written
}

US_LOCALE = CustomerLocale(
    first_names=US_FIRST_NAMES,
    last_names=US_LAST_NAMES,
    smb_prefixes=US_SMB_TRADES,
    corporate_words=US_CORPORATE_WORDS,
    corporate_trades=US_CORPORATE_TRADES,
    email_domains=("example.com", "example.net", "example.org", "mail.example"),
    consumer_name="{first} {last}",
    smb_name="{last} {prefix} LLC",
    corporate_name="{word} {trade} Inc.",
    consumer_email="{first}.{last}{number}@{domain}",
    smb_email="info@{last}{prefix}.example.com",
    corporate_email="sales@{word}{trade}.example.com",
    phone_prefixes=AREA_CODES,
    # 555-0100 .. 555-0199 are the numbers reserved for fiction.
    phone_numbers=(100, 200),
    phone_formats=("({op}) 555-{tail}", "{op}-555-{tail}", "+1 {op} 555 {tail}"),
    street_abbreviations={f" {full}": f" {short}" for full, short in STREET_TYPES.items()},
    # Half Helsinki's rate of missing postcodes: the ZIP is all the geocoder has here.
    mess_rates={**MESS_RATES, "missing_postcode": 0.05},
)

#: Business types per sector: category (the OSM-like value) and the word used in names.
BUSINESS_TYPES = {
    "retail": (
        ("supermarket", "Market"), ("clothes", "Apparel"), ("hardware", "Hardware"),
        ("pharmacy", "Pharmacy"), ("electronics", "Electronics"), ("furniture", "Furniture"),
        ("books", "Books"), ("florist", "Flowers"), ("car_dealer", "Motors"),
    ),
    "financial_professional": (
        ("accountant", "Accounting"), ("lawyer", "Law"), ("insurance", "Insurance"),
        ("real_estate", "Realty"), ("consulting", "Consulting"), ("architect", "Architects"),
        ("software", "Software"), ("employment_agency", "Staffing"),
    ),
    "health_education_recreation": (
        ("dentist", "Dental"), ("clinic", "Medical"), ("school", "Academy"),
        ("tutoring", "Tutoring"), ("fitness_centre", "Fitness"), ("restaurant", "Kitchen"),
        ("cafe", "Cafe"), ("hotel", "Inn"), ("childcare", "Kids"),
    ),
    "agriculture_natural_resources": (
        ("farm", "Farms"), ("vineyard", "Vineyards"), ("garden_centre", "Nursery"),
        ("landscaping", "Landscaping"), ("dairy", "Dairy"),
    ),
    "manufacturing_wholesale_transport": (
        ("machine_shop", "Machining"), ("food_processing", "Foods"), ("wholesale", "Supply"),
        ("trucking", "Trucking"), ("warehouse", "Logistics"), ("printing", "Printing"),
    ),
    "other": (
        ("construction", "Construction"), ("plumber", "Plumbing"), ("electrician", "Electric"),
        ("car_repair", "Auto Repair"), ("hairdresser", "Salon"), ("cleaning", "Cleaning"),
        ("media", "Media"),
    ),
}  # fmt: skip
LEAD_SUFFIXES = ("LLC", "Inc.", "& Co.", "Group", "& Sons", "Co.")

_STREAMS = {"leads": 11}
_TO_STORAGE = pyproj.Transformer.from_crs(BAYAREA_METRIC_CRS, STORAGE_CRS, always_xy=True)


@dataclass(frozen=True)
class _Located:
    """Points with their nearest ZIP: x, y (EPSG:26910), lon, lat, postcode, city."""

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    postcode: np.ndarray
    city: np.ndarray


def build_bayarea_leads(
    zones: gpd.GeoDataFrame, postcodes: pd.DataFrame, *, seed: int
) -> gpd.GeoDataFrame:
    """Synthetic businesses, about one per ``JOBS_PER_LEAD`` jobs of each sector and zone.

    Counts per zone and sector are ``jobs / JOBS_PER_LEAD`` rounded cumulatively over the
    zones (zone order), so each is within one of its exact share and sector totals are
    preserved. Each lead stands at a uniform random point of its zone.

    Parameters
    ----------
    zones
        ``BayAreaSources.zones`` (EPSG:26910).
    postcodes
        From :func:`gcrm.demo.bayarea_areas.build_postcodes` (with ``x``, ``y``).
    seed
        Seed of the draws (points, names, business types).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``LEAD_COLUMNS``, Points in EPSG:4326, ids ``BA-L000001`` ... ordered by
        zone and sector.
    """
    rng = np.random.default_rng([seed, _STREAMS["leads"]])
    jobs = zones[[f"jobs_{key}" for key in SECTORS]].to_numpy(float)
    exact = np.cumsum(jobs / JOBS_PER_LEAD, axis=0)
    counts = np.diff(np.floor(exact + 0.5), axis=0, prepend=0).astype(np.int64)
    zone_idx = np.repeat(np.arange(len(zones)), counts.sum(axis=1))
    sector_idx = np.repeat(np.tile(np.arange(len(SECTORS)), len(zones)), counts.ravel())
    n = len(zone_idx)
    where = _locate(sample_points_in_polygons(zones.geometry.values, zone_idx, rng=rng), postcodes)
    category, word = _business_types(sector_idx, rng=rng)
    surname = np.array(US_LAST_NAMES, dtype=object)[rng.integers(0, len(US_LAST_NAMES), n)]
    suffix = np.array(LEAD_SUFFIXES, dtype=object)[rng.integers(0, len(LEAD_SUFFIXES), n)]
    street, number = synthetic_streets(n, rng=rng)
    name = surname + " " + word + " " + suffix
    slug = pd.Series(surname + word).str.lower().str.replace(r"[^a-z]", "", regex=True)
    area_code = np.array(AREA_CODES, dtype=object)[rng.integers(0, len(AREA_CODES), n)]
    tail = rng.integers(100, 200, n).astype(str).astype(object)
    frame = pd.DataFrame(
        {
            "external_id": [f"BA-L{i + 1:06d}" for i in range(n)],
            "name": name,
            "category_group": np.array(list(SECTORS), dtype=object)[sector_idx],
            "category": category,
            "street": street,
            "housenumber": number,
            "postcode": where.postcode,
            "city": where.city,
            "phone": "(" + area_code + ") 555-0" + tail,
            "website": ("https://www." + slug + ".example.com").to_numpy(),
            "source": LEAD_SOURCE,
        }
    )
    points = shapely.points(where.lon.round(7), where.lat.round(7))
    return gpd.GeoDataFrame(frame[LEAD_COLUMNS], geometry=points, crs=STORAGE_CRS)


def bayarea_lead_pool(leads: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> LeadPool:
    """The Bay Area's leads as places to win customers: each where it stands, in its zone.

    The customer won from a lead keeps the lead's made-up address, ZIP and point; its truth
    ``zone`` is the zone the point lies in (the nearest one, for a point on an edge). The
    business density around a lead is its zone's jobs per km² (EPSG:26910).

    Parameters
    ----------
    leads
        From :func:`build_bayarea_leads` (EPSG:4326).
    zones
        ``BayAreaSources.zones`` (EPSG:26910), with ``zone`` and ``jobs``.

    Returns
    -------
    LeadPool
    """
    points = leads.geometry.to_crs(BAYAREA_METRIC_CRS).values
    zone_idx = shapely.STRtree(zones.geometry.values).query_nearest(points, all_matches=False)[1]
    km2 = shapely.area(zones.geometry.values) / 1e6
    density = zones["jobs"].to_numpy(float) / np.maximum(km2, 1e-6)
    xy = shapely.get_coordinates(points)
    lonlat = shapely.get_coordinates(leads.geometry.values)
    places = pd.DataFrame(
        {
            "street": leads["street"].to_numpy(),
            "house_number": leads["housenumber"].to_numpy(),
            "postcode": leads["postcode"].to_numpy(),
            "city": leads["city"].to_numpy(),
            "zone": zones["zone"].to_numpy()[zone_idx],
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    return LeadPool(
        external_id=leads["external_id"].to_numpy(dtype=object),
        name=leads["name"].to_numpy(dtype=object),
        category_group=leads["category_group"].to_numpy(dtype=object),
        category=leads["category"].to_numpy(dtype=object),
        density=density[zone_idx],
        places=places,
    )


def choose_bayarea_branches(
    zones: gpd.GeoDataFrame,
    postcodes: pd.DataFrame,
    *,
    count: int = 8,
    iterations: int = 25,
) -> pd.DataFrame:
    """The company's sites at ZIP centroids spread over where people live.

    Each ZIP gets the population of the zones whose representative point is nearest to its
    centroid. Population-weighted k-means over the ZIP centroids (EPSG:26910): seeded by
    weighted farthest-point sampling (the most-populated ZIP first, then each time the ZIP
    with the largest population x squared distance to the chosen ones), refined by
    ``iterations`` Lloyd steps; each centre is then snapped to the nearest distinct ZIP
    among the ``BRANCH_CANDIDATES`` most populated.

    Parameters
    ----------
    zones
        ``BayAreaSources.zones`` (EPSG:26910).
    postcodes
        From :func:`gcrm.demo.bayarea_areas.build_postcodes` (with ``x``, ``y``).
    count
        Number of branches, coded ``B01`` ... west to east.
    iterations
        Lloyd iterations.

    Returns
    -------
    pandas.DataFrame
        Columns ``BRANCH_COLUMNS``; street and housenumber are empty (a ZIP centroid has no
        address). ``name`` is ``gcrm <city>``, with the ZIP added when a city has two.

    Raises
    ------
    ValidationError
        If ``count`` is not between 1 and ``BRANCH_CANDIDATES``.
    """
    if not 1 <= count <= BRANCH_CANDIDATES:
        msg = f"count={count} branches is out of range; use 1 <= count <= {BRANCH_CANDIDATES}"
        raise ValidationError(msg)
    xy = postcodes[["x", "y"]].to_numpy(float)
    population = _zip_population(zones, xy)
    ranked = np.lexsort((postcodes["postcode"].to_numpy(), -population))[:BRANCH_CANDIDATES]
    centres = xy[_weighted_farthest_points(xy, population, count)]
    for _ in range(iterations):  # a few dozen whole-array steps
        centres = _weighted_centres(xy, population, _nearest_index(xy, centres), centres)
    picked = ranked[_snap_distinct(xy[ranked], centres)]
    picked = picked[np.argsort(postcodes["lon"].to_numpy()[picked], kind="stable")]
    chosen = postcodes.iloc[picked].reset_index(drop=True)
    twin = chosen["city"].duplicated(keep=False)
    name = ("gcrm " + chosen["city"]).where(
        ~twin, "gcrm " + chosen["city"] + " " + chosen["postcode"]
    )
    return pd.DataFrame(
        {
            "code": [f"B{i + 1:02d}" for i in range(count)],
            "name": name,
            "street": "",
            "housenumber": "",
            "postcode": chosen["postcode"],
            "city": chosen["city"],
            "lon": chosen["lon"].round(7),
            "lat": chosen["lat"].round(7),
        }
    )[BRANCH_COLUMNS]


def _zip_population(zones: gpd.GeoDataFrame, zip_xy: np.ndarray) -> np.ndarray:
    """Population of the zones whose representative point is nearest to each ZIP."""
    centres = shapely.get_coordinates(shapely.point_on_surface(zones.geometry.values))
    nearest = _nearest_index(centres, zip_xy)
    return np.bincount(nearest, weights=zones["population"], minlength=len(zip_xy))


def _weighted_centres(
    xy: np.ndarray, weight: np.ndarray, label: np.ndarray, previous: np.ndarray
) -> np.ndarray:
    """Weighted mean of each cluster; an empty cluster keeps its previous centre."""
    k = len(previous)
    total = np.bincount(label, weights=weight, minlength=k)
    sums = np.stack([np.bincount(label, weights=weight * xy[:, i], minlength=k) for i in (0, 1)])
    return np.where(total[:, None] > 0, sums.T / np.maximum(total, 1e-12)[:, None], previous)


def _snap_distinct(xy: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Nearest point to each centre in turn, never the same point twice."""
    d = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    chosen: list[int] = []
    for k in range(len(centres)):  # one step per branch
        order = np.argsort(d[:, k], kind="stable")
        chosen.append(int(next(i for i in order if i not in chosen)))
    return np.array(chosen)


def zone_placer(zones: gpd.GeoDataFrame, postcodes: pd.DataFrame) -> Placer:
    """Where Bay Area customers live: a zone by households (consumers) or jobs (businesses).

    Parameters
    ----------
    zones
        ``BayAreaSources.zones`` (EPSG:26910).
    postcodes
        From :func:`gcrm.demo.bayarea_areas.build_postcodes` (with ``x``, ``y``).

    Returns
    -------
    Placer
        For :func:`gcrm.demo.synthetic_customers.build_customer_export`; adds truth column ``zone``
        (the TAZ1454 id).
    """
    home = zones["households"].to_numpy(float)
    work = zones["jobs"].to_numpy(float)

    def place(segment: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        count = len(segment)
        at_home = rng.choice(len(zones), size=count, p=home / home.sum())
        at_work = rng.choice(len(zones), size=count, p=work / work.sum())
        zone_idx = np.where(segment == "consumer", at_home, at_work)
        where = _locate(
            sample_points_in_polygons(zones.geometry.values, zone_idx, rng=rng), postcodes
        )
        street, number = synthetic_streets(count, rng=rng)
        return pd.DataFrame(
            {
                "street": street,
                "house_number": number,
                "postcode": where.postcode,
                "city": where.city,
                "zone": zones["zone"].to_numpy()[zone_idx],
                "lon": where.lon,
                "lat": where.lat,
                "x": where.x,
                "y": where.y,
            }
        )

    return place


def synthetic_streets(count: int, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Made-up US street names (``Oak Street``) and house numbers (1 .. 9999, mostly low).

    Parameters
    ----------
    count
        Number of addresses.
    rng
        Source of the draws.

    Returns
    -------
    tuple of numpy.ndarray
        Street names and house numbers, both as text.
    """
    names = np.array(STREET_NAMES, dtype=object)[rng.integers(0, len(STREET_NAMES), count)]
    types = np.array(list(STREET_TYPES), dtype=object)[rng.integers(0, len(STREET_TYPES), count)]
    # Log-uniform: short numbers are common, five-figure ones absent.
    number = np.floor(np.exp(rng.random(count) * np.log(10_000))).astype(np.int64)
    return names + " " + types, number.astype(str).astype(object)


def _locate(xy: np.ndarray, postcodes: pd.DataFrame) -> _Located:
    """Reproject points explicitly from UTM 10N to lon/lat and attach the nearest ZIP."""
    lon, lat = _TO_STORAGE.transform(xy[:, 0], xy[:, 1])
    nearest = _nearest_index(xy, postcodes[["x", "y"]].to_numpy(float))
    return _Located(
        x=xy[:, 0],
        y=xy[:, 1],
        lon=np.asarray(lon),
        lat=np.asarray(lat),
        postcode=postcodes["postcode"].to_numpy()[nearest],
        city=postcodes["city"].to_numpy()[nearest],
    )


def _nearest_index(xy: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the nearest target to each point (ties to the lowest index)."""
    tree = shapely.STRtree(np.asarray(shapely.points(targets)))
    found, hit = tree.query_nearest(shapely.points(xy), all_matches=False)
    nearest = np.empty(len(xy), dtype=np.int64)
    nearest[found] = hit
    return nearest


def _business_types(
    sector_idx: np.ndarray, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A business type of each lead's sector, uniformly: (category, name word)."""
    per_sector = [BUSINESS_TYPES[key] for key in SECTORS]
    sizes = np.array([len(types) for types in per_sector])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = [pair for types in per_sector for pair in types]
    category = np.array([c for c, _ in flat], dtype=object)
    word = np.array([w for _, w in flat], dtype=object)
    pick = offsets[sector_idx] + np.floor(rng.random(len(sector_idx)) * sizes[sector_idx])
    pick = pick.astype(np.int64)
    return category[pick], word[pick]


def _weighted_farthest_points(xy: np.ndarray, weight: np.ndarray, count: int) -> np.ndarray:
    """Greedy seeding: the heaviest point, then the largest weight x squared distance."""
    chosen = [int(np.argmax(weight))]
    dist = ((xy - xy[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(count - 1):  # one step per branch, a handful
        nxt = int(np.argmax(weight * dist))
        chosen.append(nxt)
        dist = np.minimum(dist, ((xy - xy[nxt]) ** 2).sum(axis=1))
    return np.array(chosen)
