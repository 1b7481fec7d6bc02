"""The point entities gcrm enriches, and where each one's rows live (migration 0005).

Read through ``view`` (records joined to their enrichment, the names every reader uses);
write records to ``records`` and derived columns to ``enrichment``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gcrm.core.errors import ValidationError

__all__ = ["POINT_ENTITIES", "PointEntity", "point_entity"]


@dataclass(frozen=True)
class PointEntity:
    """One kind of point: its view, its records table and its enrichment table."""

    name: str
    view: str
    records: str
    enrichment: str

    def fill(self, sql: str) -> str:
        """``sql`` with ``{view}``, ``{records}`` and ``{enrichment}`` naming this entity's
        tables (identifiers cannot be bound parameters)."""
        return sql.format(view=self.view, records=self.records, enrichment=self.enrichment)


POINT_ENTITIES = {
    "customers": PointEntity(
        "customers", "gcrm.customers", "gcrm.customer_records", "gcrm.customer_enrichment"
    ),
    "leads": PointEntity("leads", "gcrm.leads", "gcrm.lead_records", "gcrm.lead_enrichment"),
}


def point_entity(name: str) -> PointEntity:
    """The entity called ``name``; a ValidationError naming the choices otherwise."""
    try:
        return POINT_ENTITIES[name]
    except KeyError:
        msg = f"entity {name!r} unknown; expected one of {sorted(POINT_ENTITIES)}"
        raise ValidationError(msg) from None
