"""Area statistics as readers see them: one vintage of each figure, with its provenance.

``gcrm.area_stats`` keeps several vintages of one measure side by side (a 2019 and a 2023
population of the same area). Profiles, the cube and reports read one of them:

- by default the **latest**: the largest year named in the vintage label (``"2023"``,
  ``"OSM 2019 extract"``, ``"2018-2022"`` counts as 2022), then the label itself; a vintage
  that names no year (``"not stated"``) comes last;
- with ``vintage="2019"``: that vintage, for every (level, measure) that has figures of it;
  measures without that vintage keep their latest, and their provenance says so.

Every figure carries its ``source``, ``vintage`` and ``method``; :func:`describe_sources`
writes them for people.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError
from gcrm.store import load_queries

__all__ = [
    "STATS_COLUMNS",
    "check_vintage",
    "describe_sources",
    "read_area_stats",
    "stats_vintages",
]

_SQL = load_queries(__package__, "stats.sql")
#: The columns of :func:`read_area_stats`.
STATS_COLUMNS = ["level", "code", "measure", "value", "source", "vintage", "method"]


def stats_vintages(conn: Connection) -> list[str]:
    """Every vintage in ``gcrm.area_stats``, sorted."""
    return [str(r.vintage) for r in conn.execute(text(_SQL["vintages"]))]


def check_vintage(conn: Connection, vintage: str | None) -> None:
    """Raise unless ``vintage`` is None or a vintage of some figure.

    Raises
    ------
    NotFoundError
        When no figure has that vintage; the message lists those there are.
    """
    if vintage is None:
        return
    known = stats_vintages(conn)
    if vintage not in known:
        msg = (
            f"--vintage {vintage!r}: no area statistics have that vintage; use one of "
            f"{known} (or leave --vintage out for the latest)"
        )
        raise NotFoundError(msg)


def read_area_stats(
    conn: Connection,
    *,
    levels: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    vintage: str | None = None,
) -> pd.DataFrame:
    """One figure per area and measure, of the latest vintage or of ``vintage``.

    Parameters
    ----------
    conn
        A connection to the gcrm database (row-level security applies: a scoped user reads
        the figures of their areas).
    levels
        Keep these levels; None: every level.
    measures
        Keep these measures; None: every measure.
    vintage
        None for the latest vintage of each figure, or a vintage label (e.g. ``"2019"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STATS_COLUMNS`; ``value`` float, ``method`` ``""`` where not stated;
        sorted by level, code, measure.

    Raises
    ------
    NotFoundError
        When ``vintage`` is not the vintage of any figure.
    """
    check_vintage(conn, vintage)
    result = conn.execute(
        text(_SQL["chosen"]),
        {"levels": list(levels) if levels is not None else None, "vintage": vintage},
    )
    frame = pd.DataFrame(result.fetchall(), columns=STATS_COLUMNS)
    if measures is not None:
        frame = frame[frame["measure"].isin(list(measures))].reset_index(drop=True)
    return frame.astype({"value": float})


def describe_sources(stats: pd.DataFrame) -> pd.DataFrame:
    """Where figures come from, for people: one row per (measure, source, vintage, method).

    Parameters
    ----------
    stats
        Rows with ``measure``, ``source``, ``vintage``, ``method`` and ``code`` (e.g. from
        :func:`read_area_stats`).

    Returns
    -------
    pandas.DataFrame
        Columns ``measure``, ``source``, ``vintage``, ``method``, ``areas`` (how many areas
        have a figure of that provenance), ``text`` (``"<source>, <vintage> (<method>)"``);
        sorted by measure, then most areas first.
    """
    columns = ["measure", "source", "vintage", "method"]
    if stats.empty:
        return pd.DataFrame(columns=[*columns, "areas", "text"])
    counted = (
        stats.fillna({"method": ""})
        .groupby(columns, sort=False)["code"]
        .nunique()
        .rename("areas")
        .reset_index()
    )
    method = counted["method"].where(counted["method"] == "", " (" + counted["method"] + ")")
    counted["text"] = counted["source"] + ", " + counted["vintage"] + method
    order = counted.sort_values(["measure", "areas", "vintage"], ascending=[True, False, False])
    return order.reset_index(drop=True)
