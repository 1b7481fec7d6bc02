"""Offline geocoding against the address reference in PostGIS: the ladder.

The ladder runs set-based on a temporary table holding every input at once, one named step
after another (:data:`LADDER_STEPS`): the cache, exact street + number, the street known
exactly, the house on it (the number without a staircase letter or range the reference
lacks), the street matched fuzzily (a Python step, :mod:`gcrm.geocode.fuzzy`), the house on
that street, an interpolated number, the street centroid, the postcode centroid, the locality
centroid, unmatched; then the results are remembered in the cache. The SQL steps are the named
queries of ``ladder.sql``. Each result carries ``precision`` (:data:`gcrm.core.PRECISIONS`),
``score`` (0-1), ``source`` and ``matched_address``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from gcrm.geocode.fuzzy import match_streets_fuzzy
from gcrm.geocode.normalize import (
    normalize_city,
    normalize_housenumber,
    normalize_postcode,
    normalize_street,
)
from gcrm.geocode.parse import clean_street_fields, parse_addresses
from gcrm.store import copy_frame, load_queries

__all__ = [
    "LADDER_STEPS",
    "RESULT_COLUMNS",
    "GeocodeResult",
    "geocode_address",
    "geocode_batch",
    "geocode_frame",
    "input_keys",
    "ladder_batches",
    "normalize_address_fields",
]

_SQL = load_queries(__package__, "ladder.sql")
#: What the geocoder (and every provider) returns per input row.
RESULT_COLUMNS = ("lon", "lat", "precision", "score", "source", "matched_address")
#: The ladder, in order: names of queries in ``ladder.sql``, or Python steps.
LADDER_STEPS: tuple[str | Callable[[Connection], None], ...] = (
    "cache",
    "street_part",
    "exact",
    "street_exact",
    "house",
    match_streets_fuzzy,
    "house",
    "interpolated",
    "street_centroid",
    "postcode_centroid",
    "locality_centroid",
    "unmatched",
    "remember",
)
#: The largest house number the ladder interpolates (PostgreSQL's integer).
_MAX_NUMBER = 2**31 - 1
#: Steps that read or fill ``gcrm.geocode_cache`` (skipped with ``use_cache=False``).
_CACHE_STEPS = frozenset({"cache", "remember"})


@dataclass(frozen=True)
class GeocodeResult:
    """One geocoded address."""

    lon: float | None
    lat: float | None
    precision: str
    score: float
    source: str
    matched_address: str | None


def normalize_address_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised match keys for columns street, housenumber, postcode, city (any missing).

    A street field holding more than the street (a second line, a unit, the number when the
    housenumber is missing) is read first by :func:`~gcrm.geocode.parse.clean_street_fields`.
    """
    frame = clean_street_fields(frame)
    idx = frame.index
    empty = pd.Series(pd.NA, index=idx, dtype="string")

    def col(name: str) -> pd.Series:
        return frame.get(name, empty)

    hn = normalize_housenumber(col("housenumber"))
    return pd.DataFrame(
        {
            "street_norm": normalize_street(col("street")),
            "housenumber_norm": hn["housenumber_norm"],
            "unit": hn["unit"],
            "postcode_norm": normalize_postcode(col("postcode")),
            "city_norm": normalize_city(col("city")),
        },
        index=idx,
    )


def input_keys(keys: pd.DataFrame) -> pd.Series:
    """One cache key per row of normalised keys: ``street|number|unit|postcode|city``."""
    parts = keys[["street_norm", "housenumber_norm", "unit", "postcode_norm", "city_norm"]].fillna(
        ""
    )
    return parts["street_norm"].str.cat(
        [parts["housenumber_norm"], parts["unit"], parts["postcode_norm"], parts["city_norm"]],
        sep="|",
    )


def geocode_frame(conn: Connection, frame: pd.DataFrame, *, use_cache: bool = True) -> pd.DataFrame:
    """Geocode every row of ``frame`` in one set-based pass over the ladder.

    ``frame`` has split columns (street, housenumber, postcode, city; any may be missing) or
    one ``address`` column of one-line addresses. Returns a frame on the same index with lon,
    lat, precision, score, source, matched_address and the normalised keys.
    """
    if "address" in frame and "street" not in frame:
        frame = parse_addresses(frame["address"])
    keys = normalize_address_fields(frame)
    stage = keys.copy()
    stage.insert(0, "gid", np.arange(len(stage), dtype=np.int64))
    stage.insert(
        1,
        "input_key",
        input_keys(keys).where(
            keys["street_norm"].notna() | keys["postcode_norm"].notna() | keys["city_norm"].notna()
        ),
    )
    number = pd.to_numeric(
        keys["housenumber_norm"].str.extract(r"^(\d+)", expand=False), errors="coerce"
    )
    # _geo.number_int is an integer, as the reference's is: a longer number is no house's.
    stage["number_int"] = number.where(number <= _MAX_NUMBER).astype("Int64")
    stage["street_parts"] = _street_parts(frame)
    conn.execute(text("DROP TABLE IF EXISTS _geo"))
    conn.execute(text(_SQL["create_geo"]))
    copy_frame(conn, "_geo", stage)
    conn.execute(text("ANALYZE _geo"))
    # Window sorts over every candidate: keep them in memory.
    conn.execute(text("SET LOCAL work_mem = '128MB'"))
    for step in LADDER_STEPS:
        if callable(step):
            step(conn)
        elif use_cache or step not in _CACHE_STEPS:
            conn.execute(text(_SQL[step]))
    rows = conn.execute(text(_SQL["results"])).fetchall()
    conn.execute(text("DROP TABLE _geo"))
    out = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    out.index = frame.index
    out["lon"] = out["lon"].astype(float)
    out["lat"] = out["lat"].astype(float)
    out["score"] = out["score"].astype(float)
    return pd.concat([out, keys], axis=1)


