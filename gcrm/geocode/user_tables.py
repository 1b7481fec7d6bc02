"""Geocoding the tables users bring: every row and column kept, results appended.

The library behind ``gcrm geocode`` and ``gcrm reverse-geocode``: the input is any table
:func:`gcrm.io.read_table` reads; the output is the same table with ``gcrm_`` columns
appended, one row out per row in. Long runs report progress through ``on_rows`` callbacks,
so a command can draw a bar without this module knowing about terminals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from gcrm.core import FALLBACK_PRECISIONS, PRECISIONS, ValidationError
from gcrm.geocode.ladder import geocode_batch
from gcrm.geocode.providers import Provider, refine_with_provider
from gcrm.geocode.reverse import reverse_geocode_frame

__all__ = [
    "APPENDED_COLUMNS",
    "PROGRESS_CHUNK",
    "REVERSE_COLUMNS",
    "append_columns",
    "check_no_result_columns",
    "format_precision_summary",
    "online_todo",
    "geocode_rows",
    "precision_summary",
    "progress_chunk_size",
    "refine_rows_online",
    "reverse_rows",
    "reverse_summary",
]

#: Columns ``gcrm geocode`` appends, from the geocoder's result columns.
APPENDED_COLUMNS: dict[str, str] = {
    "lon": "gcrm_lon",
    "lat": "gcrm_lat",
    "precision": "gcrm_precision",
    "score": "gcrm_score",
    "source": "gcrm_source",
    "matched_address": "gcrm_matched_address",
}
#: Columns ``gcrm reverse-geocode`` appends.
REVERSE_COLUMNS: dict[str, str] = {
    "address": "gcrm_address",
    "ref": "gcrm_address_ref",
    "distance_m": "gcrm_distance_m",
}
#: Rows per chunk once a file is big enough for a progress bar to be worth watching; smaller
#: files go in the fewest chunks (each chunk pays a fixed pass over the reference).
PROGRESS_CHUNK = 5_000
_ONLINE_CHUNK = 50

OnRows = Callable[[int], None] | None


def check_no_result_columns(frame: pd.DataFrame, names: Mapping[str, str]) -> None:
    """Refuse a table that already has result columns (a gcrm output run through again)."""
    clash = [c for c in names.values() if c in frame.columns]
    if clash:
        msg = (
            f"IN already has columns {clash}: it looks like gcrm output; run on the original "
            "file, or rename or drop those columns"
        )
        raise ValidationError(msg)


def append_columns(
    table: pd.DataFrame, results: pd.DataFrame, names: Mapping[str, str]
) -> pd.DataFrame:
    """``table`` with the ``results`` columns in ``names`` appended under their new names."""
    added = results[list(names)].rename(columns=dict(names))
    added.index = table.index
    return pd.concat([table, added], axis=1)


def progress_chunk_size(rows: int) -> int | None:
    """Chunk rows for a visible progress bar on big inputs; None (fewest chunks) otherwise."""
    return PROGRESS_CHUNK if rows > 2 * PROGRESS_CHUNK else None


def geocode_rows(
    engine: Engine, frame: pd.DataFrame, *, workers: int, use_cache: bool, on_rows: OnRows = None
) -> pd.DataFrame:
    """Geocode every row of ``frame`` (see :func:`gcrm.geocode.geocode_batch`) on its index."""
    results = geocode_batch(
        engine,
        frame,
        workers=workers,
        chunk_size=progress_chunk_size(len(frame)),
        use_cache=use_cache,
        on_chunk=on_rows,
    )
    return results.set_axis(frame.index)


def refine_rows_online(
    engine: Engine,
    frame: pd.DataFrame,
    results: pd.DataFrame,
    *,
    provider: Provider,
    on_rows: OnRows = None,
) -> pd.DataFrame:
    """Ask ``provider`` about the rows placed at postcode level or worse; keep better answers.

    Small chunks, each committed: the provider's cache keeps every answer even if the run
    stops half-way.
    """
    todo = online_todo(results)
    for start in range(0, len(todo), _ONLINE_CHUNK):
        part = todo[start : start + _ONLINE_CHUNK]
        with engine.begin() as conn:
            refined = refine_with_provider(
                conn, frame.loc[part], results.loc[part], provider=provider
            )
        results.loc[part, list(refined.columns)] = refined
        if on_rows is not None:
            on_rows(len(part))
    return results


def online_todo(results: pd.DataFrame) -> pd.Index:
    """The rows of ``results`` worth a second opinion (:data:`gcrm.core.FALLBACK_PRECISIONS`)."""
    return results.index[results["precision"].isin(FALLBACK_PRECISIONS).to_numpy()]


def precision_summary(precision: pd.Series) -> pd.DataFrame:
    """Rows placed at each precision, best first: ``count`` and ``share`` (0-1), and a total."""
    counts = precision.value_counts().reindex(list(PRECISIONS), fill_value=0).astype(int)
    total = int(counts.sum())
    table = pd.DataFrame({"count": counts, "share": counts / total if total else 0.0})
    table.loc["total"] = [total, 1.0 if total else 0.0]
    table["count"] = table["count"].astype(int)
    table.index.name = "precision"
    return table


def format_precision_summary(table: pd.DataFrame) -> str:
    """:func:`precision_summary` as text: thousands separators, shares in percent."""
    shown = pd.DataFrame(
        {
            "count": table["count"].map("{:,}".format),
            "share": table["share"].map("{:.1%}".format),
        },
        index=table.index,
    )
    return shown.to_string()


def reverse_rows(
    engine: Engine,
    coords: pd.DataFrame,
    *,
    max_distance_m: float,
    index: pd.Index,
    on_rows: OnRows = None,
) -> pd.DataFrame:
    """The nearest reference address to each (lon, lat) row of ``coords``, reindexed to
    ``index`` (rows without valid coordinates get missing values)."""
    parts = []
    for start in range(0, len(coords), PROGRESS_CHUNK):
        chunk = coords.iloc[start : start + PROGRESS_CHUNK]
        with engine.begin() as conn:
            parts.append(reverse_geocode_frame(conn, chunk, max_distance_m=max_distance_m))
        if on_rows is not None:
            on_rows(len(chunk))
    empty = pd.DataFrame(columns=["address", "ref", "distance_m"], index=pd.Index([], dtype=int))
    found = pd.concat(parts) if parts else empty
    return found[["address", "ref", "distance_m"]].reindex(index)


def reverse_summary(results: pd.DataFrame, *, invalid: int, max_distance_m: float) -> str:
    """Addresses found, not found and rows without valid coordinates, with distances."""
    found = int(results["ref"].notna().sum())
    missing = len(results) - found - invalid
    lines = [
        f"address found within {max_distance_m:g} m: {found:,}",
        f"no address within {max_distance_m:g} m:   {missing:,}",
        f"missing or invalid coordinates:  {invalid:,}",
    ]
    if found:
        d = results["distance_m"].dropna()
        lines.append(f"distance (m): median {np.median(d):.1f}, max {d.max():.1f}")
    return "\n".join(lines)
