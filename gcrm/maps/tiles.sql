-- The offline basemap's tiles (gcrm.maps.tiles): the layers gcrm holds, clipped to one Web
-- Mercator tile and projected to its pixels by PostGIS; Python only draws them.

-- name: layers_stamp
-- What the basemap is drawn from, as one number: the last import run of its layers (any
-- import of roads, zones or buildings draws new tiles), and the database it is read from.
SELECT current_database() AS database, coalesce(max(id), 0) AS stamp
FROM gcrm.import_runs
WHERE kind = ANY(CAST(:kinds AS text[]));

-- name: tile_features
-- The features of tile :z/:x/:y in draw order, as WKB in the tile's pixels (:extent across,
-- origin top left, y down; ST_AsMVTGeom) with :buffer pixels around it so that strokes
-- crossing the edge are drawn whole. Searched in EPSG:4326 (storage, where the spatial
-- indexes are) with the tile's box reprojected (a Web Mercator box is a lon/lat box), drawn in
-- EPSG:3857 (the tile's own CRS), simplified by :tolerance_m metres (about half a pixel).
-- layer: 'zone' (kind: water, green, built or NULL for none), 'building', 'road' (kind: the
-- class without _link; roads of the classes :road_classes only). Buildings from :building_zoom.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(
               ST_TileEnvelope(:z, :x, :y, margin => CAST(:buffer AS float8) / :extent),
               4326) AS box
),
features AS (
    SELECT 1 AS draw, 'zone' AS layer,
           CASE WHEN z.landuse = ANY(CAST(:water AS text[])) THEN 'water'
                WHEN z.landuse = ANY(CAST(:green AS text[])) THEN 'green'
                WHEN z.class = ANY(CAST(:built AS text[])) THEN 'built'
           END AS kind,
           z.ref, z.geom
    FROM gcrm.zones z, bounds b
    WHERE z.geom && b.box
    UNION ALL
    SELECT 2, 'building', NULL, g.ref, g.geom
    FROM gcrm.buildings g, bounds b
    WHERE :z >= :building_zoom AND g.geom && b.box
    UNION ALL
    SELECT 3, 'road', regexp_replace(r.class, '_link$', ''), r.ref, r.geom
    FROM gcrm.roads r, bounds b
    WHERE r.geom && b.box
      AND regexp_replace(r.class, '_link$', '') = ANY(CAST(:road_classes AS text[]))
),
drawn AS (
    SELECT f.draw, f.layer, f.kind, f.ref,
           ST_AsMVTGeom(
               ST_Simplify(ST_Transform(f.geom, 3857), :tolerance_m, true),
               b.tile::box2d, :extent, :buffer, true) AS geom
    FROM features f, bounds b
    WHERE f.layer <> 'zone' OR f.kind IS NOT NULL
)
SELECT layer, kind, ST_AsBinary(geom) AS geom
FROM drawn
WHERE geom IS NOT NULL
-- Water over green over built land; the rest by ref, so that a tile is drawn the same way
-- every time (Python orders the roads by class).
ORDER BY draw, CASE kind WHEN 'water' THEN 3 WHEN 'green' THEN 2 ELSE 1 END, ref;
