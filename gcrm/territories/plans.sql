-- Stored territory plans (migration 0022): versions, territories, units.

-- name: insert_plan
INSERT INTO gcrm.territory_plans
    (name, version, parent_id, level, k, balance, settings, figures, created_by)
SELECT :name,
       coalesce((SELECT max(version) FROM gcrm.territory_plans WHERE name = :name), 0) + 1,
       :parent_id, :level, :k, CAST(:balance AS jsonb), CAST(:settings AS jsonb),
       CAST(:figures AS jsonb), :created_by
RETURNING id, version;

-- name: insert_territory
INSERT INTO gcrm.territory_plan_territories (plan_id, territory, name, rep, base, base_geom)
VALUES (:plan_id, :territory, :name, :rep, :base,
        CASE WHEN CAST(:lon AS float8) IS NOT NULL AND CAST(:lat AS float8) IS NOT NULL
             THEN ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)
        END);

-- name: insert_unit
INSERT INTO gcrm.territory_plan_units (plan_id, code, territory)
VALUES (:plan_id, :code, :territory);

-- name: list_plans
SELECT p.id, p.name, p.version, p.level, p.k, p.balance, p.is_current, p.parent_id,
       p.created_by, p.created_at,
       (SELECT count(*) FROM gcrm.territory_plan_units u WHERE u.plan_id = p.id) AS units,
       (SELECT count(*) FROM gcrm.territory_plan_territories t
        WHERE t.plan_id = p.id AND t.rep IS NOT NULL) AS reps,
       p.figures
FROM gcrm.territory_plans p
ORDER BY p.created_at DESC, p.id DESC;

-- name: plan_by_id
SELECT id FROM gcrm.territory_plans WHERE id = :id;

-- name: current_plan
SELECT id FROM gcrm.territory_plans WHERE is_current;

-- name: plan_by_name
SELECT id FROM gcrm.territory_plans
WHERE name = :name AND (CAST(:version AS integer) IS NULL OR version = CAST(:version AS integer))
ORDER BY version DESC
LIMIT 1;

-- name: plan_labels
SELECT format('%s@%s (#%s)', name, version, id) FROM gcrm.territory_plans
ORDER BY created_at DESC, id DESC
LIMIT 10;

-- name: read_plan
SELECT id, name, version, parent_id, level, k, balance, settings, figures, is_current,
       created_by, created_at
FROM gcrm.territory_plans WHERE id = :id;

-- name: read_territories
SELECT territory, name, rep, base, ST_X(base_geom) AS lon, ST_Y(base_geom) AS lat
FROM gcrm.territory_plan_territories WHERE plan_id = :id ORDER BY territory;

-- name: read_units
SELECT code, territory FROM gcrm.territory_plan_units WHERE plan_id = :id ORDER BY code;

-- name: clear_current
UPDATE gcrm.territory_plans SET is_current = false WHERE is_current;

-- name: set_current
UPDATE gcrm.territory_plans SET is_current = true WHERE id = :id;

-- name: plan_k
SELECT k FROM gcrm.territory_plans WHERE id = :id;

-- name: set_rep
UPDATE gcrm.territory_plan_territories SET rep = :rep
WHERE plan_id = :id AND territory = :territory;

-- name: set_territory_name
UPDATE gcrm.territory_plan_territories SET name = :name
WHERE plan_id = :id AND territory = :territory;
