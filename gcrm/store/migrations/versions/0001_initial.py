"""Initial schema: reference layers, areas, customers, leads, orders, branches.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE TABLE gcrm.address_points (
    ref               text PRIMARY KEY,
    street            text NOT NULL,
    housenumber       text NOT NULL,
    unit              text,
    postcode          text,
    city              text,
    street_norm       text NOT NULL,
    housenumber_norm  text NOT NULL,
    postcode_norm     text,
    city_norm         text,
    source            text NOT NULL,
    geom              geometry(Point, 4326) NOT NULL
);
CREATE INDEX address_points_street_number_idx
    ON gcrm.address_points (street_norm, housenumber_norm);
CREATE INDEX address_points_street_trgm_idx
    ON gcrm.address_points USING gin (street_norm gin_trgm_ops);
CREATE INDEX address_points_postcode_idx ON gcrm.address_points (postcode_norm);
CREATE INDEX address_points_number_idx ON gcrm.address_points (housenumber_norm, postcode_norm);
CREATE INDEX address_points_geom_idx ON gcrm.address_points USING gist (geom);

CREATE TABLE gcrm.area_levels (
    level         text PRIMARY KEY CHECK (level ~ '^[a-z][a-z0-9_]*$'),
    parent_level  text REFERENCES gcrm.area_levels (level),
    rank          integer NOT NULL,
    label         text NOT NULL,
    derivation    text NOT NULL
);

CREATE TABLE gcrm.areas (
    level        text NOT NULL REFERENCES gcrm.area_levels (level) ON DELETE CASCADE,
    code         text NOT NULL,
    name         text NOT NULL,
    parent_code  text,
    derivation   text NOT NULL,
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (level, code)
);
CREATE INDEX areas_geom_idx ON gcrm.areas USING gist (geom);

CREATE TABLE gcrm.area_stats (
    level    text NOT NULL,
    code     text NOT NULL,
    measure  text NOT NULL,
    value    double precision NOT NULL,
    source   text NOT NULL,
    vintage  text NOT NULL,
    method   text,
    PRIMARY KEY (level, code, measure),
    FOREIGN KEY (level, code) REFERENCES gcrm.areas (level, code) ON DELETE CASCADE
);

CREATE TABLE gcrm.roads (
    ref        text PRIMARY KEY,
    class      text NOT NULL,
    speed_kmh  double precision,
    name       text,
    oneway     boolean NOT NULL DEFAULT false,
    geom       geometry(LineString, 4326) NOT NULL
);
CREATE INDEX roads_geom_idx ON gcrm.roads USING gist (geom);

CREATE TABLE gcrm.zones (
    ref      text PRIMARY KEY,
    class    text NOT NULL CHECK (class IN ('residential', 'commercial', 'industrial', 'mixed', 'other')),
    landuse  text,
    name     text,
    geom     geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX zones_geom_idx ON gcrm.zones USING gist (geom);

CREATE TABLE gcrm.branches (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    street       text,
    housenumber  text,
    postcode     text,
    city         text,
    geom         geometry(Point, 4326) NOT NULL
);
CREATE INDEX branches_geom_idx ON gcrm.branches USING gist (geom);

CREATE TABLE gcrm.leads (
    external_id      text PRIMARY KEY,
    name             text NOT NULL,
    category_group   text NOT NULL,
    category         text NOT NULL,
    street           text,
    housenumber      text,
    postcode         text,
    city             text,
    phone            text,
    website          text,
    source           text NOT NULL,
    geom             geometry(Point, 4326) NOT NULL,
    area_codes       jsonb NOT NULL DEFAULT '{}'::jsonb,
    zoning_class     text,
    road_class       text,
    road_name        text,
    road_distance_m  double precision,
    enriched_at      timestamptz
);
CREATE INDEX leads_geom_idx ON gcrm.leads USING gist (geom);
CREATE INDEX leads_geog_idx ON gcrm.leads USING gist ((geom::geography));
CREATE INDEX leads_category_idx ON gcrm.leads (category);

CREATE TABLE gcrm.customers (
    external_id        text PRIMARY KEY,
    name               text NOT NULL,
    email              text,
    phone              text,
    street             text,
    housenumber        text,
    postcode           text,
    city               text,
    address_norm       text,
    segment            text NOT NULL,
    status             text NOT NULL CHECK (status IN ('active', 'churned')),
    signup_date        date NOT NULL,
    churn_date         date,
    geom               geometry(Point, 4326),
    geocode_precision  text NOT NULL,
    geocode_score      double precision NOT NULL,
    geocode_source     text NOT NULL,
    matched_address    text,
    area_codes         jsonb NOT NULL DEFAULT '{}'::jsonb,
    zoning_class       text,
    road_class         text,
    road_name          text,
    road_distance_m    double precision,
    enriched_at        timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (churn_date IS NULL OR churn_date >= signup_date)
);
CREATE INDEX customers_geom_idx ON gcrm.customers USING gist (geom);
CREATE INDEX customers_geog_idx ON gcrm.customers USING gist ((geom::geography));
CREATE INDEX customers_area_codes_idx ON gcrm.customers USING gin (area_codes);

CREATE TABLE gcrm.orders (
    order_id              text PRIMARY KEY,
    customer_external_id  text NOT NULL REFERENCES gcrm.customers (external_id) ON DELETE CASCADE,
    order_date            date NOT NULL,
    amount                numeric(12, 2) NOT NULL CHECK (amount >= 0),
    channel               text,
    branch_code           text REFERENCES gcrm.branches (code)
);
CREATE INDEX orders_customer_idx ON gcrm.orders (customer_external_id);
CREATE INDEX orders_date_idx ON gcrm.orders (order_date);

CREATE TABLE gcrm.import_runs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    source       text NOT NULL,
    rows_read    integer NOT NULL,
    inserted     integer NOT NULL,
    updated      integer NOT NULL,
    unchanged    integer NOT NULL,
    rejected     integer NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS gcrm.import_runs, gcrm.orders, gcrm.customers, gcrm.leads, gcrm.branches,
    gcrm.zones, gcrm.roads, gcrm.area_stats, gcrm.areas, gcrm.area_levels,
    gcrm.address_points CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
