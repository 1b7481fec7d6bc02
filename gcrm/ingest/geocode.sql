-- The geocoding ladder, set-based, on the temporary table _geo (one row per input).
-- Each rung fills only rows that no earlier rung placed. Statements are separated by a double semicolon.

-- 1. exact normalised street + house number; the postcode, when given, picks among candidates.
UPDATE _geo g
SET geom = m.geom, precision = 'rooftop', source = 'reference:exact', matched_address = m.label,
    score = CASE WHEN g.postcode_norm IS NULL THEN 0.95
                 WHEN m.postcode_norm = g.postcode_norm THEN 1.0 ELSE 0.85 END
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, a.geom, a.postcode_norm,
           concat_ws(', ', a.street || ' ' || a.housenumber, concat_ws(' ', a.postcode, a.city)) AS label
    FROM _geo g
    JOIN gcrm.address_points a
      ON a.street_norm = g.street_norm AND a.housenumber_norm = g.housenumber_norm
    WHERE g.precision IS NULL
    ORDER BY g.gid, (a.postcode_norm IS NOT DISTINCT FROM g.postcode_norm) DESC,
             (a.city_norm IS NOT DISTINCT FROM g.city_norm) DESC, a.ref
) m
WHERE g.gid = m.gid;;

-- 2. fuzzy street name, same house number, inside the postcode or city when known: a
--    candidate is close by trigrams (pg_trgm, typos anywhere) or by edit distance
--    (fuzzystrmatch, transpositions in short names); the best combined similarity wins.
UPDATE _geo g
SET geom = m.geom, precision = 'rooftop', source = 'reference:fuzzy', matched_address = m.label,
    score = round((0.5 + 0.4 * m.sim)::numeric, 3)
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, a.geom,
           greatest(similarity(a.street_norm, g.street_norm),
                    1 - levenshtein(a.street_norm, g.street_norm)::float8
                        / greatest(length(a.street_norm), length(g.street_norm))) AS sim,
           concat_ws(', ', a.street || ' ' || a.housenumber, concat_ws(' ', a.postcode, a.city)) AS label
    FROM _geo g
    JOIN gcrm.address_points a
      ON a.housenumber_norm = g.housenumber_norm
     AND (a.street_norm % g.street_norm
          OR (length(g.street_norm) >= 6 AND levenshtein(a.street_norm, g.street_norm) <= 2))
     AND (g.postcode_norm IS NULL OR a.postcode_norm = g.postcode_norm)
     AND (g.city_norm IS NULL OR g.postcode_norm IS NOT NULL OR a.city_norm = g.city_norm)
    WHERE g.precision IS NULL AND g.street_norm IS NOT NULL
    ORDER BY g.gid, sim DESC, a.ref
) m
WHERE g.gid = m.gid;;

-- 3. street centroid: the street is known (exactly or fuzzily) but not the number.
UPDATE _geo g
SET geom = m.geom, precision = 'street', source = 'reference:street', score = 0.5,
    matched_address = m.label
FROM (
    SELECT DISTINCT ON (g.gid) g.gid, s.geom, s.label
    FROM _geo g
    JOIN LATERAL (
        SELECT ST_Centroid(ST_Collect(a.geom)) AS geom,
               min(a.street) || coalesce(', ' || min(a.postcode), '') AS label,
               similarity(a.street_norm, g.street_norm) AS sim
        FROM gcrm.address_points a
        WHERE a.street_norm % g.street_norm
          AND (g.postcode_norm IS NULL OR a.postcode_norm = g.postcode_norm)
        GROUP BY a.street_norm
        ORDER BY sim DESC
        LIMIT 1
    ) s ON true
    WHERE g.precision IS NULL AND g.street_norm IS NOT NULL
    ORDER BY g.gid
) m
WHERE g.gid = m.gid;;

-- 4. postcode centroid, from the address points that carry the postcode.
UPDATE _geo g
SET geom = p.geom, precision = 'postcode', source = 'reference:postcode', score = 0.3,
    matched_address = p.label
FROM (
    SELECT postcode_norm, ST_Centroid(ST_Collect(geom)) AS geom,
           min(postcode) || coalesce(' ' || min(city), '') AS label
    FROM gcrm.address_points WHERE postcode_norm IS NOT NULL GROUP BY postcode_norm
) p
WHERE g.precision IS NULL AND g.postcode_norm = p.postcode_norm;;

-- 5. city / locality centroid.
UPDATE _geo g
SET geom = c.geom, precision = 'locality', source = 'reference:locality', score = 0.1,
    matched_address = c.label
FROM (
    SELECT city_norm, ST_Centroid(ST_Collect(geom)) AS geom, min(city) AS label
    FROM gcrm.address_points WHERE city_norm IS NOT NULL GROUP BY city_norm
) c
WHERE g.precision IS NULL AND g.city_norm = c.city_norm;;

-- 6. unmatched.
UPDATE _geo SET precision = 'none', score = 0, source = 'none' WHERE precision IS NULL
