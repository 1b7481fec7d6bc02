"""Geocoder: numeric house numbers, street/postcode/locality indexes, postcode points, a cache.

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

-- Postcode centroids given directly (e.g. US ZIP centroids), for regions without addresses.
CREATE TABLE gcrm.postcode_points (
    postcode       text PRIMARY KEY,
    postcode_norm  text NOT NULL,
    city           text,
    city_norm      text,
    source         text NOT NULL,
    geom           geometry(Point, 4326) NOT NULL
);

-- Centroids for the postcode and locality rungs, precomputed: given postcode points win over
-- the centroid of a postcode's address points.
CREATE MATERIALIZED VIEW gcrm.address_postcodes AS
SELECT DISTINCT ON (postcode_norm) postcode_norm, postcode, city, city_norm, geom, source
FROM (
    SELECT postcode_norm, postcode, city, city_norm, geom, 0 AS priority, source
    FROM gcrm.postcode_points
    UNION ALL
    SELECT postcode_norm, min(postcode), min(city), min(city_norm), ST_Centroid(ST_Collect(geom)),
           1, 'address points'
    FROM gcrm.address_points WHERE postcode_norm IS NOT NULL GROUP BY postcode_norm
) p
ORDER BY postcode_norm, priority;
CREATE UNIQUE INDEX address_postcodes_key ON gcrm.address_postcodes (postcode_norm);

CREATE MATERIALIZED VIEW gcrm.address_localities AS
SELECT city_norm, min(city) AS city, ST_Centroid(ST_Collect(geom)) AS geom
FROM (
    SELECT city_norm, city, geom FROM gcrm.address_points WHERE city_norm IS NOT NULL
    UNION ALL
    SELECT city_norm, city, geom FROM gcrm.postcode_points WHERE city_norm IS NOT NULL
) c
GROUP BY city_norm;
CREATE UNIQUE INDEX address_localities_key ON gcrm.address_localities (city_norm);

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
DROP MATERIALIZED VIEW IF EXISTS gcrm.address_localities;
DROP MATERIALIZED VIEW IF EXISTS gcrm.address_postcodes;
DROP TABLE IF EXISTS gcrm.postcode_points;
DROP MATERIALIZED VIEW IF EXISTS gcrm.address_streets;
ALTER TABLE gcrm.address_points DROP COLUMN IF EXISTS number_int;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
