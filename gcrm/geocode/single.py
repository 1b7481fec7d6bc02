"""One address, fast: the ladder's answer without the batch path's fixed costs.

:func:`geocode_frame` is built for many addresses at once: it normalises with pandas (about
10 ms for a single row), stages the rows by COPY and runs every rung as a statement of its
own, some 20 round trips. :func:`geocode_one` computes the keys in plain Python
(:mod:`gcrm.geocode.keys`, the same keys: tests/geocode/test_single.py checks it) and

1. asks the first two rungs, the cache and the exact normalised street and number, in one
   statement (``single.sql``): most single addresses end here;
2. else climbs the ladder itself, the very rungs of ``ladder.sql`` in the order of
   :data:`~gcrm.geocode.ladder.LADDER_STEPS` (but the two just asked), on a one-row
   ``_geo``: each run of SQL rungs goes as one text of several statements (one round
   trip), the fuzzy street rung (:func:`~gcrm.geocode.fuzzy.match_streets_fuzzy`) runs as
   in a batch. Units, staircase letters, ranges, typos and second lines are answered
   there, as in a batch, and the answer is remembered in the cache as the batch path
   remembers it: two or three round trips, 5-15 ms against a million points.

Unlike the ladder, an answer of step 1 is not written to the cache: the exact rung costs
what a cache hit does, and a read stays a read.
"""

from __future__ import annotations

import pandas as pd
from psycopg import sql
from sqlalchemy import Connection, text

from gcrm.geocode.fuzzy import match_streets_fuzzy
from gcrm.geocode.keys import AddressKeys, address_keys
from gcrm.geocode.ladder import GeocodeResult, ladder_batches
from gcrm.store import driver_connection, load_queries

__all__ = ["geocode_one"]

_SQL = load_queries(__package__, "single.sql")
_LADDER_SQL = load_queries(__package__, "ladder.sql")
_COLUMNS = (
    "gid, input_key, street_norm, housenumber_norm, unit, number_int, postcode_norm, "
    "city_norm, street_parts"
)
# As geocode_frame stages and prepares _geo before the first rung.
_STAGE = (
    "DROP TABLE IF EXISTS _geo;\n"
    + _LADDER_SQL["create_geo"].strip().rstrip(";")
    + ";\nINSERT INTO _geo ({columns}) VALUES (0, {values});\n"
    + "ANALYZE _geo;\nSET LOCAL work_mem = '128MB'"
)


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
        return _climb_ladder(conn, keys)
    return _result(row.lon, row.lat, row.precision, row.score, row.source, row.matched_address)


def _climb_ladder(conn: Connection, keys: AddressKeys) -> GeocodeResult:
    """The whole ladder (with the cache) for one address, in two or three round trips: the
    staging and the rungs before the fuzzy street rung as one text, then that rung if the
    address is still unplaced, then the rest of the rungs and the result as one text.

    The cache and the exact rung are left out when ``cache_or_exact`` has just asked them
    with the same keys (the exact rung is asked again when ``street_part`` may change the
    street it looks for)."""
    raw = driver_connection(conn)
    values = sql.SQL(", ").join(
        sql.Literal(v)
        for v in (
            keys.input_key,
            keys.street_norm,
            keys.housenumber_norm,
            keys.unit,
            keys.number_int,
            keys.postcode_norm,
            keys.city_norm,
            keys.street_parts,
        )
    )
    staged = sql.SQL(_STAGE).format(columns=sql.SQL(_COLUMNS), values=values).as_string(raw)
    asked = {"cache"} if keys.street_parts is not None else {"cache", "street_part", "exact"}
    batches = ladder_batches(use_cache=True, skip=frozenset(asked))
    batches[0] = f"{staged};\n{batches[0]}"
    batches[-1] = f"{batches[-1]};\n{_LADDER_SQL['results'].strip().rstrip(';')}"
    with raw.cursor() as cur:
        for i, batch in enumerate(batches):
            if batch is match_streets_fuzzy:
                continue  # run below, with the rows the batch before it read
            if not isinstance(batch, str):  # pragma: no cover - the ladder has one Python step
                batch(conn)
                continue
            fuzzy_next = i + 1 < len(batches) and batches[i + 1] is match_streets_fuzzy
            if fuzzy_next:  # the fuzzy rung's rows, read in the same round trip
                batch = f"{batch};\n{_LADDER_SQL['fuzzy_todo'].strip().rstrip(';')}"
            # Several statements without parameters: one round trip (the simple protocol).
            cur.execute(batch.encode())
            while cur.nextset():
                pass
            if fuzzy_next:
                names = [c.name for c in cur.description or ()]
                todo = pd.DataFrame(cur.fetchall(), columns=names)
                if not todo.empty:
                    match_streets_fuzzy(conn, todo)
        found = cur.fetchone()
    if found is None:  # pragma: no cover - _geo holds the one row staged above
        msg = "the one-address ladder lost its row; report this as a bug"
        raise RuntimeError(msg)
    return _result(*found)


def _result(
    lon: object, lat: object, precision: object, score: object, source: object, label: object
) -> GeocodeResult:
    return GeocodeResult(
        lon=None if lon is None else float(lon),  # type: ignore[arg-type]
        lat=None if lat is None else float(lat),  # type: ignore[arg-type]
        precision=str(precision),
        score=float(score),  # type: ignore[arg-type]
        source=str(source),
        matched_address=None if label is None else str(label),
    )
