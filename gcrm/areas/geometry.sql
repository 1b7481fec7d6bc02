-- The areas' outlines, as maps, the dashboard and spatial statistics read them (WKB).

-- name: areas
SELECT level, code, name, parent_code, ST_AsBinary(geom) AS geom
FROM gcrm.areas WHERE level = :level ORDER BY code;
