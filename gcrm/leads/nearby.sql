-- Nearby leads, one indexed query. {lead_columns} ("l.name, l.category, ...") and {columns}
-- (the same names unprefixed) are the lead columns of gcrm.leads.search.LEAD_COLUMNS;
-- {nearest} is the statement `nearest` below, which both searches share.

-- name: nearest
-- The leads within :radius_m metres of (:lon, :lat), at most :limit, nearest first.
-- gcrm.nearest_lead_ids (migration 0008) finds them on the spatial index, within the
-- caller's scope, and gives their exact spheroid distance; the leads themselves are read
-- through gcrm.leads, so row-level security still decides what the caller sees. Ties are
-- broken by external_id so ranks are reproducible.
SELECT {lead_columns}, l.area_codes, n.distance_m, l.geom
FROM gcrm.nearest_lead_ids(:lon, :lat, :radius_m, :limit,
                           CAST(:categories AS text[]), CAST(:zoning AS text[])) AS n
JOIN gcrm.leads AS l ON l.external_id = n.external_id
ORDER BY n.distance_m, l.external_id;

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
