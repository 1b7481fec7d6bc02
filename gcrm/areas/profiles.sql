-- Area profiles of one level (:level), set-based.
-- Areas in m² and lengths in metres are measured on the spheroid (geography).

-- name: profile
-- One row per area with the building, customer and lead figures (its statistics, of one
-- vintage, are joined in Python: gcrm.areas.read_area_stats).
WITH a AS (
    SELECT level, code, name, parent_code, geom, ST_Area(geom::geography) AS area_m2
    FROM gcrm.areas WHERE level = :level
),
-- Each building counts once, in the area holding its centroid (the smallest code on an edge);
-- floor area is footprint x levels, one level where levels are unknown.
bldg AS (
    SELECT DISTINCT ON (b.ref) a.code, b.residential,
        ST_Area(b.geom::geography) * coalesce(b.levels, 1) AS floor_m2
    FROM gcrm.buildings b
    JOIN a ON ST_Intersects(a.geom, ST_Centroid(b.geom))
    ORDER BY b.ref, a.code
),
bsum AS (
    SELECT code, count(*) AS buildings, sum(floor_m2) AS floor_m2,
        coalesce(sum(floor_m2) FILTER (WHERE residential), 0) AS residential_floor_m2
    FROM bldg GROUP BY code
),
cust AS (
    SELECT area_codes ->> :level AS code, count(*) AS customers,
        count(*) FILTER (WHERE status = 'active') AS active_customers
    FROM gcrm.customers WHERE area_codes ? :level GROUP BY 1
),
lead AS (
    SELECT area_codes ->> :level AS code, count(*) AS leads
    FROM gcrm.leads WHERE area_codes ? :level GROUP BY 1
)
SELECT a.level, a.code, a.name, a.parent_code, a.area_m2 / 1e6 AS area_km2,
    coalesce(b.buildings, 0) AS buildings,
    coalesce(b.buildings, 0) / nullif(a.area_m2 / 1e6, 0) AS building_density_per_km2,
    b.residential_floor_m2 / nullif(b.floor_m2, 0) AS residential_floor_share,
    coalesce(c.customers, 0) AS customers,
    coalesce(c.active_customers, 0) AS active_customers,
    coalesce(l.leads, 0) AS leads,
    ST_AsBinary(a.geom) AS geom
FROM a
LEFT JOIN bsum b USING (code)
LEFT JOIN cust c USING (code)
LEFT JOIN lead l USING (code)
ORDER BY a.code;

-- name: roads
-- Km of road of each class inside each area (segments clipped to the area).
SELECT a.code, r.class,
    sum(ST_Length(ST_CollectionExtract(ST_Intersection(a.geom, r.geom), 2)::geography)) / 1000.0 AS km
FROM gcrm.areas a
JOIN gcrm.roads r ON ST_Intersects(a.geom, r.geom)
WHERE a.level = :level
GROUP BY a.code, r.class;

-- name: zoning
-- Share of each area covered by each zoning class (overlaps within a class once).
SELECT a.code, z.class,
    ST_Area(ST_Union(ST_CollectionExtract(ST_Intersection(a.geom, z.geom), 3))::geography)
        / nullif(ST_Area(a.geom::geography), 0) AS share
FROM gcrm.areas a
JOIN gcrm.zones z ON ST_Intersects(a.geom, z.geom)
WHERE a.level = :level
GROUP BY a.code, a.geom, z.class;
