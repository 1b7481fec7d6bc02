"""Synthetic customers on real Helsinki addresses, exported the way a real CRM would.

Clean customers are generated first (``_clean_customers``); then the mess of a real export
is injected at modest, documented rates (``MESS_RATES``), and finally a handful of rows an
importer must reject (``INVALID_KINDS``). A truth table records, row by row, the true
place and the mess injected, for tests and benchmarks. Everything is drawn from
``numpy.random.default_rng`` streams keyed by the seed, so one seed gives the same bytes.

The machinery is shared by every demo region: :func:`build_customer_export` takes a
*placer* (where customers live), a :class:`CustomerLocale` (how they are named, reached
and mistyped) and the region's leads and branches: business customers are won from the leads
and everyone churns by the documented rules of :mod:`gcrm.demo.drivers`.
:func:`build_customers` is the Helsinki region's use of it.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gcrm.core import METRIC_CRS, ValidationError
from gcrm.demo.drivers import LeadPool, convert_leads, draw_churn, nearest_distance_m

__all__ = [
    "AS_OF",
    "BUSINESS_SEGMENTS",
    "CUSTOMER_COLUMNS",
    "FINNISH_LOCALE",
    "INVALID_KINDS",
    "INVALID_RATE",
    "MESS_RATES",
    "SEGMENT_SHARES",
    "SIGNUP_START",
    "TRUTH_COLUMNS",
    "CustomerExport",
    "CustomerLocale",
    "Placer",
    "build_customer_export",
    "build_customers",
    "helsinki_lead_pool",
]

CUSTOMER_COLUMNS = [
    "customer_id",
    "name",
    "email",
    "phone",
    "street",
    "house_number",
    "postcode",
    "city",
    "segment",
    "status",
    "signup_date",
    "churn_date",
    "category_group",
    "category",
    "lead_external_id",
]
TRUTH_COLUMNS = ["customer_id", "ref", "lon", "lat", "injected_mess"]

#: The fixed "today" of the demo: nothing happens after it.
AS_OF = date(2025, 12, 31)
SIGNUP_START = date(2019, 1, 1)
#: Signups grow exponentially: the last year has about ``SIGNUP_GROWTH`` times the first.
SIGNUP_GROWTH = 3.0
SEGMENT_SHARES = {"consumer": 0.75, "smb": 0.20, "corporate": 0.05}
#: The segments won from leads, with a business category; consumers have none.
BUSINESS_SEGMENTS = ("smb", "corporate")
#: Helsinki's business density around a lead: the leads within this distance (EPSG:3067).
HELSINKI_DENSITY_RADIUS_M = 200.0
#: Share of rows that get each kind of mess, drawn independently.
MESS_RATES = {
    "abbreviation": 0.10,
    "street_typo": 0.05,
    "street_upper": 0.05,
    "street_lower": 0.03,
    "city_upper": 0.05,
    "city_lower": 0.03,
    "segment_case": 0.10,
    "status_case": 0.10,
    "missing_postcode": 0.10,
    "whitespace": 0.05,
    "no_address": 0.01,
    "missing_email": 0.05,
    "missing_phone": 0.05,
}
#: Share of rows made invalid; at least one of each kind is always present.
INVALID_RATE = 0.005
INVALID_KINDS = (
    "missing_id",
    "bad_signup_date",
    "unknown_status",
    "churn_before_signup",
    "duplicate_id",
)
BAD_SIGNUP_DATES = ("31.02.2024", "2024-13-01", "30/02/2023")

#: Finnish street-type suffixes and how CRM users shorten them ("Mannerheimintie" ->
#: "Mannerheimint." follows from the "tie" rule).
STREET_ABBREVIATIONS = {"katu": "k.", "tie": "t.", "kuja": "kj."}

FIRST_NAMES = (
    "Aino", "Anna", "Anni", "Eero", "Elias", "Emilia", "Emma", "Helmi", "Ilkka", "Jari",
    "Johanna", "Juha", "Kaisa", "Lauri", "Leena", "Liisa", "Matti", "Mikko", "Oona", "Pekka",
    "Sanna", "Satu", "Timo", "Tuomas", "Veera", "Ville", "Anders", "Elin", "Erik", "Johan",
    "Karin", "Linnea", "Maja", "Nils", "Oskar", "Sofia",
)  # fmt: skip
LAST_NAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
    "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen",
    "Heinonen", "Niemi", "Heikkilä", "Kinnunen", "Salonen", "Turunen", "Lindholm",
    "Lindqvist", "Nyström", "Sjöberg", "Öhman", "Grönroos", "Björklund", "Forsman",
)  # fmt: skip
SMB_PREFIXES = ("Kahvila", "Parturi", "Kukkakauppa", "Rakennus", "Tilitoimisto", "Kuljetus")
CORPORATE_WORDS = ("Nordic", "Baltic", "Suomen", "Helsingin", "Pohjola", "Uusimaa", "Aalto")
CORPORATE_TRADES = ("Logistiikka", "Energia", "Rakennus", "Kiinteistöt", "Teknologia", "Media")
EMAIL_DOMAINS = ("example.fi", "example.com", "posti.example", "mail.example")

_STREAMS = {"clean": 1, "mess": 2, "invalid": 3, "b2b": 5, "churn": 6}


@dataclass(frozen=True)
class CustomerLocale:
    """How the customers of one region are named, reached and mistyped.

    Name, email and phone templates are :meth:`str.format` strings. Name templates take
    ``first``, ``last``, ``prefix`` (an SMB word), ``word`` and ``trade`` (corporate words);
    email templates take the same fields ASCII-folded, lower case and without spaces, plus
    ``number`` and ``domain``. Phone templates take ``op`` (a prefix), ``no`` (the number),
    ``head`` (``no // 10000``) and ``tail`` (``no % 10000``, four digits).
    """

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    smb_prefixes: tuple[str, ...]
    corporate_words: tuple[str, ...]
    corporate_trades: tuple[str, ...]
    email_domains: tuple[str, ...]
    consumer_name: str
    smb_name: str
    corporate_name: str
    consumer_email: str
    smb_email: str
    corporate_email: str
    phone_prefixes: tuple[str, ...]
    #: Phone numbers are drawn from ``range(*phone_numbers)``.
    phone_numbers: tuple[int, int]
    phone_formats: tuple[str, ...]
    #: Street-type suffix -> the short form CRM users type.
    street_abbreviations: Mapping[str, str]
    #: Share of rows that get each kind of mess (the keys of ``MESS_RATES``).
    mess_rates: Mapping[str, float]


FINNISH_LOCALE = CustomerLocale(
    first_names=FIRST_NAMES,
    last_names=LAST_NAMES,
    smb_prefixes=SMB_PREFIXES,
    corporate_words=CORPORATE_WORDS,
    corporate_trades=CORPORATE_TRADES,
    email_domains=EMAIL_DOMAINS,
    consumer_name="{first} {last}",
    smb_name="{prefix} {last} Oy",
    corporate_name="{word} {trade} Oyj",
    consumer_email="{first}.{last}{number}@{domain}",
    smb_email="info@{prefix}{last}.example.fi",
    corporate_email="sales@{word}{trade}.example.fi",
    phone_prefixes=("40", "44", "45", "50"),
    phone_numbers=(1_000_000, 10_000_000),
    phone_formats=("+358 {op} {head} {tail}", "0{op} {no}", "0{op}-{no}"),
    street_abbreviations=STREET_ABBREVIATIONS,
    mess_rates=MESS_RATES,
)

#: Places ``len(segment)`` customers: ``place(segment, rng)`` returns one row per customer
#: with street, house_number, postcode, city, lon, lat (EPSG:4326), x, y (the region's
#: metric CRS) and any extra truth columns (e.g. ``ref``).
Placer = Callable[[np.ndarray, np.random.Generator], pd.DataFrame]


@dataclass(frozen=True)
class CustomerExport:
    """The messy export, its truth table, and the clean customers behind the valid rows."""

    customers: pd.DataFrame  # CUSTOMER_COLUMNS, as written to customers.csv
    truth: pd.DataFrame  # TRUTH_COLUMNS, row-aligned with customers
    #: customer_id, segment, signup_date, churn_date (dates), x, y (metric), activity (the
    #: order-rate factor, mean 1)
    valid: pd.DataFrame


def build_customers(
    addresses: gpd.GeoDataFrame,
    *,
    count: int,
    seed: int,
    dwellings: np.ndarray | None = None,
    leads: gpd.GeoDataFrame | None = None,
    branches_xy: np.ndarray | None = None,
) -> CustomerExport:
    """Generate ``count`` synthetic customers on real address points, as a messy export.

    Parameters
    ----------
    addresses
        Address points from :func:`gcrm.demo.helsinki_layers.build_addresses`; only those with a
        postcode are used.
    count
        Number of rows in the export (invalid rows included).
    seed
        Seed of every random draw; the same seed gives identical output.
    dwellings
        Dwellings per address point (aligned with ``addresses``): consumers are placed with
        probability proportional to dwellings + 0.5. ``None`` places them uniformly.
    leads
        The region's leads (:func:`gcrm.demo.helsinki_layers.build_leads`): business
        customers are won from them (:func:`helsinki_lead_pool`). ``None``: business
        customers are placed uniformly over addresses and have no category.
    branches_xy
        Branches in EPSG:3067, shape (k, 2): distance to the nearest one lowers conversion
        and raises churn. ``None``: distance plays no part.

    Returns
    -------
    CustomerExport

    Raises
    ------
    ValidationError
        If ``count`` is below 50 (too few rows for every kind of mess) or no address has a
        postcode.
    """
    _check_count(count)
    has_postcode = (addresses["postcode"] != "").to_numpy()
    if not has_postcode.any():
        msg = "addresses has no row with a postcode; build it with gcrm.demo.helsinki_layers.build_addresses"
        raise ValidationError(msg)
    weights = np.ones(len(addresses)) if dwellings is None else np.asarray(dwellings, float) + 0.5
    pool = addresses[has_postcode].reset_index(drop=True)

    def place(segment: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        return _place_on_addresses(pool, weights[has_postcode], segment=segment, rng=rng)

    return build_customer_export(
        place,
        count=count,
        seed=seed,
        locale=FINNISH_LOCALE,
        truth_columns=TRUTH_COLUMNS,
        leads=None if leads is None else helsinki_lead_pool(leads, pool),
        branches_xy=branches_xy,
    )


def helsinki_lead_pool(leads: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame) -> LeadPool:
    """Helsinki's leads as places to win customers: each at its nearest address point.

    Most OSM businesses carry no address of their own; the customer won from a lead is
    written with the address point nearest to it (EPSG:3067), which is also its true place.
    The business density around a lead is the number of leads within
    ``HELSINKI_DENSITY_RADIUS_M``.

    Parameters
    ----------
    leads
        Leads in EPSG:4326 (``LEAD_COLUMNS``).
    addresses
        Address points with a postcode (EPSG:4326).

    Returns
    -------
    LeadPool
    """
    lead_m = leads.geometry.to_crs(METRIC_CRS).values
    address_m = addresses.geometry.to_crs(METRIC_CRS).values
    nearest = shapely.STRtree(address_m).query_nearest(lead_m, all_matches=False)[1]
    picked = addresses.iloc[nearest].reset_index(drop=True)
    lonlat = shapely.get_coordinates(picked.geometry.values)
    xy = shapely.get_coordinates(address_m[nearest])
    pairs = shapely.STRtree(lead_m).query(
        lead_m, predicate="dwithin", distance=HELSINKI_DENSITY_RADIUS_M
    )
    places = pd.DataFrame(
        {
            "street": picked["street"],
            "house_number": picked["housenumber"],
            "postcode": picked["postcode"],
            "city": picked["city"],
            "ref": picked["ref"],
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    return LeadPool(
        external_id=leads["external_id"].to_numpy(dtype=object),
        name=leads["name"].to_numpy(dtype=object),
        category_group=leads["category_group"].str.lower().to_numpy(dtype=object),
        category=leads["category"].str.lower().to_numpy(dtype=object),
        density=np.bincount(pairs[0], minlength=len(leads)).astype(float),
        places=places,
    )


def build_customer_export(
    place: Placer,
    *,
    count: int,
    seed: int,
    locale: CustomerLocale,
    truth_columns: list[str],
    leads: LeadPool | None = None,
    branches_xy: np.ndarray | None = None,
) -> CustomerExport:
    """Generate ``count`` synthetic customers where ``place`` puts them, as a messy export.

    Business customers (``BUSINESS_SEGMENTS``) are won from ``leads`` by
    :func:`gcrm.demo.drivers.convert_leads`: each takes a converted lead's name, place and
    category, with ``lead_external_id`` set. When fewer leads convert than there are business
    customers, the others stay where ``place`` put them and take the category of a converted
    lead drawn at random. Every customer churns by :func:`gcrm.demo.drivers.draw_churn`.

    Parameters
    ----------
    place
        Where customers live (see :data:`Placer`); called once with the segments and the
        stream of clean draws.
    count
        Number of rows in the export (invalid rows included).
    seed
        Seed of every random draw; the same seed gives identical output.
    locale
        Names, emails, phones, street abbreviations and mess rates of the region.
    truth_columns
        Columns of the truth table, from customer_id, lon, lat, injected_mess and the extra
        columns ``place`` returns.
    leads
        The leads business customers are won from; ``None``: none are, and no customer has a
        category.
    branches_xy
        Branches in the metric CRS of the placer's x, y, shape (k, 2); ``None``: distance to
        a branch plays no part.

    Returns
    -------
    CustomerExport

    Raises
    ------
    ValidationError
        If ``count`` is below 50 (too few rows for every kind of mess) or a truth column is
        unknown.
    """
    _check_count(count)
    clean = _clean_customers(place, count=count, locale=locale, rng=_rng(seed, "clean"))
    clean = _win_from_leads(
        clean, leads=leads, branches_xy=branches_xy, locale=locale, rng=_rng(seed, "b2b")
    )
    clean = _churn(clean, branches_xy=branches_xy, rng=_rng(seed, "churn"))
    messy, tags = _inject_mess(clean, locale=locale, rng=_rng(seed, "mess"))
    messy, tags, invalid = _inject_invalid(messy, tags, clean=clean, rng=_rng(seed, "invalid"))
    truth = clean.drop(columns=[*CUSTOMER_COLUMNS, "activity"])
    truth.insert(0, "customer_id", messy["customer_id"])
    truth["lon"] = truth["lon"].round(7)
    truth["lat"] = truth["lat"].round(7)
    truth["injected_mess"] = [",".join(t) for t in tags]
    unknown = sorted(set(truth_columns) - set(truth.columns))
    if unknown:
        msg = f"truth_columns {unknown} are unknown; choose from {sorted(truth.columns)}"
        raise ValidationError(msg)
    valid = clean.loc[
        ~invalid, ["customer_id", "segment", "signup_date", "churn_date", "x", "y", "activity"]
    ]
    return CustomerExport(
        customers=messy[CUSTOMER_COLUMNS],
        truth=truth[truth_columns],
        valid=valid.reset_index(drop=True),
    )


def _check_count(count: int) -> None:
    if count < 50:
        msg = f"count={count} is too small to carry every kind of injected mess; use count >= 50"
        raise ValidationError(msg)


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[stream]])


def _clean_customers(
    place: Placer, *, count: int, locale: CustomerLocale, rng: np.random.Generator
) -> pd.DataFrame:
    segments = np.array(list(SEGMENT_SHARES))
    segment = segments[rng.choice(len(segments), size=count, p=list(SEGMENT_SHARES.values()))]
    placed = place(segment, rng).reset_index(drop=True)
    signup = _signups(count, rng=rng)
    names, emails = _names_and_emails(segment, locale=locale, rng=rng)
    clean = pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:06d}" for i in range(count)],
            "name": names,
            "email": emails,
            "phone": _phones(count, locale=locale, rng=rng),
            "street": placed["street"],
            "house_number": placed["house_number"],
            "postcode": placed["postcode"],
            "city": placed["city"],
            "segment": segment,
            "status": "active",
            "signup_date": signup,
            "churn_date": np.full(count, np.datetime64("NaT"), dtype="datetime64[D]"),
            "category_group": "",
            "category": "",
            "lead_external_id": "",
        }
    )
    extra = placed.drop(columns=["street", "house_number", "postcode", "city"])
    return pd.concat([clean, extra], axis=1)


def _place_on_addresses(
    pool: gpd.GeoDataFrame,
    weights: np.ndarray,
    *,
    segment: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Consumers at addresses drawn by ``weights``, businesses uniformly over addresses."""
    count = len(segment)
    at_home = rng.choice(len(pool), size=count, p=weights / weights.sum())
    at_work = rng.integers(0, len(pool), size=count)
    address = np.where(segment == "consumer", at_home, at_work)
    picked = pool.iloc[address].reset_index(drop=True)
    lonlat = shapely.get_coordinates(picked.geometry.values)
    xy = shapely.get_coordinates(picked.geometry.to_crs(METRIC_CRS).values)
    return pd.DataFrame(
        {
            "street": picked["street"],
            "house_number": picked["housenumber"],
            "postcode": picked["postcode"],
            "city": picked["city"],
            "ref": picked["ref"],
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )


def _signups(count: int, *, rng: np.random.Generator) -> np.ndarray:
    """Signup dates with exponential growth (the last year about ``SIGNUP_GROWTH`` x the first)."""
    span = (AS_OF - SIGNUP_START).days
    growth = np.log(SIGNUP_GROWTH) / span
    u = rng.random(count)
    offset = np.floor(np.log1p(u * np.expm1(growth * span)) / growth).astype(np.int64)
    signup = np.datetime64(SIGNUP_START) + np.minimum(offset, span)
    return signup.astype("datetime64[D]")


def _win_from_leads(
    clean: pd.DataFrame,
    *,
    leads: LeadPool | None,
    branches_xy: np.ndarray | None,
    locale: CustomerLocale,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Business customers take converted leads' names, places and categories."""
    if leads is None or len(leads.external_id) == 0:
        return clean
    business = np.flatnonzero(clean["segment"].isin(BUSINESS_SEGMENTS).to_numpy())
    won = convert_leads(leads, branches_xy=branches_xy, wanted=len(business), rng=rng)
    if len(won) == 0:
        return clean
    out = clean.copy()
    rows, rest = business[: len(won)], business[len(won) :]
    for column in leads.places.columns:
        if column in out.columns:
            out.loc[rows, column] = leads.places[column].to_numpy()[won]
    out.loc[rows, "name"] = leads.name[won]
    out.loc[rows, "email"] = _business_emails(leads.name[won], locale=locale)
    out.loc[rows, "lead_external_id"] = leads.external_id[won]
    # Business customers won without a lead record have a converted lead's category mix.
    like = won[rng.integers(0, len(won), len(rest))] if len(rest) else won[:0]
    for target, source in ((rows, won), (rest, like)):
        out.loc[target, "category_group"] = leads.category_group[source]
        out.loc[target, "category"] = leads.category[source]
    return out


def _business_emails(names: np.ndarray, *, locale: CustomerLocale) -> np.ndarray:
    # A few hundred names; folding each is a string operation without a vectorised form.
    slugs = ["".join(ch for ch in _ascii(str(name)) if ch.isalnum()) or "info" for name in names]
    return np.array([f"info@{slug}.{locale.email_domains[0]}" for slug in slugs], dtype=object)


def _churn(
    clean: pd.DataFrame, *, branches_xy: np.ndarray | None, rng: np.random.Generator
) -> pd.DataFrame:
    """Each customer's order activity (gamma, mean 1) and churn date by the documented hazard."""
    n = len(clean)
    activity = rng.gamma(2.0, 0.5, n)
    xy = clean[["x", "y"]].to_numpy(float)
    distance = np.zeros(n) if branches_xy is None else nearest_distance_m(xy, branches_xy)
    churn = draw_churn(
        clean["signup_date"].to_numpy("datetime64[D]"),
        segment=clean["segment"].to_numpy(),
        activity=activity,
        distance_m=distance,
        as_of=AS_OF,
        rng=rng,
    )
    return clean.assign(
        churn_date=churn,
        status=np.where(pd.isna(churn), "active", "churned"),
        activity=activity,
    )


def _names_and_emails(
    segment: np.ndarray, *, locale: CustomerLocale, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = len(segment)
    words = {
        "first": locale.first_names,
        "last": locale.last_names,
        "prefix": locale.smb_prefixes,
        "word": locale.corporate_words,
        "trade": locale.corporate_trades,
        "domain": locale.email_domains,
    }
    picks = {key: rng.integers(0, len(values), n) for key, values in words.items()}
    number = rng.integers(1, 100, n)
    # Look-ups in the small word lists, then whole-column string concatenation.
    plain = {key: np.array(words[key], dtype=object)[picks[key]] for key in words}
    folded = {
        key: np.array([_ascii(w) for w in words[key]], dtype=object)[picks[key]] for key in words
    }
    folded["number"] = number.astype(str).astype(object)
    consumer, smb = segment == "consumer", segment == "smb"
    names = np.where(
        consumer,
        _fill(locale.consumer_name, plain, n),
        np.where(smb, _fill(locale.smb_name, plain, n), _fill(locale.corporate_name, plain, n)),
    )
    emails = np.where(
        consumer,
        _fill(locale.consumer_email, folded, n),
        np.where(smb, _fill(locale.smb_email, folded, n), _fill(locale.corporate_email, folded, n)),
    )
    return names, emails


def _fill(template: str, fields: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """``template.format(**row)`` for every row of the column arrays ``fields``."""
    out = np.full(n, "", dtype=object)
    for literal, name, _, _ in string.Formatter().parse(template):
        out = out + literal
        if name is not None:
            out = out + fields[name]
    return out


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace(" ", "")


def _phones(count: int, *, locale: CustomerLocale, rng: np.random.Generator) -> np.ndarray:
    prefixes = np.array(locale.phone_prefixes, dtype=object)
    operator = prefixes[rng.integers(0, len(prefixes), count)]
    number = rng.integers(*locale.phone_numbers, count)
    style = rng.integers(0, len(locale.phone_formats), count)
    fields = {
        "op": operator,
        "no": number.astype(str).astype(object),
        "head": (number // 10_000).astype(str).astype(object),
        "tail": np.char.zfill((number % 10_000).astype(str), 4).astype(object),
    }
    formatted = np.stack([_fill(f, fields, count) for f in locale.phone_formats])
    return formatted[style, np.arange(count)]


def _inject_mess(
    clean: pd.DataFrame, *, locale: CustomerLocale, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Apply the locale's mess rates; returns the messy frame (dates as ISO text) and tags."""
    n = len(clean)
    draw = {kind: rng.random(n) < rate for kind, rate in locale.mess_rates.items()}
    tags: list[list[str]] = [[] for _ in range(n)]
    out = clean[CUSTOMER_COLUMNS].copy()
    out["signup_date"] = pd.Series(clean["signup_date"]).dt.strftime("%Y-%m-%d")
    out["churn_date"] = pd.Series(clean["churn_date"]).dt.strftime("%Y-%m-%d").fillna("")

    abbreviated = _abbreviate(out["street"], locale.street_abbreviations)
    _apply(
        out,
        "street",
        draw["abbreviation"] & (abbreviated != out["street"]).to_numpy(),
        abbreviated,
        tags,
        "abbreviation",
    )
    typo = _typo(out["street"], draw["street_typo"], rng=rng)
    _apply(out, "street", draw["street_typo"], typo, tags, "street_typo")
    _apply(out, "street", draw["street_upper"], out["street"].str.upper(), tags, "street_upper")
    _apply(
        out,
        "street",
        draw["street_lower"] & ~draw["street_upper"],
        out["street"].str.lower(),
        tags,
        "street_lower",
    )
    _apply(out, "city", draw["city_upper"], out["city"].str.upper(), tags, "city_upper")
    _apply(
        out,
        "city",
        draw["city_lower"] & ~draw["city_upper"],
        out["city"].str.lower(),
        tags,
        "city_lower",
    )
    _apply(
        out,
        "segment",
        draw["segment_case"],
        _case_variant(out["segment"], rng=rng),
        tags,
        "segment_case",
    )
    _apply(
        out,
        "status",
        draw["status_case"],
        _case_variant(out["status"], rng=rng),
        tags,
        "status_case",
    )
    _apply(out, "postcode", draw["missing_postcode"], "", tags, "missing_postcode")
    _apply(out, "email", draw["missing_email"], "", tags, "missing_email")
    _apply(out, "phone", draw["missing_phone"], "", tags, "missing_phone")
    for column in ("street", "city", "name"):
        padded = "  " + out[column] + " "
        _apply(out, column, draw["whitespace"] & (out[column] != "").to_numpy(), padded, tags, "")
    _tag(tags, draw["whitespace"], "whitespace")
    for column in ("street", "house_number", "postcode", "city"):
        _apply(out, column, draw["no_address"], "", tags, "")
    _tag(tags, draw["no_address"], "no_address")
    return out, tags


def _apply(
    out: pd.DataFrame,
    column: str,
    mask: np.ndarray,
    values: pd.Series | str,
    tags: list[list[str]],
    tag: str,
) -> None:
    out[column] = out[column].where(~mask, values)
    if tag:
        _tag(tags, mask, tag)


def _tag(tags: list[list[str]], mask: np.ndarray, tag: str) -> None:
    for i in np.flatnonzero(mask):
        tags[i].append(tag)


def _abbreviate(street: pd.Series, abbreviations: Mapping[str, str]) -> pd.Series:
    out = street
    for suffix, short in abbreviations.items():
        out = out.str.replace(f"{suffix}$", short, regex=True)
    return out


def _typo(street: pd.Series, mask: np.ndarray, *, rng: np.random.Generator) -> pd.Series:
    """One-character edit (substitute, delete, swap or insert) after the first letter.

    Draws for every row (so the stream does not depend on ``mask``); edits the rows in
    ``mask`` and leaves the others as they are.
    """
    n = len(street)
    kind = rng.integers(0, 4, n)
    where = rng.random(n)
    letter = np.array(list("aeiklmnorstuv"))[rng.integers(0, 13, n)]
    rows = np.flatnonzero(mask)
    # A string edit per row has no vectorised form; only the drawn rows are visited.
    edited = [_edit(street.iat[i], int(kind[i]), where[i], str(letter[i])) for i in rows]
    out = street.astype(object).copy()
    out.iloc[rows] = edited
    return out


def _edit(text: str, kind: int, where: float, letter: str) -> str:
    if len(text) < 4:
        return text
    i = 1 + int(where * (len(text) - 2))
    if kind == 0:
        replacement = letter if letter != text[i] else "x"
        return text[:i] + replacement + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2 and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + letter + text[i:]


def _case_variant(values: pd.Series, *, rng: np.random.Generator) -> pd.Series:
    pick = rng.integers(0, 2, len(values))
    upper = values.str.upper()
    # "SMB" reads naturally in capitals; others get Title case or CAPITALS.
    title = values.str.capitalize().where(values != "smb", "SMB")
    return title.where(pick == 0, upper)


def _inject_invalid(
    messy: pd.DataFrame,
    tags: list[list[str]],
    *,
    clean: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, list[list[str]], np.ndarray]:
    """Make a few rows invalid, one kind after another; returns the invalid-row mask."""
    n = len(messy)
    count = max(len(INVALID_KINDS), round(n * INVALID_RATE))
    rows = np.sort(rng.choice(np.arange(n // 2, n), size=count, replace=False))
    kinds = [INVALID_KINDS[k % len(INVALID_KINDS)] for k in range(count)]
    invalid = np.zeros(n, dtype=bool)
    invalid[rows] = True
    targets = rng.choice(np.flatnonzero(~invalid[: n // 2]), size=count, replace=False)
    edited = ("customer_id", "signup_date", "status", "churn_date")
    cols = {c: messy[c].to_numpy(dtype=object, copy=True) for c in edited}
    clean_ids = clean["customer_id"].to_numpy(dtype=object)
    signup = clean["signup_date"].to_numpy("datetime64[D]")
    # A handful of rows (0.5 %), each broken its own way; edits go to plain arrays.
    for k, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
        if kind == "missing_id":
            cols["customer_id"][row] = ""
        elif kind == "bad_signup_date":
            cols["signup_date"][row] = BAD_SIGNUP_DATES[k % len(BAD_SIGNUP_DATES)]
        elif kind == "unknown_status":
            cols["status"][row] = "maybe"
        elif kind == "churn_before_signup":
            days_before = np.timedelta64(int(rng.integers(1, 365)), "D")
            cols["status"][row] = "churned"
            cols["churn_date"][row] = str(signup[row] - days_before)
        else:  # duplicate_id: a later row reuses an earlier, valid customer's id
            cols["customer_id"][row] = clean_ids[targets[k]]
        tags[row].append(f"invalid:{kind}")
    out = messy.assign(**cols)
    return out, tags, invalid
