"""Enrich customers and leads: area code at every level, zoning class, distance to the
nearest business park, nearest road (class, name, speed, distance in metres).

Two engines compute the same columns, and the work goes where it measured fastest:
- ``sql``: set-based statements in PostGIS (``enrich.sql``), best for a few thousand points
  (no data leaves the database);
- ``vector``: Shapely 2 STRtree joins next to PostGIS (``vector.py``), best in bulk: for
  1,000,000 points it ran several times faster than the same joins in SQL here.
``auto`` picks ``vector`` above :data:`VECTOR_THRESHOLD` points.

Results live in each entity's enrichment table (``gcrm.customer_enrichment``,
``gcrm.lead_enrichment``; read through the ``gcrm.customers`` / ``gcrm.leads`` views), one row
per point with the location it was computed for. Re-runs touch only what changed: points with
no enrichment row, an unfinished one, or a location that moved since; or every point when one
of the layers (areas, zones, roads, branches) was imported again since the last run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, text

from gcrm.core import POINT_ENTITIES, PointEntity, ValidationError, point_entity
from gcrm.enrich.drive_times import can_compute_drive_times, compute_drive_times
from gcrm.enrich.road_access import compute_road_access, has_roads
from gcrm.enrich.vector import enrich_vectorised
from gcrm.store import load_queries

__all__ = [
    "ENTITIES",
    "SQL_STEPS",
    "STEP_NAMES",
    "VECTOR_THRESHOLD",
    "EnrichReport",
    "enrich_points",
    "forget_points",
]

ENTITIES = {name: e.view for name, e in POINT_ENTITIES.items()}
_SQL = load_queries(__package__, "enrich.sql")
#: The set-based engine's steps: progress label -> query of ``enrich.sql``.
SQL_STEPS = {
    "area codes": "area_codes",
    "zoning class": "zoning_class",
    "business parks": "business_parks",
    "nearest road": "nearest_road",
}
STEP_NAMES = tuple(SQL_STEPS)
#: Import kinds whose re-import invalidates every point's enrichment.
LAYER_KINDS = ("areas", "zones", "roads", "branches")
VECTOR_THRESHOLD = 20_000
Engine = Literal["auto", "sql", "vector"]


@dataclass
class EnrichReport:
    """How many points each entity had enriched, and with which engine."""

    counts: dict[str, int] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"{n} {k}" + (f" ({self.engines[k]})" if n and k in self.engines else "")
            for k, n in self.counts.items()
        ]
        return "enriched: " + ", ".join(parts)


def _layer_stamp(conn: Connection) -> int:
    stamp = conn.execute(
        text("SELECT coalesce(max(id), 0) FROM gcrm.import_runs WHERE kind = ANY(:kinds)"),
        {"kinds": list(LAYER_KINDS)},
    ).scalar_one()
    return int(stamp)


def _last_stamp(conn: Connection, entity: str) -> int:
    stamp = conn.execute(
        text("SELECT layer_stamp FROM gcrm.enrich_state WHERE entity = :e AND stage = 'layers'"),
        {"e": entity},
    ).scalar()
    return -1 if stamp is None else int(stamp)


def _make_todo(conn: Connection, entity: PointEntity, *, everything: bool) -> int:
    """Temp table ``_todo`` of the external ids to enrich; return how many points that is.

    With ``everything``, ``_todo`` stays empty (the engines read the whole table).
    """
    conn.execute(text("DROP TABLE IF EXISTS _todo"))
    conn.execute(text("CREATE TEMP TABLE _todo (external_id text PRIMARY KEY) ON COMMIT DROP"))
    if everything:
        return int(conn.execute(text(f"SELECT count(*) FROM {entity.records}")).scalar_one())
    conn.execute(text(entity.fill(_SQL["todo_changed"])))
    conn.execute(text("ANALYZE _todo"))
    return int(conn.execute(text("SELECT count(*) FROM _todo")).scalar_one())


def enrich_points(
    conn: Connection,
    *,
    entities: tuple[str, ...] = ("customers", "leads"),
    full: bool = False,
    engine: Engine = "auto",
    on_step: Callable[[str], None] | None = None,
) -> EnrichReport:
    """Enrich the points of ``entities`` on ``conn``'s transaction.

    Parameters
    ----------
    entities
        Which tables: ``"customers"`` and/or ``"leads"``.
    full
        Recompute every point, not only the new or changed ones.
    engine
        ``"sql"``, ``"vector"`` or ``"auto"`` (by the number of points to do).
    on_step
        Called with a step label before each step (progress bars).

    Raises
    ------
    ValidationError
        For an unknown entity or engine.
    """
    if engine not in ("auto", "sql", "vector"):
        msg = f"engine {engine!r} unknown; expected 'auto', 'sql' or 'vector'"
        raise ValidationError(msg)
    report = EnrichReport()
    stamp = _layer_stamp(conn)
    for entity in entities:
        ent = point_entity(entity)
        everything = full or stamp > _last_stamp(conn, entity)
        if not everything:
            conn.execute(text(ent.fill(_SQL["drop_orphans"])))
        n = _make_todo(conn, ent, everything=everything)
        chosen = engine if engine != "auto" else ("vector" if n > VECTOR_THRESHOLD else "sql")
        if n:
            _run_engine(conn, chosen, ent, on_step, everything=everything, total=n)
            if can_compute_drive_times(conn):
                # With everything to do, _todo stays empty (the engines read the whole table).
                compute_drive_times(
                    conn, entities=(entity,), todo=None if everything else "_todo", on_stage=on_step
                )
            if entity == "leads" and has_roads(conn):
                compute_road_access(conn, todo=None if everything else "_todo")
        conn.execute(
            text(
                "INSERT INTO gcrm.enrich_state (entity, stage, layer_stamp) VALUES (:e, 'layers', :s) "
                "ON CONFLICT (entity, stage) DO UPDATE SET layer_stamp = EXCLUDED.layer_stamp, finished_at = now()"
            ),
            {"e": entity, "s": stamp},
        )
        report.counts[entity] = n
        report.engines[entity] = chosen
        conn.execute(text("DROP TABLE _todo"))
    return report


def _run_engine(
    conn: Connection,
    engine: str,
    entity: PointEntity,
    on_step: Callable[[str], None] | None,
    *,
    everything: bool,
    total: int,
) -> None:
    def step(label: str) -> None:
        if on_step is not None:
            on_step(f"{entity.name}: {label}")

    if engine == "vector":
        todo = None if everything else "_todo"
        enrich_vectorised(
            conn, entity, todo=todo, total=total if everything else None, on_step=step
        )
        return
    if everything:
        conn.execute(text(entity.fill(_SQL["todo_all"])))
        conn.execute(text("ANALYZE _todo"))
    conn.execute(text(entity.fill(_SQL["clear_todo_rows"])))
    conn.execute(text(entity.fill(_SQL["fresh_rows"])))
    for label, name in SQL_STEPS.items():
        step(label)
        conn.execute(text(entity.fill(_SQL[name])))
    conn.execute(text(entity.fill(_SQL["finish"])))


def forget_points(conn: Connection, entity: str, external_ids: list[str]) -> int:
    """Remove the enrichment rows of ``external_ids`` (points deleted from their records);
    return how many went."""
    ent = point_entity(entity)
    return int(
        conn.execute(
            text(f"DELETE FROM {ent.enrichment} WHERE external_id = ANY(:ids)"),
            {"ids": list(external_ids)},
        ).rowcount
    )
