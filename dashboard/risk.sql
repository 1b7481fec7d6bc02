-- The regional dashboard's customers at risk (dashboard.risk). Read through the view
-- gcrm.customers and the table gcrm.customer_scores, both under row-level security: a user
-- sees the scored customers of their scope only.

-- name: at_risk
-- Active scored customers (no churn date) in area :level/:code when given, ordered by the
-- column :by (:descending), at most :limit of them, each with the number of them all
-- (``total``). Names only when :names. ``area_code``: the customer's area at :show_level.
SELECT s.external_id AS id,
       CASE WHEN :names THEN c.name END AS name,
       c.segment,
       s.churn_risk,
       s.revenue_12m,
       s.churn_risk * coalesce(s.revenue_12m, 0) AS revenue_at_risk,
       s.expected_value_12m,
       coalesce(s.churn_reasons, '[]'::jsonb) AS reasons,
       c.area_codes ->> CAST(:show_level AS text) AS area_code,
       count(*) OVER () AS total
FROM gcrm.customer_scores s
JOIN gcrm.customers c ON c.external_id = s.external_id
WHERE s.churn_risk IS NOT NULL
  AND c.churn_date IS NULL
  AND (CAST(:level AS text) IS NULL
       OR c.area_codes ->> CAST(:level AS text) = CAST(:code AS text))
ORDER BY
    -- Numbers: negated for descending (NULLS LAST either way).
    CASE WHEN :descending THEN -1 ELSE 1 END * CASE CAST(:by AS text)
        WHEN 'churn_risk' THEN s.churn_risk
        WHEN 'revenue_12m' THEN s.revenue_12m
        WHEN 'revenue_at_risk' THEN s.churn_risk * coalesce(s.revenue_12m, 0)
        WHEN 'expected_value_12m' THEN s.expected_value_12m
    END NULLS LAST,
    -- Texts: one key for each direction.
    CASE WHEN :descending THEN CASE CAST(:by AS text)
        WHEN 'id' THEN s.external_id WHEN 'name' THEN CASE WHEN :names THEN c.name END WHEN 'segment' THEN c.segment
        WHEN 'area' THEN c.area_codes ->> CAST(:show_level AS text) END END DESC NULLS LAST,
    CASE WHEN NOT :descending THEN CASE CAST(:by AS text)
        WHEN 'id' THEN s.external_id WHEN 'name' THEN CASE WHEN :names THEN c.name END WHEN 'segment' THEN c.segment
        WHEN 'area' THEN c.area_codes ->> CAST(:show_level AS text) END END ASC NULLS LAST,
    s.churn_risk DESC,
    s.external_id
LIMIT :limit;
