-- One address on the fast path (gcrm.geocode.single): the ladder's first two rungs, cache
-- and exact (ladder.sql), for one input in one statement, with no temporary table. The
-- rungs must stay the same as there: tests/geocode/test_single.py compares both paths.

-- name: cache_or_exact
-- The cached answer when there is one (rung 0), else the exact normalised street + house
-- number (rung 1: candidates ranked by postcode, then city, then unit; ambiguous when the
-- best tier holds points more than 100 m apart, their mean when 30 to 100 m apart). No row:
-- the caller climbs the whole ladder.
WITH cached AS (
    SELECT c.lon, c.lat, c.precision, c.score, c.source, c.matched_address, 0 AS rung
    FROM gcrm.geocode_cache c
    WHERE c.input_key = CAST(:input_key AS text) AND c.precision <> 'none'
), candidates AS (
    SELECT a.ref, a.geom, a.street, a.housenumber, a.postcode, a.city,
           coalesce(a.postcode_norm = CAST(:postcode_norm AS text), false) AS pc_ok,
           coalesce(a.city_norm = CAST(:city_norm AS text), false) AS city_ok,
           coalesce(a.unit = CAST(:unit AS text), false) AS unit_ok, a.unit IS NULL AS no_unit
    FROM gcrm.address_points a
    WHERE a.street_norm = CAST(:street_norm AS text)
      AND a.housenumber_norm = CAST(:housenumber_norm AS text)
), tier AS (
    SELECT c.*, rank() OVER (ORDER BY pc_ok DESC, city_ok DESC) AS tier,
           row_number() OVER w AS rn, first_value(geom) OVER w AS best_geom,
           count(*) OVER () AS n
    FROM candidates c
    WINDOW w AS (ORDER BY pc_ok DESC, city_ok DESC, unit_ok DESC, no_unit DESC, ref)
), spread AS (
    SELECT t.*, max(CASE WHEN tier = 1 AND n > 1
                         THEN ST_Distance(geom::geography, best_geom::geography) ELSE 0 END)
                    OVER () AS spread_m,
           avg(ST_X(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_x,
           avg(ST_Y(geom)) FILTER (WHERE tier = 1) OVER whole AS mid_y
    FROM tier t
    -- In ref order, so that every path sums the same floats in the same order.
    WINDOW whole AS (ORDER BY ref ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), exact AS (
    SELECT CASE WHEN unit_ok OR spread_m <= 30 THEN ST_X(geom) ELSE mid_x END AS lon,
           CASE WHEN unit_ok OR spread_m <= 30 THEN ST_Y(geom) ELSE mid_y END AS lat,
           'rooftop' AS precision,
           CAST(CASE WHEN pc_ok THEN 1.0
                     WHEN CAST(:postcode_norm AS text) IS NULL THEN 0.95
                     ELSE 0.85 END AS double precision) AS score,
           'reference:exact' AS source,
           concat_ws(', ', street || ' ' || housenumber, concat_ws(' ', postcode, city))
               AS matched_address,
           1 AS rung
    FROM spread
    WHERE rn = 1 AND spread_m <= 100
)
SELECT lon, lat, precision, score, source, matched_address, rung FROM cached
UNION ALL
SELECT lon, lat, precision, score, source, matched_address, rung FROM exact
ORDER BY rung
LIMIT 1;

-- name: fuzzy_streets
-- The streets of the postcode of the one address in _geo_one, as one row of arrays like
-- streets_of_postcodes (ladder.sql), read with fuzzy_todo: empty unless the address is
-- still unplaced and has a postcode.
SELECT coalesce(array_agg(s.street_norm), '{}'), coalesce(array_agg(s.postcode_norm), '{}'),
       coalesce(array_agg(s.city_norm), '{}'), coalesce(array_agg(s.n), '{}')
FROM gcrm.address_streets s
WHERE s.postcode_norm = (SELECT g.postcode_norm FROM _geo_one g WHERE g.precision IS NULL);
