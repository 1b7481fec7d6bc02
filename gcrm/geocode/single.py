"""One address, fast: the common answers without the ladder's set-based machinery.

:func:`geocode_frame` is built for many addresses at once: it stages them in a temporary
table and runs every rung as a statement of its own, about 17 round trips and 15 ms of pandas
for a single row. Most single addresses are answered by the first two rungs (the cache, the
exact normalised street and number); :func:`geocode_one` computes the keys in plain Python
(:mod:`gcrm.geocode.keys`) and asks both rungs in one statement (``single.sql``). Anything
else climbs the whole ladder, so every answer is the ladder's.

Unlike the ladder, an answer of these two rungs is not written to the cache: the exact rung
costs what a cache hit does, and a read stays a read.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from gcrm.geocode.keys import address_keys
from gcrm.geocode.ladder import GeocodeResult, geocode_address
from gcrm.store import load_queries

__all__ = ["geocode_one"]

_SQL = load_queries(__package__, "single.sql")


def geocode_one(conn: Connection, address: str) -> GeocodeResult:
    """Geocode one free-text address; the same result as :func:`geocode_address`.

    Parameters
    ----------
    conn
        Connection to the gcrm database, in a transaction (the ladder, when it is needed,
        stages the address in a temporary table).
    address
        A one-line address, e.g. ``"Mannerheimintie 10, 00100 Helsinki"``.

    Returns
    -------
    GeocodeResult
        lon, lat, precision, score, source and matched_address.
    """
    keys = address_keys(address)
    row = conn.execute(
        text(_SQL["cache_or_exact"]),
        {
            "input_key": keys.input_key,
            "street_norm": keys.street_norm,
            "housenumber_norm": keys.housenumber_norm,
            "unit": keys.unit,
            "postcode_norm": keys.postcode_norm,
            "city_norm": keys.city_norm,
        },
    ).first()
    if row is None:
        return geocode_address(conn, address)
    return GeocodeResult(
        lon=None if row.lon is None else float(row.lon),
        lat=None if row.lat is None else float(row.lat),
        precision=str(row.precision),
        score=float(row.score),
        source=str(row.source),
        matched_address=None if row.matched_address is None else str(row.matched_address),
    )
