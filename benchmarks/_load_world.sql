-- The load benchmark's top-ups (benchmarks/service_load.py): synthetic leads and address
-- points added to a demo region until each table holds :target rows.

-- name: top_up_leads
-- Leads placed uniformly at random inside the areas of :level (ST_GeneratePoints, seeded),
-- each area receiving a share of the missing rows proportional to its area; names, categories
-- and phones are made up ("Bench lead N"), source 'bench'.
WITH missing AS (
    SELECT greatest(0, :target - (SELECT count(*) FROM gcrm.lead_records)) AS n
), shares AS (
    SELECT a.code, a.geom,
           round((SELECT n FROM missing) * ST_Area(a.geom) / sum(ST_Area(a.geom)) OVER ())::int AS n
    FROM gcrm.areas a
    WHERE a.level = :level
), points AS (
    SELECT (ST_Dump(ST_GeneratePoints(s.geom, s.n, :seed))).geom AS geom
    FROM shares s
    WHERE s.n > 0
), numbered AS (
    SELECT row_number() OVER () AS i, geom FROM points
)
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, phone, geom)
SELECT 'BENCH-L' || i, 'Bench lead ' || i, 'food',
       (ARRAY['cafe', 'bar', 'restaurant', 'fast_food', 'bakery'])[1 + i % 5],
       'bench', '+358 40 ' || lpad((i % 10000000)::text, 7, '0'), ST_SetSRID(geom, 4326)
FROM numbered;

-- name: top_up_addresses
-- Copies of the region's real address points, the k-th copy numbered 1000 * k + the real
-- number (real numbers stay below 1000; letters kept) and moved by up to ~50 m, until the reference holds
-- :target points; their normalised keys follow the copied point's, so the geocoder finds them
-- as it finds real ones: one point per street and number, as real addresses are (numbered
-- 1000 + k alike, every copy of one street shared a number and the geocoder rightly called
-- them ambiguous).
WITH real AS (
    SELECT * FROM gcrm.address_points WHERE source <> 'bench' AND number_int BETWEEN 1 AND 999
), copies AS (
    SELECT ceil(greatest(0, :target - (SELECT count(*) FROM gcrm.address_points))::numeric
                / greatest(1, (SELECT count(*) FROM real)))::int AS k
)
INSERT INTO gcrm.address_points (ref, street, housenumber, unit, postcode, city, street_norm,
    housenumber_norm, postcode_norm, city_norm, source, geom)
SELECT 'BENCH-A' || g || '-' || r.ref, r.street,
       (1000 * g + r.number_int)::text || substring(r.housenumber FROM '^[0-9]+(.*)$'), NULL,
       r.postcode, r.city, r.street_norm,
       (1000 * g + r.number_int)::text || substring(r.housenumber_norm FROM '^[0-9]+(.*)$'),
       r.postcode_norm,
       r.city_norm, 'bench',
       ST_SetSRID(ST_MakePoint(ST_X(r.geom) + (random() - 0.5) * 0.001,
                               ST_Y(r.geom) + (random() - 0.5) * 0.0005), 4326)
FROM real r, copies c, generate_series(1, c.k) g
LIMIT greatest(0, :target - (SELECT count(*) FROM gcrm.address_points));
