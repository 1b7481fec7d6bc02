-- The customers' scores (gcrm.customer_scores, migration 0019), written by gcrm.scoring.churn
-- and gcrm.scoring.value (each its own columns) and read by the exports, the API and the cube.

-- name: history_range
-- The last day the data speaks of (the scoring date) and the first order's day.
SELECT greatest((SELECT max(order_date) FROM gcrm.orders),
                (SELECT max(churn_date) FROM gcrm.customers)) AS last_day,
       (SELECT min(order_date) FROM gcrm.orders) AS first_order;

-- name: clear_churn
-- Customers no longer scored lose their churn risk (a churned customer keeps none).
UPDATE gcrm.customer_scores
SET churn_run_id = NULL, churn_risk = NULL, churn_reasons = NULL, revenue_12m = NULL,
    churn_scored_at = NULL
WHERE churn_run_id IS NOT NULL;

-- name: clear_value
UPDATE gcrm.customer_scores
SET value_run_id = NULL, expected_value_12m = NULL, expected_orders_12m = NULL,
    value_reasons = NULL, value_scored_at = NULL
WHERE value_run_id IS NOT NULL;

-- name: drop_empty
DELETE FROM gcrm.customer_scores WHERE churn_run_id IS NULL AND value_run_id IS NULL;

-- name: stage
CREATE TEMPORARY TABLE customer_scores_stage (
    external_id text, score double precision, extra double precision, reasons text
) ON COMMIT DROP;

-- name: upsert_churn
INSERT INTO gcrm.customer_scores AS s (external_id, churn_run_id, churn_risk, churn_reasons,
                                       revenue_12m, churn_scored_at)
SELECT external_id, :run_id, score, CAST(reasons AS jsonb), extra, now()
FROM customer_scores_stage
ON CONFLICT (external_id) DO UPDATE SET
    churn_run_id = excluded.churn_run_id, churn_risk = excluded.churn_risk,
    churn_reasons = excluded.churn_reasons, revenue_12m = excluded.revenue_12m,
    churn_scored_at = excluded.churn_scored_at;

-- name: upsert_value
INSERT INTO gcrm.customer_scores AS s (external_id, value_run_id, expected_value_12m,
                                       expected_orders_12m, value_reasons, value_scored_at)
SELECT external_id, :run_id, score, extra, CAST(reasons AS jsonb), now()
FROM customer_scores_stage
ON CONFLICT (external_id) DO UPDATE SET
    value_run_id = excluded.value_run_id, expected_value_12m = excluded.expected_value_12m,
    expected_orders_12m = excluded.expected_orders_12m, value_reasons = excluded.value_reasons,
    value_scored_at = excluded.value_scored_at;

-- name: drop_stage
DROP TABLE customer_scores_stage;

-- name: churn_list
-- The scored customers the reader may see (row-level security on both tables), riskiest
-- first: in area :level/:code when given, at least :min_risk; :limit of them. JSON is built
-- by PostgreSQL; names only when :names.
SELECT coalesce(json_agg(jsonb_build_object(
           'id', x.external_id, 'churn_risk', x.churn_risk,
           'revenue_12m', x.revenue_12m, 'segment', x.segment,
           'reasons', coalesce(x.churn_reasons, '[]'::jsonb), 'area_codes', x.area_codes)
           || CASE WHEN :names THEN jsonb_build_object('name', x.name) ELSE '{}'::jsonb END
           ORDER BY x.churn_risk DESC, x.external_id), '[]')::text AS body,
       count(*) AS n
FROM (
    SELECT s.external_id, s.churn_risk, s.revenue_12m, s.churn_reasons, c.name, c.segment,
           c.area_codes
    FROM gcrm.customer_scores s
    JOIN gcrm.customers c ON c.external_id = s.external_id
    WHERE s.churn_risk IS NOT NULL AND s.churn_risk >= :min_risk
      AND (CAST(:level AS text) IS NULL
           OR c.area_codes ->> CAST(:level AS text) = CAST(:code AS text))
    ORDER BY s.churn_risk DESC, s.external_id
    LIMIT :limit
) x;

-- name: scores_table
-- Every scored customer the reader may see, with their area codes and location: the
-- exports of gcrm customers churn-risk / value.
SELECT s.external_id AS customer_id, c.segment, s.churn_risk, s.churn_reasons,
       s.revenue_12m, s.expected_value_12m, s.expected_orders_12m, s.value_reasons,
       c.area_codes, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
FROM gcrm.customer_scores s
JOIN gcrm.customers c ON c.external_id = s.external_id
ORDER BY s.external_id;
