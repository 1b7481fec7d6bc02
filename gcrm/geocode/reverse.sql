-- Reverse geocoding: the nearest reference address to each point of the temp table _rev.

-- name: create_rev
CREATE TEMP TABLE _rev (gid bigint PRIMARY KEY, lon float8, lat float8) ON COMMIT DROP;

-- name: nearest
-- KNN on the GiST index of address_points, then the exact distance in metres on the spheroid;
-- a point with no address within :max_m gets NULLs.
SELECT r.gid, n.label, n.ref, n.distance_m, n.lon, n.lat
FROM _rev r
LEFT JOIN LATERAL (
    SELECT concat_ws(', ', a.street || ' ' || a.housenumber, concat_ws(' ', a.postcode, a.city)) AS label,
           a.ref, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,
           ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)::geography) AS distance_m
    FROM gcrm.address_points a
    ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)
    LIMIT 1
) n ON n.distance_m <= :max_m
ORDER BY r.gid;
