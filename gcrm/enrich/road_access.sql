-- Each lead's snapping node and access leg (gcrm.enrich.compute_road_access), stored in
-- gcrm.lead_road_access for the drive-time search (migration 0021).

-- name: lock_state
-- One writer at a time, and no lead import slipping between the check and the flag.
SELECT graph_built_at, complete FROM gcrm.lead_road_access_state FOR UPDATE;

-- name: graph_built_at
SELECT built_at FROM gcrm.road_graph_state;

-- name: read_leads
-- Located leads, all or only those of a temp table of external ids (compute_road_access).
SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.lead_records
WHERE geom IS NOT NULL {only};

-- name: create_stage
CREATE TEMP TABLE _road_access (
    external_id text PRIMARY KEY, node_id integer, access_s double precision
) ON COMMIT DROP;

-- name: upsert
-- Rows whose values do not change are not touched.
INSERT INTO gcrm.lead_road_access AS t (external_id, node_id, access_s, graph_built_at, geom)
SELECT s.external_id, s.node_id, s.access_s, CAST(:built_at AS timestamptz), r.geom
FROM _road_access s
JOIN gcrm.lead_records r ON r.external_id = s.external_id AND r.geom IS NOT NULL
ON CONFLICT (external_id) DO UPDATE
SET node_id = EXCLUDED.node_id, access_s = EXCLUDED.access_s,
    graph_built_at = EXCLUDED.graph_built_at, geom = EXCLUDED.geom
WHERE (t.node_id, t.access_s, t.graph_built_at, t.geom)
      IS DISTINCT FROM (EXCLUDED.node_id, EXCLUDED.access_s, EXCLUDED.graph_built_at, EXCLUDED.geom);

-- name: delete_unlocated
-- A lead that lost its location keeps no access leg.
DELETE FROM gcrm.lead_road_access a
USING gcrm.lead_records r
WHERE r.external_id = a.external_id AND r.geom IS NULL;

-- name: complete
-- True when every located lead has a row for the given graph and its current location.
SELECT NOT EXISTS (
    SELECT FROM gcrm.lead_records r
    WHERE r.geom IS NOT NULL AND NOT EXISTS (
        SELECT FROM gcrm.lead_road_access a
        WHERE a.external_id = r.external_id
          AND a.graph_built_at = CAST(:built_at AS timestamptz) AND a.geom = r.geom));

-- name: set_state
UPDATE gcrm.lead_road_access_state
SET graph_built_at = CAST(:built_at AS timestamptz), complete = :complete, computed_at = now();
