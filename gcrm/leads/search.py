"""Nearby leads: one indexed PostGIS query around an origin point, and where a search starts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.areas import level_names
from gcrm.core import GeocodingError, NotFoundError, ValidationError
from gcrm.geocode import geocode_one
from gcrm.leads.query import LEAD_COLUMNS, check_sort, filter_params, read_rows
from gcrm.store import load_queries

__all__ = [
    "LEAD_COLUMNS",
    "MAX_LIMIT",
    "Origin",
    "find_nearby_leads",
    "resolve_origin",
    "search_params",
]

#: Upper bound on ``limit``: a call list, not a table dump.
MAX_LIMIT = 10_000
#: Candidates a radius search sorted by score reads: every lead within the radius.
_EVERY_LEAD = 2**31 - 1

_CUSTOMER_SQL = load_queries(__package__, "nearby.sql")["customer_origin"]


@dataclass(frozen=True)
class Origin:
    """Where a nearby search starts: a point, a human label and how precisely it is known."""

    lon: float
    lat: float
    label: str
    precision: str
    #: The reference address the geocoder matched, when the origin was an address.
    matched_address: str | None = None


def _check_point(lon: float, lat: float) -> None:
    for name, value, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if not (isinstance(value, int | float) and math.isfinite(value) and abs(value) <= bound):
            msg = f"{name}={value!r} is not a valid coordinate; pass degrees in [-{bound:g}, {bound:g}] (EPSG:4326)"
            raise ValidationError(msg)


def _check_options(radius_m: float, limit: int) -> None:
    if not (math.isfinite(radius_m) and radius_m > 0):
        msg = f"radius_m={radius_m!r} must be a positive number of metres, e.g. 1000"
        raise ValidationError(msg)
    if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
        msg = f"limit={limit!r} must be an integer from 1 to {MAX_LIMIT}, e.g. 50"
        raise ValidationError(msg)


def _expand_area_codes(gdf: gpd.GeoDataFrame, levels: list[str]) -> gpd.GeoDataFrame:
    codes = pd.DataFrame(list(gdf.pop("area_codes")), index=gdf.index, dtype=object)
    extra = [c for c in codes.columns if c not in levels]
    codes = codes.reindex(columns=[*levels, *sorted(extra)])
    codes.columns = [f"area_{c}" for c in codes.columns]
    geometry = gdf.geometry.name
    front = [c for c in gdf.columns if c != geometry]
    out = pd.concat([gdf[front], codes, gdf[[geometry]]], axis=1)
    return gpd.GeoDataFrame(out, geometry=geometry, crs=gdf.crs)


def search_params(
    conn: Connection,
    *,
    lon: float,
    lat: float,
    radius_m: float,
    limit: int,
    categories: Sequence[str] | None,
    zoning_classes: Sequence[str] | None,
    area: str | tuple[str, str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
) -> dict[str, object]:
    """The bound parameters of a radius search, checked.

    Raises
    ------
    ValidationError
        When a coordinate, ``radius_m``, ``limit``, the area or a filter is invalid.
    """
    _check_point(lon, lat)
    _check_options(radius_m, limit)
    params = filter_params(
        conn,
        categories=categories,
        zoning_classes=zoning_classes,
        area=area,
        min_score=min_score,
        customers=customers,
    )
    return params | {
        "lon": float(lon),
        "lat": float(lat),
        "radius_m": float(radius_m),
        "limit": int(limit),
    }


def first_fetch(params: dict[str, object], *, order: str) -> int:
    """How many of the nearest leads a radius search reads first: ``limit`` when nothing
    can drop one after the spatial search, twice that and 20 more when a filter can, every
    lead in the radius when sorted by score."""
    limit = int(params["limit"])  # type: ignore[call-overload]
    if order == "score":
        return _EVERY_LEAD
    later = params["area"] is not None or params["min_score"] is not None
    if params["customers"] == "include" and not later:
        return limit
    return 2 * limit + 20


def find_nearby_leads(
    conn: Connection,
    *,
    lon: float,
    lat: float,
    radius_m: float = 1000,
    limit: int = 50,
    categories: Sequence[str] | None = None,
    zoning_classes: Sequence[str] | None = None,
    area: str | tuple[str, str] | None = None,
    min_score: float | None = None,
    customers: str = "exclude",
    sort: str | None = None,
) -> gpd.GeoDataFrame:
    """The leads nearest to a point, within a radius, ranked by distance (or score).

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    lon, lat
        Origin in degrees (EPSG:4326).
    radius_m
        Search radius in metres (geodesic).
    limit
        At most this many leads, the first in ``sort`` order.
    categories
        Keep only leads whose ``category`` is one of these (e.g. ``["cafe", "restaurant"]``).
    zoning_classes
        Keep only leads in these zoning classes (residential, commercial, industrial, mixed,
        other), as set by ``gcrm enrich``.
    area
        ``"level:code"`` or ``(level, code)``: only leads in that area.
    min_score
        Keep only leads whose lead score (``gcrm leads score``) is at least this, in [0, 1];
        unscored leads are left out.
    customers
        ``"exclude"`` (the default: a prospecting list), ``"only"`` or ``"include"`` the leads
        that are already customers: a customer record names the lead, or a customer of the
        same name stands within 50 m (``gcrm.customer_lead_ids``).
    sort
        ``"distance"`` (the default) or ``"score"`` (best first, unscored last; the default
        when ``min_score`` is given).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per lead with a 1-based ``rank`` in ``sort`` order (ties by
        ``external_id``): the lead columns, ``distance_m`` (metres, geodesic), ``score``,
        ``percentile`` and ``reasons`` (a list of texts; all three empty when unscored), its
        ``area_<level>`` codes and point geometry (EPSG:4326).

    Raises
    ------
    ValidationError
        When a coordinate, ``radius_m``, ``limit``, ``sort``, the area or a filter is
        invalid.
    """
    order = check_sort(sort, kind="nearest", min_score=min_score)
    params = search_params(
        conn,
        lon=lon,
        lat=lat,
        radius_m=radius_m,
        limit=limit,
        categories=categories,
        zoning_classes=zoning_classes,
        area=area,
        min_score=min_score,
        customers=customers,
    )
    fetch = first_fetch(params, order=order)
    while True:
        gdf, fetched = read_rows(conn, "nearest", params | {"fetch": fetch}, order=order)
        # Fewer than asked: the radius holds no more leads.
        if len(gdf) >= limit or fetched < fetch:
            break
        fetch = min(fetch * 8, _EVERY_LEAD)
    return _expand_area_codes(gdf, level_names(conn))


def _origin_of_customer(conn: Connection, customer_id: str) -> Origin:
    row = (
        conn.execute(
            text(_CUSTOMER_SQL),
            {"id": customer_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        msg = f"customer_id={customer_id!r} is not in gcrm.customers; check the id (the CRM's customer_id)"
        raise NotFoundError(msg)
    if row["lon"] is None:
        msg = (
            f"customer_id={customer_id!r} has no location (geocode precision "
            f"{row['geocode_precision']!r}); fix the customer's address and re-import, "
            "or search from an address or --lon/--lat"
        )
        raise NotFoundError(msg)
    return Origin(
        float(row["lon"]),
        float(row["lat"]),
        f"customer {customer_id} ({row['name']})",
        str(row["geocode_precision"]),
    )


def _origin_of_address(conn: Connection, address: str) -> Origin:
    if not address.strip():
        msg = "address='' is empty; pass a street and house number, e.g. 'Mannerheimintie 10'"
        raise ValidationError(msg)
    result = geocode_one(conn, address)
    if result.precision == "none" or result.lon is None or result.lat is None:
        msg = (
            f"address={address!r} could not be geocoded: no street, postcode or locality in the "
            "address reference matches it; check the spelling, add the postcode and city "
            "(e.g. 'Mannerheimintie 10, 00100 Helsinki'), or pass coordinates or a customer id"
        )
        raise GeocodingError(msg)
    return Origin(
        result.lon,
        result.lat,
        result.matched_address or address,
        result.precision,
        matched_address=result.matched_address or "",
    )


def resolve_origin(
    conn: Connection,
    *,
    address: str | None = None,
    customer_id: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> Origin:
    """Turn exactly one of an address, a customer id or coordinates into an :class:`Origin`.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    address
        Free-text address, geocoded with :func:`gcrm.geocode.geocode_one` (the ladder's answer).
    customer_id
        A customer's external id; its geocoded location is used.
    lon, lat
        Coordinates in degrees (EPSG:4326), both or neither.

    Returns
    -------
    Origin
        ``lon``, ``lat``, a ``label`` for people and the ``precision`` of the location.

    Raises
    ------
    ValidationError
        When not exactly one kind of origin is given, or coordinates are invalid.
    NotFoundError
        When the customer does not exist or has no location.
    GeocodingError
        When the address cannot be geocoded.
    """
    if (lon is None) != (lat is None):
        msg = f"lon={lon!r}, lat={lat!r}: pass both coordinates or neither"
        raise ValidationError(msg)
    given = {
        "address": address is not None,
        "customer_id": customer_id is not None,
        "lon/lat": lon is not None,
    }
    if sum(given.values()) != 1:
        chosen = [k for k, v in given.items() if v] or "none"
        msg = f"give exactly one origin (address, customer_id or lon/lat); got {chosen}"
        raise ValidationError(msg)
    if address is not None:
        return _origin_of_address(conn, address)
    if customer_id is not None:
        return _origin_of_customer(conn, customer_id)
    assert lon is not None and lat is not None
    _check_point(lon, lat)
    return Origin(float(lon), float(lat), f"{lat:.5f}, {lon:.5f}", "coordinates")
