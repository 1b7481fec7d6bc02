"""Geocoder: numeric house numbers, a street index for fuzzy matching, a result cache.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE gcrm.address_points
    ADD COLUMN number_int integer
    GENERATED ALWAYS AS (NULLIF(substring(housenumber_norm FROM '^[0-9]+'), '')::integer) STORED;
CREATE INDEX address_points_street_postcode_number_idx
    ON gcrm.address_points (street_norm, postcode_norm, number_int);

-- One row per street per postcode: what fuzzy matching compares against (far fewer rows than
-- address points), refreshed by the address importer.
CREATE MATERIALIZED VIEW gcrm.address_streets AS
SELECT street_norm, postcode_norm, min(city_norm) AS city_norm, min(street) AS street,
       min(postcode) AS postcode, min(city) AS city, count(*) AS n,
       ST_Centroid(ST_Collect(geom)) AS geom
FROM gcrm.address_points
GROUP BY street_norm, postcode_norm;
CREATE UNIQUE INDEX address_streets_key ON gcrm.address_streets (street_norm, postcode_norm) NULLS NOT DISTINCT;
CREATE INDEX address_streets_trgm_idx ON gcrm.address_streets USING gin (street_norm gin_trgm_ops);
CREATE INDEX address_streets_postcode_idx ON gcrm.address_streets (postcode_norm);
CREATE INDEX address_streets_city_idx ON gcrm.address_streets (city_norm);

-- Results keyed by the normalised input; emptied whenever the reference changes.
CREATE UNLOGGED TABLE gcrm.geocode_cache (
    input_key        text PRIMARY KEY,
    lon              double precision,
    lat              double precision,
    precision        text NOT NULL,
    score            double precision NOT NULL,
    source           text NOT NULL,
    matched_address  text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS gcrm.geocode_cache;
DROP MATERIALIZED VIEW IF EXISTS gcrm.address_streets;
ALTER TABLE gcrm.address_points DROP COLUMN IF EXISTS number_int;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
