"""One address, fast: the ladder's answer without the batch path's fixed costs.

:func:`geocode_frame` is built for many addresses at once: it normalises with pandas (about
10 ms for a single row), stages the rows by COPY and runs every rung as a statement of its
own, some 20 round trips. :func:`geocode_one` computes the keys in plain Python
(:mod:`gcrm.geocode.keys`, the same keys: tests/geocode/test_single.py checks it) and

1. asks the first two rungs, the cache and the exact normalised street and number, in one
   statement (``single.sql``): most single addresses end here;
2. else climbs the ladder itself, the very rungs of ``ladder.sql`` in the order of
   :data:`~gcrm.geocode.ladder.LADDER_STEPS` (but the two just asked), on a one-row
   table of its own, ``_geo_one``, kept for the session: each run of SQL rungs goes as one
   pipeline of prepared statements (one round trip, planned once per session), the fuzzy
   street rung (:func:`~gcrm.geocode.fuzzy.match_streets_fuzzy`) runs as in a batch, on
   arrays rather than a frame. Units, staircase letters, ranges, typos and second lines are
   answered there, as in a batch, and the answer is remembered in the cache as the batch
   path remembers it: three or four round trips, 5-12 ms against a million points.

Unlike the ladder, an answer of step 1 is not written to the cache: the exact rung costs
what a cache hit does, and a read stays a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from gcrm.access import APP_ROLE
from gcrm.geocode.fuzzy import Queries, StreetIndex, match_streets_fuzzy, staged_on
from gcrm.geocode.keys import AddressKeys, address_keys
from gcrm.geocode.ladder import GeocodeResult, ladder_batches
from gcrm.store import driver_connection, load_queries

__all__ = ["geocode_one"]

_SQL = load_queries(__package__, "single.sql")
_LADDER_SQL = load_queries(__package__, "ladder.sql")
#: The one-address ladder's own staging table: the batch path's ``_geo`` with rows deleted
#: at commit instead of the table dropped, made once per database session. Creating and
#: dropping a table costs ~1.5 ms of catalog writes, a tenth of the whole call; a name of
#: its own keeps the two paths from meeting each other's table in one session.
_TABLE = "_geo_one"
_COLUMNS = (
    "gid, input_key, street_norm, housenumber_norm, unit, number_int, postcode_norm, "
    "city_norm, street_parts"
)


def _create_once() -> str:
    """Make ``_geo_one`` unless the session has it: with its statistics (one row, so the
    planner's estimates hold for every call) and usable by the scoped role ``gcrm_app``
    whoever made it (a session may switch roles between transactions)."""
    create = staged_on(_LADDER_SQL["create_geo"], _TABLE).strip().rstrip(";")
    if not create.endswith("ON COMMIT DROP"):  # pragma: no cover - ladder.sql changed
        msg = "ladder.sql's create_geo no longer ends with ON COMMIT DROP; update single.py"
        raise RuntimeError(msg)
    create = create.removesuffix("ON COMMIT DROP") + "ON COMMIT DELETE ROWS"
    return (
        f"DO $$BEGIN IF to_regclass('pg_temp.{_TABLE}') IS NULL THEN {create}; "
        f"INSERT INTO {_TABLE} (gid) VALUES (-1); ANALYZE {_TABLE}; DELETE FROM {_TABLE}; "
        f"GRANT ALL ON {_TABLE} TO {APP_ROLE}; END IF; END$$"
    )


#: A statement to send, its parameters, and whether to prepare it: the rungs are prepared
#: (planned once per session; planning is most of their time on one row), the set-up is not.
_Statement = tuple[str, Sequence[Any] | None, bool]
_CREATE_ONCE = _create_once()
_INSERT = f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES (0, %s, %s, %s, %s, %s, %s, %s, %s)"


def _stage(keys: AddressKeys) -> list[_Statement]:
    """As geocode_frame stages and prepares ``_geo`` before the first rung; the table is
    emptied first for a second address in the same transaction."""
    values = (
        keys.input_key,
        keys.street_norm,
        keys.housenumber_norm,
        keys.unit,
        keys.number_int,
        keys.postcode_norm,
        keys.city_norm,
        keys.street_parts,
    )
    return [
        (_CREATE_ONCE, None, False),
        (f"DELETE FROM {_TABLE}", None, True),
        (_INSERT, values, True),
        ("SET LOCAL work_mem = '128MB'", None, False),
    ]


_FUZZY_READS: list[_Statement] = [
    (staged_on(_LADDER_SQL["fuzzy_todo"], _TABLE).strip().rstrip(";"), None, True),
    (_SQL["fuzzy_streets"].strip().rstrip(";"), None, True),
]
_RESULTS: _Statement = (staged_on(_LADDER_SQL["results"], _TABLE).strip().rstrip(";"), None, True)


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
    """The whole ladder (with the cache) for one address in two round trips, each a
    pipeline of prepared statements, and the fuzzy rung's between them: the staging, the
    rungs before the fuzzy street rung and what that rung reads (its row, the streets of its
    postcode); then, if the address is still unplaced, the rung's decision (one round trip;
    three when the streets of its city must be read too); then the rest of the rungs and
    the result.

    The cache and the exact rung are left out when ``cache_or_exact`` has just asked them
    with the same keys (the exact rung is asked again when ``street_part`` may change the
    street it looks for)."""
    raw = driver_connection(conn)
    asked = {"cache"} if keys.street_parts is not None else {"cache", "street_part", "exact"}
    runs = ladder_batches(use_cache=True, skip=frozenset(asked))
    found: list[tuple[Any, ...]] | None = None
    for i, run in enumerate(runs):
        if run is match_streets_fuzzy:
            continue  # run below, with the rows the batch before it read
        if not isinstance(run, list):  # pragma: no cover - the ladder has one Python step
            run(conn)
            continue
        statements: list[_Statement] = [(staged_on(q, _TABLE), None, True) for q in run]
        if i == 0:
            statements = _stage(keys) + statements
        fuzzy_next = i + 1 < len(runs) and runs[i + 1] is match_streets_fuzzy
        if fuzzy_next:  # the fuzzy rung's row and streets, read in the same round trip
            statements += _FUZZY_READS
        if i == len(runs) - 1:
            statements.append(_RESULTS)
        rows = _pipeline(raw, statements)
        if fuzzy_next and rows[-2]:
            gid, street, _number, postcode, city, sim = rows[-2][0]
            match_streets_fuzzy(
                conn,
                Queries.one(gid, street, postcode, city, own=sim is not None),
                streets=StreetIndex.from_arrays(rows[-1][0]),
                table=_TABLE,
            )
        found = rows[-1]
    if not found:  # pragma: no cover - _geo_one holds the one row staged above
        msg = "the one-address ladder lost its row; report this as a bug"
        raise RuntimeError(msg)
    return _result(*found[0])


def _pipeline(raw: psycopg.Connection[Any], statements: list[_Statement]) -> list[list[Any]]:
    """Send ``statements`` in one pipeline (one round trip); the rows of each (empty for a
    statement that returns none)."""
    cursors = [raw.cursor() for _ in statements]
    try:
        with raw.pipeline():
            for cur, (query, params, prepare) in zip(cursors, statements, strict=True):
                cur.execute(query.encode(), params, prepare=prepare)
        return [cur.fetchall() if cur.description is not None else [] for cur in cursors]
    finally:
        for cur in cursors:
            cur.close()


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
