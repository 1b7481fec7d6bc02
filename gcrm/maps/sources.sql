-- What maps and the dashboard draw, one query per layer (geometry as WKB).

-- name: customer_points
-- Geocoded customers, optionally of one segment and at some geocode precisions.
SELECT external_id, name, segment, status, geocode_precision, ST_AsBinary(geom) AS geom
FROM gcrm.customers
WHERE geom IS NOT NULL
  AND (CAST(:segment AS text) IS NULL OR segment = :segment)
  AND (CAST(:precisions AS text[]) IS NULL OR geocode_precision = ANY(:precisions))
ORDER BY external_id;

-- name: lead_points
SELECT external_id, name, category, zoning_class, ST_AsBinary(geom) AS geom
FROM gcrm.leads ORDER BY external_id;

-- name: branches
SELECT code, name, street, housenumber, city, ST_AsBinary(geom) AS geom
FROM gcrm.branches ORDER BY code;

-- name: customer_dots
-- Customer points for the dashboard: segment, status and precision only (no names:
-- personal data stays on the server).
SELECT segment, status, geocode_precision, ST_AsBinary(geom) AS geom
FROM gcrm.customers WHERE geom IS NOT NULL;

-- name: lead_dots
SELECT name, category, ST_AsBinary(geom) AS geom FROM gcrm.leads;

-- name: points_in_box
-- The customers or leads (:kind) in the box of the view as a GeoJSON FeatureCollection
-- (lon/lat to 6 decimals, ~0.1 m): at most :limit points with their properties, or with
-- :cells, clusters with their count. gcrm.points_in_box (migration 0014) reads them under
-- the user's scope with the spatial index; customers of a segment (NULL: all) and on the
-- books at some time in the period [start, stop) (NULL: whole range): signed up before it
-- ends and not churned before it begins, those the cube counts in it. Properties: id,
-- segment and geocode precision (a lead's category), never a name or contact.
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
           json_build_object(
               'type', 'Feature',
               'geometry', json_build_object('type', 'Point', 'coordinates', json_build_array(
                   round(ST_X(p.geom)::numeric, 6), round(ST_Y(p.geom)::numeric, 6))),
               'properties', p.props)), '[]'))
FROM gcrm.points_in_box(
    CAST(:kind AS text), :west, :south, :east, :north, CAST(:segment AS text),
    CAST(:start AS date), CAST(:stop AS date), CAST(:limit AS integer),
    CAST(:cells AS float8)) p;

-- name: point_name
-- The name of one customer or lead (the entity's view), read when a person asks for it.
SELECT name FROM {view} WHERE external_id = :id
