"""Enrich customers and leads in SQL, next to the data.

For every point: the code of the area it stands in at every level (``area_codes``), the
zoning class of its zone, and the nearest road (class, name, distance in metres). Runs only on
points not yet enriched (new, or changed since: the importers clear ``enriched_at``) unless
``full=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, text

__all__ = ["ENTITIES", "EnrichReport", "enrich_points"]

ENTITIES = {"customers": "gcrm.customers", "leads": "gcrm.leads"}
_STEPS = [s.strip() for s in Path(__file__).with_name("enrich.sql").read_text().split(";;")]
STEP_NAMES = ("area codes", "zoning class", "nearest road", "mark enriched")


@dataclass
class EnrichReport:
    """How many points each entity had enriched."""

    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return "enriched: " + ", ".join(f"{n} {k}" for k, n in self.counts.items())


def enrich_points(
    conn: Connection,
    *,
    entities: tuple[str, ...] = ("customers", "leads"),
    full: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> EnrichReport:
    """Enrich the points of ``entities`` in set-based SQL on ``conn``'s transaction.

    Parameters
    ----------
    entities
        Which tables: ``"customers"`` and/or ``"leads"``.
    full
        Recompute every point, not only those never enriched or changed since.
    on_step
        Called with a step label before each step (progress bars).
    """
    report = EnrichReport()
    for entity in entities:
        if entity not in ENTITIES:
            msg = f"entity {entity!r} unknown; expected one of {sorted(ENTITIES)}"
            raise ValueError(msg)
        table = ENTITIES[entity]
        conn.execute(text("DROP TABLE IF EXISTS _todo"))
        where = "" if full else "WHERE enriched_at IS NULL"
        conn.execute(
            text(
                f"CREATE TEMP TABLE _todo ON COMMIT DROP AS SELECT external_id FROM {table} {where}"
            )
        )
        conn.execute(text("ALTER TABLE _todo ADD PRIMARY KEY (external_id)"))
        conn.execute(text("ANALYZE _todo"))
        for name, step in zip(STEP_NAMES, _STEPS, strict=True):
            if on_step is not None:
                on_step(f"{entity}: {name}")
            conn.execute(text(step.format(table=table)))
        report.counts[entity] = conn.execute(text("SELECT count(*) FROM _todo")).scalar_one()
        conn.execute(text("DROP TABLE _todo"))
    return report
