"""The area hierarchy, checked on every areas import: parents, overlaps, gaps, nesting."""

from __future__ import annotations

from sqlalchemy import Connection, text

from gcrm.store import load_queries

__all__ = ["check_area_hierarchy", "known_levels"]

_SQL = load_queries(__package__, "hierarchy.sql")


def known_levels(conn: Connection) -> set[str]:
    """The levels of ``gcrm.area_levels``."""
    return {r[0] for r in conn.execute(text("SELECT level FROM gcrm.area_levels"))}


def check_area_hierarchy(conn: Connection) -> dict[str, object]:
    """Validate every level's hierarchy; report problems, never hide them.

    Derives missing parent codes by spatial nesting (the parent containing a point on the
    child), then reports per level: areas without a parent, areas reaching more than 0.1%
    outside their parent, overlapping areas, and parents with gaps not covered by their
    children. A level with no orphans, none outside its parents and no gaps in them is marked
    ``nested`` in ``gcrm.area_levels``: enrichment then takes its parents' codes from
    ``parent_code`` instead of a spatial join.
    """
    derived = conn.execute(text(_SQL["derive_parents"])).rowcount
    report: dict[str, object] = {}
    if derived:
        report["parent codes derived by spatial nesting"] = derived
    nested: dict[str, bool] = {}
    for level, orphans, outside in conn.execute(text(_SQL["orphans_and_outside"])):
        nested[level] = orphans == 0 and outside == 0
        if orphans:
            report[f"{level}: areas without a parent"] = orphans
        if outside:
            report[f"{level}: areas reaching outside their parent"] = outside
    for level, n in conn.execute(text(_SQL["overlaps"])):
        report[f"{level}: overlapping pairs"] = n
    gaps: dict[str, int] = dict(conn.execute(text(_SQL["gaps"])).all())
    for level, n in gaps.items():
        report[f"{level}: areas not fully covered by their children (gaps)"] = n
    # Parent codes follow from children only where the children tile their parents exactly.
    parents: dict[str, str | None] = dict(
        conn.execute(text("SELECT level, parent_level FROM gcrm.area_levels")).all()
    )
    nested = {
        lv: ok and not (parents[lv] is not None and gaps.get(str(parents[lv])))
        for lv, ok in nested.items()
    }
    conn.execute(text("UPDATE gcrm.area_levels SET nested = false"))
    for level, ok in nested.items():
        conn.execute(
            text("UPDATE gcrm.area_levels SET nested = :ok WHERE level = :level"),
            {"ok": ok, "level": level},
        )
    return report
