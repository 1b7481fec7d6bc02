"""Enrich customers and leads: area code at every level, zoning class, distance to the
nearest business park, nearest road (class, name, speed, distance in metres).

Two engines compute the same columns, and the work goes where it measured fastest:
- ``sql``: set-based statements in PostGIS (``enrich.sql``), best for a few thousand points
  (no data leaves the database);
- ``vector``: Shapely 2 STRtree joins next to PostGIS (``vector.py``), best in bulk: for
  1,000,000 points it ran several times faster than the same joins in SQL here.
``auto`` picks ``vector`` above :data:`VECTOR_THRESHOLD` points.

Re-runs touch only what changed: points never enriched or changed since (the importers clear
``enriched_at``), or every point when one of the layers (areas, zones, roads) was imported
again since the last run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection, text

from gcrm.enrich.vector import enrich_vectorised
from gcrm.errors import ValidationError
from gcrm.routing.drive import can_compute_drive_times, compute_drive_times

__all__ = ["ENTITIES", "STEP_NAMES", "VECTOR_THRESHOLD", "EnrichReport", "enrich_points"]

ENTITIES = {"customers": "gcrm.customers", "leads": "gcrm.leads"}
_STEPS = [
    s.strip() for s in Path(__file__).with_name("enrich.sql").read_text().split(";;") if s.strip()
]
STEP_NAMES = ("area codes", "zoning class", "business parks", "nearest road")
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


def _make_todo(conn: Connection, table: str, *, everything: bool) -> int:
    conn.execute(text("DROP TABLE IF EXISTS _todo"))
    if everything:
        # The whole table: no list of ids to build (the engines read the table itself).
        conn.execute(
            text(
                f"CREATE TEMP TABLE _todo ON COMMIT DROP AS SELECT external_id FROM {table} WITH NO DATA"
            )
        )
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    where = "" if everything else "WHERE enriched_at IS NULL"
    conn.execute(
        text(f"CREATE TEMP TABLE _todo ON COMMIT DROP AS SELECT external_id FROM {table} {where}")
    )
    conn.execute(text("ALTER TABLE _todo ADD PRIMARY KEY (external_id)"))
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
        if entity not in ENTITIES:
            msg = f"entity {entity!r} unknown; expected one of {sorted(ENTITIES)}"
            raise ValidationError(msg)
        table = ENTITIES[entity]
        everything = full or stamp > _last_stamp(conn, entity)
        n = _make_todo(conn, table, everything=everything)
        chosen = engine if engine != "auto" else ("vector" if n > VECTOR_THRESHOLD else "sql")
        if n:
            _run_engine(conn, chosen, entity, table, on_step, everything=everything)
            if can_compute_drive_times(conn):
                # With everything to do, _todo stays empty (the engines read the whole table).
                compute_drive_times(
                    conn, entities=(entity,), todo=None if everything else "_todo", on_stage=on_step
                )
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
    entity: str,
    table: str,
    on_step: Callable[[str], None] | None,
    *,
    everything: bool,
) -> None:
    def step(label: str) -> None:
        if on_step is not None:
            on_step(f"{entity}: {label}")

    if engine == "vector":
        enrich_vectorised(conn, table, todo=None if everything else "_todo", on_step=step)
        return
    if everything:
        conn.execute(text(f"INSERT INTO _todo SELECT external_id FROM {table}"))
        conn.execute(text("ANALYZE _todo"))
    for name, statement in zip(STEP_NAMES, _STEPS, strict=True):
        step(name)
        conn.execute(text(statement.format(table=table)))
    conn.execute(
        text(
            f"UPDATE {table} t SET enriched_at = now() FROM _todo d WHERE t.external_id = d.external_id"
        )
    )
