-- Enrichment of one point entity, set-based. {records} and {enrichment} are the entity's
-- tables (gcrm.customer_records / gcrm.customer_enrichment, or the leads'); _todo holds the
-- external ids of the points to enrich. The four steps (area_codes .. nearest_road) touch
-- only the enrichment rows of those points, created by fresh_rows with the location (geom)
-- they are computed for.

-- name: todo_changed
-- Points due: no enrichment row, an unfinished one (drive times alone), or a location that
-- moved since it was computed.
INSERT INTO _todo
SELECT r.external_id FROM {records} r
LEFT JOIN {enrichment} e ON e.external_id = r.external_id
WHERE e.external_id IS NULL OR e.enriched_at IS NULL OR e.geom IS DISTINCT FROM r.geom;

-- name: todo_all
INSERT INTO _todo SELECT external_id FROM {records};

-- name: drop_orphans
-- Enrichment rows of points deleted since (no foreign key: it would cost a check per row of
-- every bulk COPY).
DELETE FROM {enrichment} e
WHERE NOT EXISTS (SELECT FROM {records} r WHERE r.external_id = e.external_id);

-- name: clear_todo_rows
DELETE FROM {enrichment} e USING _todo d WHERE e.external_id = d.external_id;

-- name: fresh_rows
-- A fresh row per point to do, carrying the location it is computed for.
INSERT INTO {enrichment} (external_id, geom, enriched_at)
SELECT r.external_id, r.geom, NULL FROM {records} r
JOIN _todo d ON d.external_id = r.external_id;

-- name: area_codes
-- Area code at every level: the area that contains the point (the smallest code on a shared edge).
UPDATE {enrichment} t
SET area_codes = coalesce(m.codes, '{{}}'::jsonb)
FROM _todo d
LEFT JOIN (
    SELECT x.external_id, jsonb_object_agg(x.level, x.code) AS codes
    FROM (
        SELECT DISTINCT ON (p.external_id, a.level) p.external_id, a.level, a.code
        FROM {enrichment} p
        JOIN _todo d2 ON d2.external_id = p.external_id
        JOIN gcrm.areas a ON ST_Intersects(a.geom, p.geom)
        ORDER BY p.external_id, a.level, a.code
    ) x
    GROUP BY x.external_id
) m ON m.external_id = d.external_id
WHERE t.external_id = d.external_id;

-- name: zoning_class
-- Zoning class of the zone the point stands in (the smallest zone where zones overlap).
UPDATE {enrichment} t
SET zoning_class = m.class
FROM _todo d
LEFT JOIN LATERAL (
    SELECT z.class
    FROM gcrm.zones z, {enrichment} p
    WHERE p.external_id = d.external_id AND ST_Intersects(z.geom, p.geom)
    ORDER BY ST_Area(z.geom), z.ref
    LIMIT 1
) m ON true
WHERE t.external_id = d.external_id;

-- name: business_parks
-- Distance to the nearest business park (industrial or commercial zone), metres on the spheroid.
UPDATE {enrichment} t
SET business_park_distance_m = round(ST_Distance(m.geom::geography, t.geom::geography)::numeric, 1)
FROM _todo d
LEFT JOIN LATERAL (
    SELECT z.geom
    FROM gcrm.zones z, {enrichment} p
    WHERE p.external_id = d.external_id AND p.geom IS NOT NULL
      AND z.class IN ('industrial', 'commercial')
    ORDER BY z.geom <-> p.geom
    LIMIT 1
) m ON true
WHERE t.external_id = d.external_id;

-- name: nearest_road
-- Nearest road: KNN on the GiST index, then the exact distance in metres on the spheroid.
UPDATE {enrichment} t
SET road_class = r.class, road_name = r.name, road_speed_kmh = r.speed_kmh,
    road_distance_m = round(ST_Distance(r.geom::geography, t.geom::geography)::numeric, 1)
FROM _todo d
LEFT JOIN LATERAL (
    SELECT rd.class, rd.name, rd.speed_kmh, rd.geom
    FROM gcrm.roads rd, {enrichment} p
    WHERE p.external_id = d.external_id AND p.geom IS NOT NULL
    ORDER BY rd.geom <-> p.geom
    LIMIT 1
) r ON true
WHERE t.external_id = d.external_id;

-- name: finish
UPDATE {enrichment} t SET enriched_at = now() FROM _todo d WHERE t.external_id = d.external_id;
