"""Area levels: the hierarchy's rungs (``gcrm.area_levels``), read and checked in one place."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from gcrm.core import NotFoundError

__all__ = ["AreaLevel", "check_level", "level_names", "read_area_levels"]


@dataclass(frozen=True)
class AreaLevel:
    """One row of ``gcrm.area_levels``."""

    level: str
    parent_level: str | None
    rank: int
    label: str


def read_area_levels(conn: Connection) -> list[AreaLevel]:
    """The area levels, coarsest first (by rank, then name)."""
    rows = conn.execute(
        text("SELECT level, parent_level, rank, label FROM gcrm.area_levels ORDER BY rank, level")
    ).all()
    return [AreaLevel(r.level, r.parent_level, int(r.rank), r.label) for r in rows]


def level_names(conn: Connection) -> list[str]:
    """The names of the area levels, coarsest first. Level names are checked by the schema
    (``^[a-z][a-z0-9_]*$``), so they can name columns."""
    return [lv.level for lv in read_area_levels(conn)]


def check_level(conn: Connection, level: str) -> list[str]:
    """Raise unless ``level`` is an area level; return every level's name.

    Raises
    ------
    NotFoundError
        When ``level`` is not in ``gcrm.area_levels``; the message lists the levels.
    """
    known = level_names(conn)
    if level not in known:
        msg = f"level {level!r} is not an area level; use one of {known} (import areas with `gcrm import areas`)"
        raise NotFoundError(msg)
    return known
