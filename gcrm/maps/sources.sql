-- What maps and the dashboard draw, one query per layer (geometry as WKB).

-- name: areas
SELECT level, code, name, parent_code, ST_AsBinary(geom) AS geom
FROM gcrm.areas WHERE level = :level ORDER BY code;

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
