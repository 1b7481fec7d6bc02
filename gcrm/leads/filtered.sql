-- The drive-time search's own statements (gcrm.leads.find_leads_by_drive_time); the rows
-- themselves come from query.sql.

-- name: has_roads
SELECT EXISTS (SELECT FROM gcrm.roads);

-- name: graph_state
-- The stored graph: when it was built, whether it is current (built from the last roads
-- import, with crossings noded, as read_road_graph wants it), and whether every located
-- lead's access leg is stored for it (gcrm.lead_road_access_state, migration 0021); the
-- planner's estimate of the stored legs and the graph's nodes (leads per node: the first round).
SELECT g.built_at, g.n_nodes,
       (SELECT reltuples FROM pg_class WHERE oid = 'gcrm.lead_road_access'::regclass) AS legs,
       g.node_crossings AND g.roads_stamp = (
           SELECT coalesce(max(id), 0) FROM gcrm.import_runs
           WHERE kind = 'roads' AND inserted + updated > 0) AS current,
       coalesce(s.complete AND s.graph_built_at = g.built_at, false) AS access
FROM gcrm.road_graph_state AS g
LEFT JOIN gcrm.lead_road_access_state AS s ON true;

-- name: candidates
-- Id and position of the leads in :box matching the filters that need no score or customer
-- test (those apply when the rows are read): the fallback times them in Python.
SELECT l.external_id, ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat
FROM gcrm.leads AS l
WHERE l.geom IS NOT NULL
  AND (CAST(:categories AS text[]) IS NULL OR l.category = ANY (CAST(:categories AS text[])))
  AND (CAST(:zoning AS text[]) IS NULL OR l.zoning_class = ANY (CAST(:zoning AS text[])))
  AND (CAST(:area AS jsonb) IS NULL OR l.area_codes @> CAST(:area AS jsonb))
  AND l.geom && ST_MakeEnvelope((CAST(:box AS float8[]))[1], (CAST(:box AS float8[]))[2],
                                (CAST(:box AS float8[]))[3], (CAST(:box AS float8[]))[4], 4326);

-- name: score_at_rank
-- The score of the lead at 0-based position :k in score order (best first) among the
-- scores the caller may see; NULL when fewer leads are scored: the bound of a round of a
-- drive-time search in score order (on the index gcrm.lead_scores (score DESC)).
SELECT score FROM gcrm.lead_scores ORDER BY score DESC OFFSET :k LIMIT 1;

-- name: plan_cache_mode
SELECT current_setting('plan_cache_mode');

-- name: set_plan_cache_mode
-- For the rest of the transaction (is_local): gcrm.leads.filtered._custom_plans.
SELECT set_config('plan_cache_mode', :mode, true);
