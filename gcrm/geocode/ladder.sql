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
    unit text, number_int integer, postcode_norm text, city_norm text, street_parts text,
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

-- name: street_part
-- 0b. a street written with a second line ("Acme, Mannerheimintie"; street_parts holds its
--     parts, "|"-separated) that is no street as a whole: its last part that is a street,
--     else its last part.
UPDATE _geo g
SET street_norm = p.part
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, x.part
    FROM _geo g
    CROSS JOIN LATERAL unnest(string_to_array(g.street_parts, '|')) WITH ORDINALITY AS x(part, i)
    WHERE g.precision IS NULL AND g.street_parts IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM gcrm.address_streets s WHERE s.street_norm = g.street_norm)
    ORDER BY g.gid,
             EXISTS (SELECT 1 FROM gcrm.address_streets s WHERE s.street_norm = x.part) DESC,
             x.i DESC
) p
WHERE g.gid = p.gid;

-- name: exact
-- 1. exact normalised street + house number. Candidates rank by postcode, then city; when the
--    best tier holds points more than 100 m apart (the same address in two places) it is
--    ambiguous and left to the lower rungs; 30 to 100 m apart (one address mapped at two
--    entrances or buildings) the answer is the mean of those points, nearer to each than
--    any one of them would be to the farthest, unless the unit asked for is one of them.
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
                    OVER (PARTITION BY gid) AS spread_m,
           avg(ST_X(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_x,
           avg(ST_Y(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_y
    FROM tier t
    -- In ref order, so that every path sums the same floats in the same order.
    WINDOW whole AS (PARTITION BY gid ORDER BY ref ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
UPDATE _geo g
SET geom = CASE WHEN t.unit_ok OR t.spread_m <= 30 THEN t.geom
                ELSE ST_SetSRID(ST_MakePoint(t.mid_x, t.mid_y), 4326) END,
    precision = 'rooftop', source = 'reference:exact',
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

-- name: house
-- 3. the house on the matched street (known exactly, or fuzzily after rung 2b), in any of
--    its postcodes: the same number and letter; else the number without the staircase
--    letter the reference lacks ("10 C" at "10", "14-20 B" at "14-20"); else the first
--    number of a range asked for ("10-12" at "10"); else its last number ("10-12" at "12")
--    or a range of the reference that holds the number ("12" at "10-14", same side of the
--    street); else the same number with another letter ("10" at "10 A"). Candidates rank
--    by that order, then postcode,
--    city, the matched street's postcode, unit; ambiguous or a midpoint as in rung 1.
WITH q AS (
    SELECT g.gid, g.street_match, g.street_sim, g.housenumber_norm, g.number_int, g.unit,
           substring(g.housenumber_norm FROM '^[0-9]+-([0-9]{1,9})')::integer AS number_to,
           g.postcode_norm, g.city_norm, g.street_postcode
    FROM _geo g
    WHERE g.precision IS NULL AND g.street_match IS NOT NULL AND g.number_int IS NOT NULL
), c AS (
    SELECT q.gid, q.street_sim, a.ref, a.geom, a.street, a.housenumber, a.postcode, a.city,
           CASE WHEN a.housenumber_norm = q.housenumber_norm THEN 0
                WHEN a.housenumber_norm = regexp_replace(q.housenumber_norm, '[a-z]$', '') THEN 1
                WHEN a.housenumber_norm = q.number_int::text THEN 2
                WHEN a.housenumber_norm = q.number_to::text
                  OR (r.a_to IS NOT NULL AND q.number_int BETWEEN a.number_int AND r.a_to
                      AND ((q.number_int - a.number_int) % 2 = 0 OR (r.a_to - a.number_int) % 2 = 1))
                    THEN 3
                WHEN a.number_int = q.number_int THEN 4
           END AS house_tier,
           coalesce(a.postcode_norm = q.postcode_norm, false) AS pc_ok,
           coalesce(a.city_norm = q.city_norm, false) AS city_ok,
           a.postcode_norm IS NOT DISTINCT FROM q.street_postcode AS street_pc,
           coalesce(a.unit = q.unit, false) AS unit_ok, a.unit IS NULL AS no_unit,
           q.postcode_norm IS NULL AS pc_missing
    FROM q
    JOIN gcrm.address_points a
      ON a.street_norm = q.street_match
     AND a.number_int BETWEEN q.number_int - 20 AND greatest(q.number_to, q.number_int)
    CROSS JOIN LATERAL (
        SELECT substring(a.housenumber_norm FROM '^[0-9]+-([0-9]{1,9})')::integer AS a_to
    ) r
), tier AS (
    SELECT c.*, rank() OVER (PARTITION BY gid ORDER BY house_tier, pc_ok DESC, city_ok DESC) AS tier,
           row_number() OVER w AS rn, first_value(geom) OVER w AS best_geom,
           count(*) OVER (PARTITION BY gid) AS candidates
    FROM c
    WHERE house_tier IS NOT NULL
    WINDOW w AS (PARTITION BY gid ORDER BY house_tier, pc_ok DESC, city_ok DESC, street_pc DESC,
                 unit_ok DESC, no_unit DESC, ref)
), spread AS (
    SELECT t.*, max(CASE WHEN tier = 1 AND candidates > 1
                         THEN ST_Distance(geom::geography, best_geom::geography) ELSE 0 END)
                    OVER (PARTITION BY gid) AS spread_m,
           avg(ST_X(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_x,
           avg(ST_Y(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_y
    FROM tier t
    -- In ref order, so that every path sums the same floats in the same order.
    WINDOW whole AS (PARTITION BY gid ORDER BY ref ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
UPDATE _geo g
SET geom = CASE WHEN t.unit_ok OR t.spread_m <= 30 THEN t.geom
                ELSE ST_SetSRID(ST_MakePoint(t.mid_x, t.mid_y), 4326) END,
    precision = 'rooftop',
    source = CASE WHEN t.street_sim < 1 THEN 'reference:fuzzy' ELSE 'reference:house' END,
    matched_address = concat_ws(', ', t.street || ' ' || t.housenumber, concat_ws(' ', t.postcode, t.city)),
    score = round((0.5 + 0.4 * t.street_sim - 0.05 * t.house_tier
                   - CASE WHEN t.pc_ok THEN 0 WHEN t.pc_missing THEN 0.02 ELSE 0.05 END)::numeric, 3)
FROM spread t
WHERE g.gid = t.gid AND t.rn = 1 AND t.spread_m <= 100;

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
-- missed too many short names with swapped letters. Its queries: unplaced, with a street to
-- compare, and no street known exactly, or one known exactly that lacks the house (a typo
-- can write another real street).
SELECT gid, street_norm, number_int, postcode_norm, city_norm, street_sim FROM _geo
WHERE precision IS NULL AND street_norm IS NOT NULL
  AND (street_match IS NULL OR (street_sim = 1 AND number_int IS NOT NULL));

-- name: streets_of_postcodes
-- The streets of the fuzzy rung's scopes, as one row of arrays (far faster to read than a
-- row per street): those of some postcodes, of some cities, or all of them.
SELECT coalesce(array_agg(street_norm), '{}'), coalesce(array_agg(postcode_norm), '{}'),
       coalesce(array_agg(city_norm), '{}'), coalesce(array_agg(n), '{}')
FROM gcrm.address_streets WHERE postcode_norm = ANY(CAST(:postcodes AS text[]));

-- name: streets_of_cities
SELECT coalesce(array_agg(street_norm), '{}'), coalesce(array_agg(postcode_norm), '{}'),
       coalesce(array_agg(city_norm), '{}'), coalesce(array_agg(n), '{}')
FROM gcrm.address_streets
WHERE city_norm = ANY(CAST(:cities AS text[])) OR CAST(:everywhere AS boolean);

-- name: decide_fuzzy
-- Which candidate street (the arrays, one element per candidate) each query takes. Contenders are the candidates within
-- :margin of the best similarity; among them a street that has the house number, then one
-- in the query's postcode, then in its city wins, but only when no other contender is as
-- good on those three (else the query is ambiguous and steps down). The winner needs
-- :min_sim; a query whose street is known exactly but lacks the house takes another street
-- only if that one has the house, is in the query's postcode (or the query has none) and
-- is at least :other_street_sim alike.
WITH f AS (
    SELECT * FROM unnest(CAST(:gids AS bigint[]), CAST(:streets AS text[]),
                         CAST(:postcodes AS text[]), CAST(:sims AS float8[]),
                         CAST(:pc_ok AS boolean[]), CAST(:city_ok AS boolean[]))
        AS f(gid, street_match, street_postcode, sim, pc_ok, city_ok)
), c AS (
    SELECT f.*, g.street_sim AS exact_sim, g.postcode_norm IS NULL AS pc_missing,
           g.number_int IS NOT NULL AND EXISTS (
               SELECT 1 FROM gcrm.address_points a
               WHERE a.street_norm = f.street_match
                 AND a.number_int BETWEEN g.number_int - 20 AND g.number_int
                 AND (a.number_int = g.number_int
                      OR substring(a.housenumber_norm FROM '^[0-9]+-([0-9]{1,9})')::integer
                         >= g.number_int)
           ) AS has_house
    FROM f JOIN _geo g ON g.gid = f.gid
    WHERE g.precision IS NULL
), contenders AS (
    SELECT c.*, row_number() OVER w AS rn, lead(has_house) OVER w AS next_house,
           lead(pc_ok) OVER w AS next_pc, lead(city_ok) OVER w AS next_city
    FROM (SELECT c.*, max(sim) OVER (PARTITION BY gid) AS best_sim FROM c) c
    WHERE sim >= best_sim - :margin
    WINDOW w AS (PARTITION BY gid ORDER BY has_house DESC, pc_ok DESC, city_ok DESC, sim DESC,
                 street_match)
), winners AS (
    SELECT * FROM contenders
    WHERE rn = 1 AND sim >= :min_sim
      AND (next_house IS NULL
           OR (has_house, pc_ok, city_ok) > (next_house, next_pc, next_city))
      AND (exact_sim IS NULL
           OR (has_house AND (pc_ok OR pc_missing) AND sim >= :other_street_sim))
)
UPDATE _geo g
SET street_match = w.street_match, street_postcode = w.street_postcode, street_sim = w.sim
FROM winners w
WHERE g.gid = w.gid
RETURNING g.gid;
