"""Forgetting a customer: every trace in the database, in one transaction, itself logged.

The record and its orders (their owner, :mod:`gcrm.ingest`), the enrichment row
(:mod:`gcrm.enrich`) and what the geocoder's cache remembers of the address
(:mod:`gcrm.geocode`) go; the cube no longer counts the customer from its next build; the
audit log records that a customer was forgotten (its id, not its data).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection

from gcrm.access import record_access
from gcrm.enrich import forget_points
from gcrm.geocode import forget_inputs, input_keys, normalize_address_fields
from gcrm.ingest import delete_customer

__all__ = ["Forgotten", "forget_customer"]


@dataclass(frozen=True)
class Forgotten:
    """What :func:`forget_customer` removed."""

    external_id: str
    orders: int
    enrichment_rows: int
    cache_entries: int


def forget_customer(conn: Connection, external_id: str) -> Forgotten:
    """Remove customer ``external_id`` from every table and the geocode cache.

    Runs on ``conn``'s transaction (the owner's): it lands whole or not at all.

    Raises
    ------
    NotFoundError
        When there is no such customer.
    """
    record = delete_customer(conn, external_id)
    address = pd.DataFrame(
        [{k: record.get(k) for k in ("street", "housenumber", "postcode", "city")}]
    ).astype("string")
    keys = input_keys(normalize_address_fields(address)).tolist()
    forgotten = Forgotten(
        external_id=external_id,
        orders=int(record["orders"]),  # type: ignore[call-overload]
        enrichment_rows=forget_points(conn, "customers", [external_id]),
        cache_entries=forget_inputs(conn, keys),
    )
    record_access(
        conn,
        action="customers forget",
        rows=1,
        target=external_id,
        detail={"orders": forgotten.orders, "cache_entries": forgotten.cache_entries},
    )
    return forgotten
