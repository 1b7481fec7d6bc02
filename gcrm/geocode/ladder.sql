-- The geocoding ladder, set-based, on the temporary table _geo (one row per input).
-- Each rung fills only rows that no earlier rung placed; it stops at the first confident
-- rung, and where two candidates are close it steps down rather than guess.
-- gcrm.geocode.ladder runs the rungs in the order of LADDER_STEPS; the fuzzy street match
-- between rungs 2a and 3 is a Python step (gcrm.geocode.fuzzy).

-- name: create_geo
-- The inputs, one row each. Every rung updates rows in place: room on each page keeps those
-- updates HOT (no new index entries), which measured ~25% faster on 100,000 queries.
CREATE TEMP TABLE _geo (
    gid bigint PRIMARY KEY, input_key text, street_norm text, housenumber_norm text,
    unit text, number_int integer, postcode_norm text, city_norm text,
    street_match text, street_postcode text, street_sim double precision,
    geom geometry, precision text, score double precision, source text, matched_address text,
    cached boolean NOT NULL DEFAULT false
) WITH (fillfactor = 40) ON COMMIT DROP;

-- name: cache
-- 0. cache: earlier results for the same normalised input (the reference has not changed since).
UPDATE _geo g
SET geom = ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326), precision = c.precision,
    score = c.score, source = c.source, matched_address = c.matched_address, cached = true
FROM gcrm.geocode_cache c
WHERE c.input_key = g.input_key AND c.precision <> 'none';

-- name: exact
-- 1. exact normalised street + house number. Candidates rank by postcode, then city; when the
--    best tier holds points more than 100 m apart (the same address in two places) it is
--    ambiguous and left to the lower rungs.
WITH c AS (
    SELECT g.gid, a.ref, a.geom, a.street, a.housenumber, a.postcode, a.city,
           coalesce(a.postcode_norm = g.postcode_norm, false) AS pc_ok,
           coalesce(a.city_norm = g.city_norm, false) AS city_ok,
           -- Several points can share an address (building, entrances, floors): the unit
           -- asked for, else the one without a unit (the building itself).
           coalesce(a.unit = g.unit, false) AS unit_ok, a.unit IS NULL AS no_unit,
           g.postcode_norm IS NULL AS pc_missing
    FROM _geo g
    JOIN gcrm.address_points a
      ON a.street_norm = g.street_norm AND a.housenumber_norm = g.housenumber_norm
    WHERE g.precision IS NULL
), tier AS (
    SELECT c.*, rank() OVER (PARTITION BY gid ORDER BY pc_ok DESC, city_ok DESC) AS tier,
           row_number() OVER w AS rn, first_value(geom) OVER w AS best_geom,
           count(*) OVER (PARTITION BY gid) AS candidates
    FROM c
    WINDOW w AS (PARTITION BY gid ORDER BY pc_ok DESC, city_ok DESC, unit_ok DESC, no_unit DESC, ref)
), spread AS (
    -- Window functions, not a self-join: the planner cannot estimate CTE joins well. The
    -- distance is computed only where there is more than one candidate.
    SELECT t.*, max(CASE WHEN tier = 1 AND candidates > 1
                         THEN ST_Distance(geom::geography, best_geom::geography) ELSE 0 END)
                    OVER (PARTITION BY gid) AS spread_m
    FROM tier t
)
UPDATE _geo g
SET geom = t.geom, precision = 'rooftop', source = 'reference:exact',
    matched_address = concat_ws(', ', t.street || ' ' || t.housenumber, concat_ws(' ', t.postcode, t.city)),
    score = CASE WHEN t.pc_ok THEN 1.0 WHEN t.pc_missing THEN 0.95 ELSE 0.85 END
FROM spread t
WHERE g.gid = t.gid AND t.rn = 1 AND t.spread_m <= 100;

-- name: street_exact
-- 2a. the street, known exactly: the postcode's street when given, else the biggest one.
UPDATE _geo g
SET street_match = s.street_norm, street_postcode = s.postcode_norm, street_sim = 1.0
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, s.street_norm, s.postcode_norm
    FROM _geo g JOIN gcrm.address_streets s ON s.street_norm = g.street_norm
    WHERE g.precision IS NULL
    ORDER BY g.gid, (s.postcode_norm IS NOT DISTINCT FROM g.postcode_norm) DESC,
             (s.city_norm IS NOT DISTINCT FROM g.city_norm) DESC, s.n DESC
) s
WHERE g.gid = s.gid;

-- name: fuzzy_number
-- 3. the house number on the fuzzily matched street.
UPDATE _geo g
SET geom = m.geom, precision = 'rooftop', source = 'reference:fuzzy', matched_address = m.label,
    score = round((0.5 + 0.4 * g.street_sim)::numeric, 3)
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, a.geom,
           concat_ws(', ', a.street || ' ' || a.housenumber, concat_ws(' ', a.postcode, a.city)) AS label
    FROM _geo g
    JOIN gcrm.address_points a
      ON a.street_norm = g.street_match AND a.housenumber_norm = g.housenumber_norm
     AND a.postcode_norm IS NOT DISTINCT FROM g.street_postcode
    WHERE g.precision IS NULL AND g.street_sim < 1.0
    ORDER BY g.gid, coalesce(a.unit = g.unit, false) DESC, a.unit IS NULL DESC, a.ref
) m
WHERE g.gid = m.gid;

