-- Drive times written into an entity's enrichment table {enrichment} (records {records}).

-- name: clear_unlocated
-- A point that lost its location (geocoding failed after an edit) keeps no drive time.
UPDATE {enrichment} e SET drive_time_s = NULL, branch_reached = NULL
FROM {records} r
WHERE r.external_id = e.external_id AND r.geom IS NULL
  AND (e.drive_time_s IS NOT NULL OR e.branch_reached IS NOT NULL);

-- name: create_stage
CREATE TEMP TABLE _drive_times (
    external_id text PRIMARY KEY, drive_time_s double precision, branch_reached text
) ON COMMIT DROP;

-- name: upsert
-- A point with no enrichment row yet gets one holding only its drive time (enriched_at NULL,
-- so gcrm enrich still computes the rest); rows whose values do not change are not touched.
INSERT INTO {enrichment} AS t (external_id, drive_time_s, branch_reached, enriched_at)
SELECT external_id, drive_time_s, branch_reached, NULL FROM _drive_times
ON CONFLICT (external_id) DO UPDATE
SET drive_time_s = EXCLUDED.drive_time_s, branch_reached = EXCLUDED.branch_reached
WHERE (t.drive_time_s, t.branch_reached)
      IS DISTINCT FROM (EXCLUDED.drive_time_s, EXCLUDED.branch_reached);
