"""Customers' business category and the lead each came from (issue 12).

Revision ID: 0017
Revises: 0016

``gcrm.customer_records`` gains ``category_group`` and ``category`` (text, an empty string
when the customer has none, as leads' categories: a private customer has none) and
``lead_external_id`` (text, NULL unless known: the ``gcrm.lead_records.external_id`` of the
lead the customer was won from). The lead id is not a foreign key: a lead list is replaced
by every import, and the customer keeps where it came from. The lead scorer compares leads
with customers of the same category; the search's "already a customer" filter reads
``lead_external_id``.

The view ``gcrm.customers`` gets the three columns appended (``CREATE OR REPLACE VIEW``
keeps every existing column, ``security_invoker`` of 0006 and the grants). Row-level
security of ``gcrm.customer_records`` (0006) covers the new columns, and the application
role's grant is on the whole table. Going down drops the view's columns by making the view
of 0007 again (and its grant), then the record columns.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: The application role of 0006, which reads the view under row-level security.
APP_ROLE = "gcrm_app"
#: The record columns of the view as 0007 made it (no later migration changed it).
CUSTOMER_COLUMNS_0007 = (
    "external_id, name, email, phone, street, housenumber, postcode, city, address_norm, "
    "segment, status, signup_date, churn_date, geom, geocode_precision, geocode_score, "
    "geocode_source, matched_address, updated_at"
)
NEW_COLUMNS = "category_group, category, lead_external_id"
_DERIVED = """
    coalesce(e.area_codes, '{}'::jsonb) AS area_codes, e.zoning_class,
    e.business_park_distance_m, e.road_class, e.road_name, e.road_speed_kmh,
    e.road_distance_m, e.drive_time_s, e.branch_reached,
    CASE WHEN (e.geom = r.geom OR (e.geom IS NULL AND r.geom IS NULL)) THEN e.enriched_at END
        AS enriched_at
"""


def _columns(names: str) -> str:
    return ", ".join(f"r.{c.strip()}" for c in names.split(","))


def _view(*, new: bool) -> str:
    appended = f", {_columns(NEW_COLUMNS)}" if new else ""
    return f"""
VIEW gcrm.customers WITH (security_invoker = true) AS
SELECT {_columns(CUSTOMER_COLUMNS_0007)}, {_DERIVED}{appended}
FROM gcrm.customer_records r
LEFT JOIN gcrm.customer_enrichment e ON e.external_id = r.external_id;
"""


_UP = f"""
ALTER TABLE gcrm.customer_records
    ADD COLUMN category_group text NOT NULL DEFAULT '',
    ADD COLUMN category text NOT NULL DEFAULT '',
    ADD COLUMN lead_external_id text;
CREATE INDEX customer_records_lead_external_id_idx
    ON gcrm.customer_records (lead_external_id) WHERE lead_external_id IS NOT NULL;
CREATE OR REPLACE {_view(new=True)}
"""

_DOWN = f"""
DROP VIEW gcrm.customers;
CREATE {_view(new=False)}
GRANT SELECT ON gcrm.customers TO {APP_ROLE};
DROP INDEX gcrm.customer_records_lead_external_id_idx;
ALTER TABLE gcrm.customer_records
    DROP COLUMN category_group, DROP COLUMN category, DROP COLUMN lead_external_id;
"""


def upgrade() -> None:
    """Add the customers' category and lead columns, and append them to ``gcrm.customers``."""
    op.execute(_UP)


def downgrade() -> None:
    """Make the view of 0007 again and drop the columns."""
    op.execute(_DOWN)
