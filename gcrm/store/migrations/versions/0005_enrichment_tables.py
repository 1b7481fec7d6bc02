"""Enrichment in tables of its own; ``gcrm.customers`` and ``gcrm.leads`` become views.

Revision ID: 0005
Revises: 0004

What the records say (name, address, status, location...) lives in ``gcrm.customer_records``
and ``gcrm.lead_records``; what gcrm derives from the location (area codes, zoning, business
park distance, nearest road, drive time) lives in ``gcrm.customer_enrichment`` and
``gcrm.lead_enrichment``, one row per point, with the location it was computed for. The views
``gcrm.customers`` and ``gcrm.leads`` join the two and keep the column names every reader
used before, so readers did not change; writers write the ``*_records`` tables.

Why: a bulk enrichment rewrites every point's derived columns. As an UPDATE of a million
wide customer rows that took 12-15 s (a new row version and a page image per row, in the
WAL); rewriting a narrow table of its own by COPY takes a fraction of that, and the records
tables no longer need free space on every page (fillfactor 35) for the updates.

A point needs enriching when it has no enrichment row, its row was never finished
(``enriched_at`` NULL: drive times alone were written for it), or its location changed since
(``geom`` differs): importers no longer have to flag changed rows.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ENRICHMENT_COLUMNS = """
    area_codes                jsonb NOT NULL DEFAULT '{}'::jsonb,
    zoning_class              text,
    business_park_distance_m  double precision,
    road_class                text,
    road_name                 text,
    road_speed_kmh            double precision,
    road_distance_m           double precision,
    drive_time_s              double precision,
    branch_reached            text,
    enriched_at               timestamptz DEFAULT now()  -- NULL: only drive times written
"""
_DERIVED = (
    "area_codes, zoning_class, business_park_distance_m, road_class, road_name, "
    "road_speed_kmh, road_distance_m, drive_time_s, branch_reached, enriched_at"
)
_VIEW_DERIVED = """
    coalesce(e.area_codes, '{}'::jsonb) AS area_codes, e.zoning_class,
    e.business_park_distance_m, e.road_class, e.road_name, e.road_speed_kmh,
    e.road_distance_m, e.drive_time_s, e.branch_reached,
    CASE WHEN e.geom IS NOT DISTINCT FROM r.geom THEN e.enriched_at END AS enriched_at
"""
CUSTOMER_COLUMNS = (
    "external_id, name, email, phone, street, housenumber, postcode, city, address_norm, "
    "segment, status, signup_date, churn_date, geom, geocode_precision, geocode_score, "
    "geocode_source, matched_address, updated_at"
)
LEAD_COLUMNS = (
    "external_id, name, category_group, category, street, housenumber, postcode, city, "
    "phone, website, source, geom"
)


def _split(entity: str, records: str, columns: str) -> str:
    record_cols = ", ".join(f"r.{c.strip()}" for c in columns.split(","))
    return f"""
ALTER TABLE gcrm.{entity}s RENAME TO {records};
CREATE TABLE gcrm.{entity}_enrichment (
    external_id  text PRIMARY KEY,
    geom         geometry(Point, 4326),   -- the location the row was computed for
    {_ENRICHMENT_COLUMNS}
);
INSERT INTO gcrm.{entity}_enrichment (external_id, geom, {_DERIVED})
SELECT external_id, CASE WHEN enriched_at IS NOT NULL THEN geom END, {_DERIVED}
FROM gcrm.{records}
WHERE enriched_at IS NOT NULL OR drive_time_s IS NOT NULL;
ALTER TABLE gcrm.{records}
    DROP COLUMN area_codes, DROP COLUMN zoning_class, DROP COLUMN business_park_distance_m,
    DROP COLUMN road_class, DROP COLUMN road_name, DROP COLUMN road_speed_kmh,
    DROP COLUMN road_distance_m, DROP COLUMN drive_time_s, DROP COLUMN branch_reached,
    DROP COLUMN enriched_at;
ALTER TABLE gcrm.{records} RESET (fillfactor);
CREATE VIEW gcrm.{entity}s AS
SELECT {record_cols}, {_VIEW_DERIVED}
FROM gcrm.{records} r
LEFT JOIN gcrm.{entity}_enrichment e ON e.external_id = r.external_id;
"""


def _merge(entity: str, records: str, columns: str) -> str:
    derived = ", ".join(f"e.{c.strip()}" for c in _DERIVED.split(","))
    return f"""
DROP VIEW gcrm.{entity}s;
ALTER TABLE gcrm.{records} RENAME TO {entity}s;
ALTER TABLE gcrm.{entity}s
    ADD COLUMN area_codes jsonb NOT NULL DEFAULT '{{}}'::jsonb, ADD COLUMN zoning_class text,
    ADD COLUMN business_park_distance_m double precision, ADD COLUMN road_class text,
    ADD COLUMN road_name text, ADD COLUMN road_speed_kmh double precision,
    ADD COLUMN road_distance_m double precision, ADD COLUMN drive_time_s double precision,
    ADD COLUMN branch_reached text, ADD COLUMN enriched_at timestamptz;
UPDATE gcrm.{entity}s r SET ({_DERIVED}) = ({derived})
FROM gcrm.{entity}_enrichment e WHERE e.external_id = r.external_id;
ALTER TABLE gcrm.{entity}s SET (fillfactor = 35);
DROP TABLE gcrm.{entity}_enrichment;
"""


def upgrade() -> None:
    op.execute(_split("customer", "customer_records", CUSTOMER_COLUMNS))
    op.execute(_split("lead", "lead_records", LEAD_COLUMNS))


def downgrade() -> None:
    op.execute(_merge("lead", "lead_records", LEAD_COLUMNS))
    op.execute(_merge("customer", "customer_records", CUSTOMER_COLUMNS))
