-- Publishing a territory plan (migration 0023): its territories become the areas of a level,
-- its units a level nested under it, and every customer and lead carries both in its
-- area codes. {enrichment} is an entity's enrichment table (PointEntity.fill).

-- name: level_rows
SELECT level, parent_level, rank FROM gcrm.area_levels WHERE level = ANY(CAST(:levels AS text[]));

-- name: published_levels
-- Levels written by an earlier publication (they may be replaced; other levels may not).
SELECT level FROM gcrm.territory_publications
UNION SELECT unit_level FROM gcrm.territory_publications;

-- name: upsert_level
-- A published level is nested by construction: a territory is the union of its units.
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation, nested)
VALUES (:level, :parent_level, :rank, :label, :derivation, :nested)
ON CONFLICT (level) DO UPDATE
SET parent_level = EXCLUDED.parent_level, rank = EXCLUDED.rank, label = EXCLUDED.label,
    derivation = EXCLUDED.derivation, nested = EXCLUDED.nested;

-- name: delete_areas
DELETE FROM gcrm.areas WHERE level = ANY(CAST(:levels AS text[]));

-- name: delete_published
DELETE FROM gcrm.published_territories WHERE level = :level;

-- name: insert_publication
INSERT INTO gcrm.territory_publications
    (level, unit_level, plan_id, plan_label, plan_level, territories, customers, leads,
     published_by)
VALUES (:level, :unit_level, :plan_id, :plan_label, :plan_level, 0, 0, 0, :published_by)
RETURNING id, published_at;

-- name: insert_published_territories
-- Codes T01.. by the plan's territory number, zero-padded to the width of k.
INSERT INTO gcrm.published_territories (level, code, publication_id, territory, name, rep)
SELECT :level, 'T' || lpad(t.territory::text, :width, '0'), :publication_id, t.territory,
       t.name, nullif(btrim(t.rep), '')
FROM gcrm.territory_plan_territories t
WHERE t.plan_id = :plan_id;

-- name: insert_territory_areas
-- Each territory's geometry dissolved from its units' (polygons only, as one MultiPolygon).
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
SELECT pt.level, pt.code,
       CASE WHEN pt.rep IS NULL THEN pt.name ELSE pt.name || ' (' || pt.rep || ')' END,
       NULL, 'plan:' || :plan_id,
       ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(a.geom)), 3))
FROM gcrm.published_territories pt
JOIN gcrm.territory_plan_units u ON u.plan_id = :plan_id AND u.territory = pt.territory
JOIN gcrm.areas a ON a.level = :plan_level AND a.code = u.code
WHERE pt.level = :level
GROUP BY pt.level, pt.code, pt.name, pt.rep;

-- name: insert_unit_areas
-- The plan's units again, each under its territory, so the hierarchy drills into them.
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
SELECT :unit_level, a.code, a.name, pt.code, 'plan:' || :plan_id, a.geom
FROM gcrm.territory_plan_units u
JOIN gcrm.published_territories pt ON pt.level = :level AND pt.territory = u.territory
JOIN gcrm.areas a ON a.level = :plan_level AND a.code = u.code
WHERE u.plan_id = :plan_id;

-- name: analyze_areas
-- The points are joined to the new units next: planned on the statistics of before (none
-- for a first publication), the join may be a nested loop over every point and unit.
ANALYZE gcrm.areas;

-- name: clear_codes
-- Points that carried a published territory and are in none of the new plan's units lose it
-- (the others have it overwritten by set_codes: one write per point).
UPDATE {enrichment} e
SET area_codes = e.area_codes - CAST(:level AS text) - CAST(:unit_level AS text)
WHERE e.area_codes ?| ARRAY[CAST(:level AS text), CAST(:unit_level AS text)]
  AND NOT EXISTS (
      SELECT FROM gcrm.areas u
      WHERE u.level = :unit_level AND u.code = e.area_codes ->> CAST(:plan_level AS text));

-- name: set_codes
-- Territory and unit from the unit code each point already carries for the plan's level;
-- points that carry them already are not written again.
UPDATE {enrichment} e
SET area_codes = e.area_codes || m.codes
FROM (
    SELECT u.code, jsonb_build_object(CAST(:level AS text), u.parent_code,
                                      CAST(:unit_level AS text), u.code) AS codes
    FROM gcrm.areas u WHERE u.level = :unit_level
) m
WHERE e.area_codes ->> CAST(:plan_level AS text) = m.code AND NOT e.area_codes @> m.codes;

-- name: count_placed
SELECT count(*) FILTER (WHERE area_codes ? CAST(:level AS text)) AS placed, count(*) AS total
FROM {enrichment};

-- name: finish_publication
UPDATE gcrm.territory_publications
SET territories = (SELECT count(*) FROM gcrm.areas WHERE level = :level),
    customers = :customers, leads = :leads
WHERE id = :publication_id;

-- name: current_publication
-- The latest publication of each level still published.
SELECT DISTINCT ON (p.level) p.id, p.level, p.unit_level, p.plan_id, p.plan_label,
       p.plan_level, p.territories, p.customers, p.leads, p.published_by, p.published_at
FROM gcrm.territory_publications p
WHERE EXISTS (SELECT FROM gcrm.published_territories t WHERE t.publication_id = p.id)
ORDER BY p.level, p.published_at DESC, p.id DESC;
