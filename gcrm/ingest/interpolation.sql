-- What areal interpolation reads: the target areas and the dasymetric weights.

-- name: areas
-- The areas of the levels :levels, the targets of the interpolation.
SELECT level, code, ST_AsBinary(geom) AS geom
FROM gcrm.areas
WHERE level = ANY(:levels)
ORDER BY level, code;

-- name: residential_buildings
-- Residential buildings within the box (:xmin, :ymin, :xmax, :ymax) (EPSG:4326), with the
-- storeys that make footprint into floor area: one where unknown, as gcrm/areas/profiles.sql.
SELECT ref, coalesce(levels, 1)::float8 AS levels, ST_AsBinary(geom) AS geom
FROM gcrm.buildings
WHERE residential
  AND geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
ORDER BY ref;