-- name: interpolated
-- 4. interpolated: between the nearest lower and higher numbers on the same side (parity) of
--    the matched street, at most 12 numbers and 150 m apart (wider gaps guess too much).
UPDATE _geo g
SET geom = ST_LineInterpolatePoint(
        ST_MakeLine(lo.geom, hi.geom),
        (g.number_int - lo.number_int)::float8 / (hi.number_int - lo.number_int)),
    precision = 'interpolated', source = 'reference:interpolated',
    score = round((0.7 * g.street_sim - 0.01 * (hi.number_int - lo.number_int))::numeric, 3),
    matched_address = lo.street || ' ' || g.number_int || ' (between ' || lo.housenumber || ' and '
        || hi.housenumber || ')' || coalesce(', ' || lo.postcode, '')
FROM _geo g2
JOIN LATERAL (
    SELECT a.geom, a.number_int, a.street, a.housenumber, a.postcode FROM gcrm.address_points a
    WHERE a.street_norm = g2.street_match AND a.postcode_norm IS NOT DISTINCT FROM g2.street_postcode
      AND a.number_int < g2.number_int AND a.number_int % 2 = g2.number_int % 2
    ORDER BY a.number_int DESC, a.ref LIMIT 1
) lo ON true
JOIN LATERAL (
    SELECT a.geom, a.number_int, a.housenumber FROM gcrm.address_points a
    WHERE a.street_norm = g2.street_match AND a.postcode_norm IS NOT DISTINCT FROM g2.street_postcode
      AND a.number_int > g2.number_int AND a.number_int % 2 = g2.number_int % 2
    ORDER BY a.number_int, a.ref LIMIT 1
) hi ON true
WHERE g.gid = g2.gid AND g2.precision IS NULL AND g2.street_match IS NOT NULL
  AND g2.number_int IS NOT NULL AND hi.number_int - lo.number_int <= 12
  AND ST_Distance(lo.geom::geography, hi.geom::geography) <= 150;

-- name: street_centroid
-- 5. street centroid.
UPDATE _geo g
SET geom = s.geom, precision = 'street', source = 'reference:street',
    score = round((0.4 * g.street_sim)::numeric, 3),
    matched_address = s.street || coalesce(', ' || s.postcode, '') || coalesce(' ' || s.city, '')
FROM gcrm.address_streets s
WHERE g.precision IS NULL AND g.street_match IS NOT NULL
  AND s.street_norm = g.street_match AND s.postcode_norm IS NOT DISTINCT FROM g.street_postcode;

-- name: postcode_centroid
-- 6. postcode centroid (given postcode points, else the centroid of the postcode's addresses).
UPDATE _geo g
SET geom = p.geom, precision = 'postcode', source = 'reference:postcode', score = 0.3,
    matched_address = p.postcode || coalesce(' ' || p.city, '')
FROM gcrm.address_postcodes p
WHERE g.precision IS NULL AND g.postcode_norm = p.postcode_norm;

-- name: locality_centroid
-- 7. city / locality centroid.
UPDATE _geo g
SET geom = c.geom, precision = 'locality', source = 'reference:locality', score = 0.1,
    matched_address = c.city
FROM gcrm.address_localities c
WHERE g.precision IS NULL AND g.city_norm = c.city_norm;

-- name: unmatched
-- 8. unmatched.
UPDATE _geo SET precision = 'none', score = 0, source = 'none' WHERE precision IS NULL;

-- name: remember
-- 9. remember what was found.
INSERT INTO gcrm.geocode_cache (input_key, lon, lat, precision, score, source, matched_address)
SELECT DISTINCT ON (input_key) input_key, ST_X(geom), ST_Y(geom), precision, score, source, matched_address
FROM _geo WHERE NOT cached AND precision <> 'none' AND input_key IS NOT NULL
ORDER BY input_key, gid
ON CONFLICT (input_key) DO NOTHING;

-- name: results
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, precision, score, source, matched_address
FROM _geo ORDER BY gid;

-- name: fuzzy_todo
-- 2b. the street, fuzzily: a Python step (gcrm.geocode.fuzzy) with rapidfuzz's optimal
-- string alignment distance, which counts a transposition as one edit; trigram similarity
-- missed too many short names with swapped letters. Its queries: unplaced, no exact street,
-- a street to compare.
SELECT gid, street_norm, postcode_norm, city_norm FROM _geo
WHERE precision IS NULL AND street_match IS NULL AND street_norm IS NOT NULL;

-- name: reference_streets
SELECT street_norm, postcode_norm, city_norm, n FROM gcrm.address_streets;

-- name: create_fuzzy
CREATE TEMP TABLE _fuzzy (
    gid bigint, street_match text, street_postcode text, street_sim double precision
) ON COMMIT DROP;

-- name: apply_fuzzy
UPDATE _geo g SET street_match = f.street_match, street_postcode = f.street_postcode,
    street_sim = f.street_sim
FROM _fuzzy f WHERE g.gid = f.gid;
