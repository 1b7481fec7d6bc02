-- Nearby leads, one indexed query. {lead_columns} ("l.name, l.category, ...") and {columns}
-- (the same names unprefixed) are the lead columns of gcrm.leads.search.LEAD_COLUMNS;
-- {nearest} is the statement `nearest` below, which both searches share.

-- name: nearest
-- The leads within :radius_m metres of (:lon, :lat), at most :limit, nearest first.
-- The geography casts match the expression index leads_geog_idx, so both ST_DWithin and the
-- KNN operator (<-> on geography: distance on the sphere) use it; the statements around it
-- order by the exact spheroid distance. Ties are broken by external_id so ranks are
-- reproducible.
SELECT {lead_columns}, l.area_codes,
       ST_Distance(l.geom::geography, o.origin) AS distance_m,
       l.geom
FROM gcrm.leads AS l,
     (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS origin) AS o
WHERE ST_DWithin(l.geom::geography, o.origin, :radius_m)
  AND (CAST(:categories AS text[]) IS NULL OR l.category = ANY(CAST(:categories AS text[])))
  AND (CAST(:zoning AS text[]) IS NULL OR l.zoning_class = ANY(CAST(:zoning AS text[])))
ORDER BY l.geom::geography <-> o.origin
LIMIT :limit;

-- name: nearby
-- Rows for a GeoDataFrame (gcrm.leads.find_nearby_leads).
WITH nearest AS ({nearest})
SELECT row_number() OVER (ORDER BY distance_m, external_id) AS rank,
       {columns}, area_codes, distance_m, ST_AsBinary(geom) AS geom
FROM nearest
ORDER BY distance_m, external_id;

-- name: nearby_geojson
-- The same leads as one GeoJSON FeatureCollection, built here (gcrm.leads.nearby_geojson):
-- properties rank, the lead columns, distance_m and area_<level> for every level (coarsest
-- first, null where a lead has none) and for any other key a lead's area codes carry
-- (sorted); a foreign member `origin` from :origin_label and :origin_precision. Properties are
-- jsonb (float8 goes in exactly); `features` is the number of features.
WITH nearest AS ({nearest}),
ranked AS (
    SELECT row_number() OVER (ORDER BY distance_m, external_id) AS rank, n.*
    FROM nearest AS n
),
area_keys AS (
    SELECT ARRAY(SELECT level FROM gcrm.area_levels ORDER BY rank, level)
           || ARRAY(SELECT DISTINCT k COLLATE "C"
                    FROM ranked AS r, jsonb_object_keys(r.area_codes) AS k
                    WHERE k NOT IN (SELECT level FROM gcrm.area_levels)
                    ORDER BY 1) AS keys
)
SELECT count(r.rank) AS features,
       json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(json_agg(json_build_object(
               'type', 'Feature',
               'properties', jsonb_build_object({properties})
                   || coalesce((SELECT jsonb_object_agg('area_' || k, r.area_codes -> k)
                                FROM unnest(a.keys) AS k), '{{}}'),
               'geometry', json_build_object(
                   'type', 'Point',
                   'coordinates', json_build_array(ST_X(r.geom), ST_Y(r.geom)))
           ) ORDER BY r.rank), '[]'),
           'origin', json_build_object(
               'lon', CAST(:lon AS double precision), 'lat', CAST(:lat AS double precision),
               'label', CAST(:origin_label AS text),
               'precision', CAST(:origin_precision AS text))
       )::text AS body
FROM ranked AS r, area_keys AS a;

-- name: customer_origin
SELECT name, geocode_precision, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.customers WHERE external_id = :id;
