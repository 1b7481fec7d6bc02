-- Enrichment of one point entity, set-based: {table} is its enrichment table
-- (gcrm.customer_enrichment or gcrm.lead_enrichment), whose rows for the points in _todo
-- (external ids) were just created with the location (geom) to enrich. Only those rows are
-- touched. Statements are separated by a double semicolon.

-- Area code at every level: the area that contains the point (the smallest code on a shared edge).
UPDATE {table} t
SET area_codes = coalesce(m.codes, '{{}}'::jsonb)
FROM _todo d
LEFT JOIN (
    SELECT x.external_id, jsonb_object_agg(x.level, x.code) AS codes
    FROM (
        SELECT DISTINCT ON (p.external_id, a.level) p.external_id, a.level, a.code
        FROM {table} p
        JOIN _todo d2 ON d2.external_id = p.external_id
        JOIN gcrm.areas a ON ST_Intersects(a.geom, p.geom)
        ORDER BY p.external_id, a.level, a.code
    ) x
    GROUP BY x.external_id
) m ON m.external_id = d.external_id
WHERE t.external_id = d.external_id;;

-- Zoning class of the zone the point stands in (the smallest zone where zones overlap).
UPDATE {table} t
SET zoning_class = m.class
FROM _todo d
LEFT JOIN LATERAL (
    SELECT z.class
    FROM gcrm.zones z, {table} p
    WHERE p.external_id = d.external_id AND ST_Intersects(z.geom, p.geom)
    ORDER BY ST_Area(z.geom), z.ref
    LIMIT 1
) m ON true
WHERE t.external_id = d.external_id;;

-- Distance to the nearest business park (industrial or commercial zone), metres on the spheroid.
UPDATE {table} t
SET business_park_distance_m = round(ST_Distance(m.geom::geography, t.geom::geography)::numeric, 1)
FROM _todo d
LEFT JOIN LATERAL (
    SELECT z.geom
    FROM gcrm.zones z, {table} p
    WHERE p.external_id = d.external_id AND p.geom IS NOT NULL
      AND z.class IN ('industrial', 'commercial')
    ORDER BY z.geom <-> p.geom
    LIMIT 1
) m ON true
WHERE t.external_id = d.external_id;;

-- Nearest road: KNN on the GiST index, then the exact distance in metres on the spheroid.
UPDATE {table} t
SET road_class = r.class, road_name = r.name, road_speed_kmh = r.speed_kmh,
    road_distance_m = round(ST_Distance(r.geom::geography, t.geom::geography)::numeric, 1)
FROM _todo d
LEFT JOIN LATERAL (
    SELECT rd.class, rd.name, rd.speed_kmh, rd.geom
    FROM gcrm.roads rd, {table} p
    WHERE p.external_id = d.external_id AND p.geom IS NOT NULL
    ORDER BY rd.geom <-> p.geom
    LIMIT 1
) r ON true
WHERE t.external_id = d.external_id
