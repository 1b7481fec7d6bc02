"""The views ``gcrm.customers`` and ``gcrm.leads`` in a form pg_restore can recreate.

Revision ID: 0007
Revises: 0006

pg_dump writes view definitions for an empty ``search_path``; an operator outside
``pg_catalog`` is then written schema-qualified (``OPERATOR(public.=)``), except inside
``IS [NOT] DISTINCT FROM``, which has no qualified spelling. The views of 0005 compared
locations with ``e.geom IS NOT DISTINCT FROM r.geom`` (PostGIS's ``=`` on geometry), so a
restore of any backup failed at ``CREATE VIEW gcrm.customers`` ("operator is not unique:
public.geometry = public.geometry"). The same comparison is now written with ``=`` and ``IS
NULL``: same result, and pg_dump qualifies the operator. The views keep their columns and
``security_invoker`` (0006), so row-level security applies to whoever reads them.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DERIVED = """
    coalesce(e.area_codes, '{{}}'::jsonb) AS area_codes, e.zoning_class,
    e.business_park_distance_m, e.road_class, e.road_name, e.road_speed_kmh,
    e.road_distance_m, e.drive_time_s, e.branch_reached,
    CASE WHEN {same_place} THEN e.enriched_at END AS enriched_at
"""
#: Whether the enrichment was computed for the record's location (both may be NULL).
SAME_PLACE = "(e.geom = r.geom OR (e.geom IS NULL AND r.geom IS NULL))"
#: What 0005 wrote, which pg_restore cannot recreate.
SAME_PLACE_0005 = "e.geom IS NOT DISTINCT FROM r.geom"
COLUMNS = {
    "customer": (
        "external_id, name, email, phone, street, housenumber, postcode, city, address_norm, "
        "segment, status, signup_date, churn_date, geom, geocode_precision, geocode_score, "
        "geocode_source, matched_address, updated_at"
    ),
    "lead": (
        "external_id, name, category_group, category, street, housenumber, postcode, city, "
        "phone, website, source, geom"
    ),
}


def _view(entity: str, same_place: str) -> str:
    record_cols = ", ".join(f"r.{c.strip()}" for c in COLUMNS[entity].split(","))
    derived = _DERIVED.format(same_place=same_place)
    return f"""
CREATE OR REPLACE VIEW gcrm.{entity}s WITH (security_invoker = true) AS
SELECT {record_cols}, {derived}
FROM gcrm.{entity}_records r
LEFT JOIN gcrm.{entity}_enrichment e ON e.external_id = r.external_id;
"""


def upgrade() -> None:
    for entity in COLUMNS:
        op.execute(_view(entity, SAME_PLACE))


def downgrade() -> None:
    for entity in COLUMNS:
        op.execute(_view(entity, SAME_PLACE_0005))