def ladder_batches(
    *, use_cache: bool = True, skip: frozenset[str] = frozenset()
) -> list[list[str] | Callable[[Connection], None]]:
    """:data:`LADDER_STEPS` as the one-address path sends them: each run of SQL steps as a
    list of statements (sent together, one round trip), each Python step as itself; the SQL
    steps named in ``skip`` left out (ones the caller knows to have nothing to do)."""
    batches: list[list[str] | Callable[[Connection], None]] = []
    run: list[str] = []
    for step in LADDER_STEPS:
        if callable(step):
            if run:
                batches.append(run)
                run = []
            batches.append(step)
        elif (use_cache or step not in _CACHE_STEPS) and step not in skip:
            run.append(_SQL[step].strip().rstrip(";"))
    if run:
        batches.append(run)
    return batches


def _street_parts(frame: pd.DataFrame) -> pd.Series:
    """The normalised parts of streets written with a second line the parser kept
    (``"Acme, Mannerheimintie"``), joined by ``|``; missing for every other row. The ladder
    matches such a street by its part that is a street (``street_part`` in ``ladder.sql``)."""
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "street" not in frame:
        return empty
    street = clean_street_fields(frame)["street"].astype("string")
    several = street.str.contains(", ", regex=False).fillna(False).to_numpy(bool)
    if not several.any():
        return empty
    parts = street[several].reset_index(drop=True).str.split(", ").explode()
    keys = normalize_street(parts.astype("string")).dropna()
    joined = keys.groupby(level=0).agg("|".join)
    out = np.full(len(frame), None, dtype=object)
    out[np.flatnonzero(several)[joined.index.to_numpy()]] = joined.to_numpy()
    return pd.Series(out, index=frame.index, dtype="string")


def geocode_batch(
    engine: Engine,
    frame: pd.DataFrame,
    *,
    workers: int = 2,
    chunk_size: int | None = None,
    use_cache: bool = True,
    on_chunk: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Geocode a large frame in chunks, ``workers`` chunks at a time on their own connections.

    Each chunk is one :func:`geocode_frame` call in its own transaction; the database does
    most of the work, so two workers keep both cores busy on a two-core machine. Results come
    back in the order of ``frame``. ``on_chunk`` is called with each finished chunk's size.
    The default chunk splits the frame evenly between the workers, at most 50,000 rows: each
    chunk pays a fixed cost (a pass over the reference), so fewer, larger chunks measured
    fastest.
    """
    if chunk_size is None:
        chunk_size = min(50_000, max(1, -(-len(frame) // workers)))
    if workers < 1 or chunk_size < 1:
        msg = f"workers={workers!r} and chunk_size={chunk_size!r} must be at least 1"
        raise ValueError(msg)
    starts = range(0, len(frame), chunk_size)

    def run(start: int) -> pd.DataFrame:
        part = frame.iloc[start : start + chunk_size]
        with engine.begin() as conn:
            out = geocode_frame(conn, part, use_cache=use_cache)
        if on_chunk is not None:
            on_chunk(len(part))
        return out

    if len(frame) == 0:
        with engine.begin() as conn:
            return geocode_frame(conn, frame, use_cache=use_cache)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(run, starts))
    return pd.concat(parts)


def geocode_address(conn: Connection, address: str) -> GeocodeResult:
    """Geocode one free-text address (the same ladder as the batch path)."""
    frame = pd.DataFrame({"address": [address]})
    row = geocode_frame(conn, frame).iloc[0]
    lon = None if pd.isna(row["lon"]) else float(row["lon"])
    lat = None if pd.isna(row["lat"]) else float(row["lat"])
    return GeocodeResult(
        lon=lon,
        lat=lat,
        precision=str(row["precision"]),
        score=float(row["score"]),
        source=str(row["source"]),
        matched_address=None if pd.isna(row["matched_address"]) else str(row["matched_address"]),
    )
