-- Checks of the area hierarchy, run after every areas import.

-- name: derive_parents
-- Missing parent codes, by spatial nesting: the parent containing a point on the child.
UPDATE gcrm.areas a SET parent_code = p.code
FROM gcrm.area_levels l, gcrm.areas p
WHERE l.level = a.level AND l.parent_level IS NOT NULL AND a.parent_code IS NULL
  AND p.level = l.parent_level AND ST_Contains(p.geom, ST_PointOnSurface(a.geom));

-- name: orphans_and_outside
-- Per level with a parent level: areas without a parent, and areas reaching outside theirs.
WITH kids AS (
    SELECT a.level, p.code AS parent,
           CASE WHEN p.code IS NOT NULL THEN ST_Area(ST_Difference(a.geom, p.geom)) / NULLIF(ST_Area(a.geom), 0) END AS outside
    FROM gcrm.areas a
    JOIN gcrm.area_levels l ON l.level = a.level AND l.parent_level IS NOT NULL
    LEFT JOIN gcrm.areas p ON p.level = l.parent_level AND p.code = a.parent_code
)
SELECT level, count(*) FILTER (WHERE parent IS NULL) AS orphans,
       count(*) FILTER (WHERE outside > 0.001) AS outside
FROM kids GROUP BY level ORDER BY level;

-- name: overlaps
SELECT a.level, count(*) FROM gcrm.areas a JOIN gcrm.areas b
  ON a.level = b.level AND a.code < b.code AND a.geom && b.geom
 AND ST_Relate(a.geom, b.geom, '2********')
GROUP BY a.level ORDER BY a.level;

-- name: gaps
-- Parents not fully covered by their children.
SELECT c.level, count(*) FROM (
    SELECT a.level, a.code, ST_Area(a.geom) AS area,
           (SELECT coalesce(sum(ST_Area(k.geom)), 0) FROM gcrm.areas k
             JOIN gcrm.area_levels kl ON kl.level = k.level AND kl.parent_level = a.level
            WHERE k.parent_code = a.code) AS covered,
           EXISTS (SELECT 1 FROM gcrm.area_levels kl WHERE kl.parent_level = a.level) AS has_children
    FROM gcrm.areas a
) c
WHERE c.has_children AND c.covered < 0.999 * c.area
GROUP BY c.level ORDER BY c.level;
