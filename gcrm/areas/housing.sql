-- Building forms, heights and estimated dwellings of the areas of one level (:level).
-- Each building counts once, in the area holding its centroid (the smallest code on an
-- edge), as in profiles.sql; floor area is footprint x storeys, one storey where unknown.

-- name: forms
-- One row per (area, form): buildings, estimated dwellings, and storeys of those that state
-- them. A residential building's form follows its OSM building value (:detached, :terraced,
-- :apartment); an untyped one (residential, yes, ...) is an apartment block from
-- :block_levels storeys or :block_footprint_m2 of footprint up, else a detached house.
-- Dwellings: a detached house 1; a semi-detached or terraced house, or an apartment block,
-- its floor area over :m2_terraced or :m2_apartment, at least 2.
WITH a AS (
    SELECT code, geom FROM gcrm.areas WHERE level = :level
),
b AS (
    SELECT DISTINCT ON (b.ref) a.code, b.residential, lower(b.building) AS building, b.levels,
        ST_Area(b.geom::geography) AS footprint_m2
    FROM gcrm.buildings b
    JOIN a ON ST_Intersects(a.geom, ST_Centroid(b.geom))
    ORDER BY b.ref, a.code
),
f AS (
    SELECT code, building, levels, footprint_m2 * coalesce(levels, 1) AS floor_m2,
        CASE
            WHEN NOT residential THEN 'nonresidential'
            WHEN building = ANY(CAST(:detached AS text[])) THEN 'detached'
            WHEN building = ANY(CAST(:terraced AS text[])) THEN 'terraced'
            WHEN building = ANY(CAST(:apartment AS text[])) THEN 'apartment'
            WHEN coalesce(levels, 1) >= :block_levels
                OR footprint_m2 >= :block_footprint_m2 THEN 'apartment'
            ELSE 'detached'
        END AS form
    FROM b
)
SELECT code, form, count(*) AS buildings,
    sum(CASE form
        WHEN 'detached' THEN 1
        WHEN 'terraced' THEN greatest(2, floor_m2 / :m2_terraced)
        WHEN 'apartment' THEN greatest(2, floor_m2 / :m2_apartment)
        ELSE 0
    END)::float8 AS dwellings,
    count(levels) AS with_levels,
    count(*) FILTER (WHERE levels < 3) AS low,
    count(*) FILTER (WHERE levels >= 3 AND levels < 6) AS mid,
    count(*) FILTER (WHERE levels >= 6) AS high,
    coalesce(sum(levels), 0)::float8 AS levels_sum
FROM f
GROUP BY code, form
ORDER BY code, form;
