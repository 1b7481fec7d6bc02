-- Where a search starts (gcrm.leads.resolve_origin); the searches themselves are in query.sql.

-- name: customer_origin
SELECT name, geocode_precision, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.customers WHERE external_id = :id;
