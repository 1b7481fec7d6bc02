"""The noded road graph, stored once per roads import and reused by drive times.

Revision ID: 0004
Revises: 0003

``gcrm.road_nodes`` and ``gcrm.road_edges`` hold the graph ``gcrm.routing`` builds from
``gcrm.roads`` (noding, costs, cheapest parallel edge); ``gcrm.road_graph_state`` says which
roads import it was built from. Any statement that really changes a road (insert, update,
delete, truncate) deletes the state row, so the graph is rebuilt on its next read; an
upsert that changes no row leaves it alone.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE gcrm.road_nodes (
    node_id  integer PRIMARY KEY,
    x_m      double precision NOT NULL,  -- in road_graph_state.crs, exactly as searched
    y_m      double precision NOT NULL,
    snap     boolean NOT NULL,           -- in the largest strongly connected component
    geom     geometry(Point, 4326) NOT NULL
);

-- Read whole, never by key: no index to maintain on a rebuild.
CREATE TABLE gcrm.road_edges (
    source    integer NOT NULL,
    target    integer NOT NULL,
    cost_s    double precision NOT NULL,
    length_m  double precision NOT NULL,
    road_ref  text
);

CREATE TABLE gcrm.road_graph_state (
    one             boolean PRIMARY KEY DEFAULT true CHECK (one),
    roads_stamp     bigint NOT NULL,     -- max(import_runs.id) of the roads imports built from
    node_crossings  boolean NOT NULL,
    crs             text NOT NULL,       -- metric CRS of x_m, y_m and of cost_s lengths
    n_nodes         integer NOT NULL,
    n_edges         integer NOT NULL,
    built_at        timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION gcrm.invalidate_road_graph() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM gcrm.road_graph_state;
    ELSIF EXISTS (SELECT FROM changed_roads) THEN
        DELETE FROM gcrm.road_graph_state;
    END IF;
    RETURN NULL;
END
$fn$;

-- Statement triggers with transition tables: one check per statement, not per row, and a
-- re-import whose upsert changes nothing does not force a rebuild.
CREATE TRIGGER roads_insert_invalidates_graph AFTER INSERT ON gcrm.roads
    REFERENCING NEW TABLE AS changed_roads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.invalidate_road_graph();
CREATE TRIGGER roads_update_invalidates_graph AFTER UPDATE ON gcrm.roads
    REFERENCING NEW TABLE AS changed_roads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.invalidate_road_graph();
CREATE TRIGGER roads_delete_invalidates_graph AFTER DELETE ON gcrm.roads
    REFERENCING OLD TABLE AS changed_roads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.invalidate_road_graph();
CREATE TRIGGER roads_truncate_invalidates_graph AFTER TRUNCATE ON gcrm.roads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.invalidate_road_graph();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS roads_truncate_invalidates_graph ON gcrm.roads;
DROP TRIGGER IF EXISTS roads_delete_invalidates_graph ON gcrm.roads;
DROP TRIGGER IF EXISTS roads_update_invalidates_graph ON gcrm.roads;
DROP TRIGGER IF EXISTS roads_insert_invalidates_graph ON gcrm.roads;
DROP FUNCTION IF EXISTS gcrm.invalidate_road_graph();
DROP TABLE IF EXISTS gcrm.road_graph_state, gcrm.road_edges, gcrm.road_nodes;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
