"""Layers and enrichment at scale: buildings, drive times, business parks, enrichment state.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE gcrm.buildings (
    ref            text PRIMARY KEY,
    use            text NOT NULL,          -- residential, commercial, industrial, public, other
    building       text,                   -- the raw OSM building value, where from OSM
    levels         double precision,
    residential    boolean NOT NULL DEFAULT false,
    geom           geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX buildings_geom_idx ON gcrm.buildings USING gist (geom);

ALTER TABLE gcrm.roads ADD COLUMN surface text;

ALTER TABLE gcrm.customers
    ADD COLUMN road_speed_kmh double precision,
    ADD COLUMN business_park_distance_m double precision,
    ADD COLUMN drive_time_s double precision,
    ADD COLUMN branch_reached text;
ALTER TABLE gcrm.leads
    ADD COLUMN road_speed_kmh double precision,
    ADD COLUMN business_park_distance_m double precision,
    ADD COLUMN drive_time_s double precision,
    ADD COLUMN branch_reached text;

-- What each enrichment stage last ran against: a stage re-runs for every point when one of
-- its layers changed since (a newer import run), else only for new or changed points.
CREATE TABLE gcrm.enrich_state (
    entity       text NOT NULL,
    stage        text NOT NULL,
    layer_stamp  bigint NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, stage)
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS gcrm.enrich_state;
ALTER TABLE gcrm.leads DROP COLUMN IF EXISTS road_speed_kmh, DROP COLUMN IF EXISTS business_park_distance_m,
    DROP COLUMN IF EXISTS drive_time_s, DROP COLUMN IF EXISTS branch_reached;
ALTER TABLE gcrm.customers DROP COLUMN IF EXISTS road_speed_kmh, DROP COLUMN IF EXISTS business_park_distance_m,
    DROP COLUMN IF EXISTS drive_time_s, DROP COLUMN IF EXISTS branch_reached;
ALTER TABLE gcrm.roads DROP COLUMN IF EXISTS surface;
DROP TABLE IF EXISTS gcrm.buildings;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
