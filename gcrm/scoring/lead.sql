-- The lead score (gcrm.scoring.lead): the points it compares, and the scores it writes.
-- {category_columns} is either the customer records' category, category_group and
-- lead_external_id (migration 0017) or NULLs of those names, when the columns are absent.

-- name: customer_category_columns
-- Which of migration 0017's columns customer records have.
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'gcrm' AND table_name = 'customer_records'
  AND column_name IN ('category', 'category_group', 'lead_external_id');

-- name: data_end
-- The latest date in the data: the last signup or order.
SELECT GREATEST((SELECT max(signup_date) FROM gcrm.customer_records),
                (SELECT max(order_date) FROM gcrm.orders));

-- name: lead_points
-- Every located lead with what it shares with customers; area_code at :level.
SELECT l.external_id, ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat,
       NULLIF(l.category, '') AS category, l.zoning_class, l.road_class, l.drive_time_s,
       l.branch_reached, l.area_codes ->> CAST(:level AS text) AS area_code
FROM gcrm.leads AS l
WHERE l.geom IS NOT NULL
ORDER BY l.external_id;

-- name: customer_points
-- Every located customer with the same features, its segment and signup date, and its
-- revenue in the 12 months up to :end (revenue_12m) and in the 12 months before :cutoff
-- (revenue_before_cutoff), for value weights.
WITH revenue AS (
    SELECT customer_external_id AS external_id,
           sum(amount) FILTER (WHERE order_date > CAST(:end AS date) - interval '12 months'
                                 AND order_date <= CAST(:end AS date)) AS revenue_12m,
           sum(amount) FILTER (WHERE order_date >= CAST(:cutoff AS date) - interval '12 months'
                                 AND order_date < CAST(:cutoff AS date)) AS revenue_before_cutoff
    FROM gcrm.orders
    GROUP BY customer_external_id
)
SELECT c.external_id, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, {category_columns},
       c.segment, c.status, c.signup_date, c.zoning_class, c.road_class, c.drive_time_s,
       c.branch_reached, c.area_codes ->> CAST(:level AS text) AS area_code,
       COALESCE(v.revenue_12m, 0) AS revenue_12m,
       COALESCE(v.revenue_before_cutoff, 0) AS revenue_before_cutoff
FROM gcrm.customers AS c
JOIN gcrm.customer_records AS r ON r.external_id = c.external_id
LEFT JOIN revenue AS v ON v.external_id = c.external_id
WHERE c.geom IS NOT NULL
ORDER BY c.external_id;

-- name: branch_points
SELECT code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gcrm.branches ORDER BY code;

-- name: clear_scores
-- A run replaces every score (leads gone since lose theirs).
DELETE FROM gcrm.lead_scores;

-- name: lead_score
-- One lead's score with its run, under the caller's scope (row-level security on
-- gcrm.lead_scores follows the lead's).
SELECT s.external_id, s.score, s.percentile, s.reasons, s.scored_at,
       r.id AS run_id, r.model, r.created_at, r.backtest
FROM gcrm.lead_scores AS s
JOIN gcrm.score_runs AS r ON r.id = s.run_id
WHERE s.external_id = :external_id;

-- name: lead_scores
-- The scores of the leads in :ids (all when :ids is NULL).
SELECT external_id, score, percentile, reasons
FROM gcrm.lead_scores
WHERE CAST(:ids AS text[]) IS NULL OR external_id = ANY (CAST(:ids AS text[]));
