-- Territory design constraints: nesting within a coarser level, and the workload criterion.
-- Row-level security applies to the customers: a scoped user weighs the customers they may read.

-- name: parent_codes
-- Each area of one level with its parent's code (the hierarchy check's, one level up).
SELECT code, parent_code
FROM gcrm.areas
WHERE level = :level
ORDER BY code;

-- name: containing_codes
-- Each area of the level with the area of the coarser level holding its point on surface, or the nearest
-- one where none holds it (areas clipped differently at the region's edge): KNN on the
-- spatial index, exact distance on geometries.
SELECT u.code, w.code AS parent_code
FROM gcrm.areas u
CROSS JOIN LATERAL (
    SELECT p.code
    FROM gcrm.areas p
    WHERE p.level = :within
    ORDER BY p.geom <-> ST_PointOnSurface(u.geom), p.code
    LIMIT 1
) w
WHERE u.level = :level
ORDER BY u.code;

-- name: segment_customers
-- Active customers (not churned) per unit of the level and segment, for the workload criterion.
SELECT c.area_codes ->> :level AS code, coalesce(c.segment, '') AS segment,
       count(*)::float8 AS customers
FROM gcrm.customers c
WHERE c.area_codes ->> :level IS NOT NULL
  AND (c.churn_date IS NULL OR c.churn_date > current_date)
GROUP BY 1, 2
ORDER BY 1, 2;
