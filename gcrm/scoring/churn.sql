-- Churn risk (gcrm.scoring.churn): what the model reads of the customers and their orders.

-- name: churn_features
-- One row per customer active at the end of :as_of (signed up by then, not churned by then):
-- order history up to :as_of (recency, frequency, value, trend: the last 6 months against the
-- 6 before), tenure, segment, drive time to the nearest branch and area codes; `churned`:
-- churned after :as_of and no later than :label_end (NULL :label_end: false).
WITH base AS (
    SELECT c.external_id, c.segment, c.signup_date, c.churn_date, c.drive_time_s,
           c.branch_reached, c.area_codes
    FROM gcrm.customers c
    WHERE c.signup_date <= CAST(:as_of AS date)
      AND (c.churn_date IS NULL OR c.churn_date > CAST(:as_of AS date))
),
history AS (
    SELECT o.customer_external_id AS external_id,
           max(o.order_date) AS last_order,
           count(*) AS orders_total,
           avg(o.amount)::float8 AS mean_amount,
           count(*) FILTER (WHERE o.order_date > CAST(:as_of AS date) - 365) AS orders_12m,
           count(*) FILTER (WHERE o.order_date > CAST(:as_of AS date) - 182) AS orders_6m,
           count(*) FILTER (WHERE o.order_date > CAST(:as_of AS date) - 365
                              AND o.order_date <= CAST(:as_of AS date) - 182) AS orders_prev_6m,
           coalesce(sum(o.amount) FILTER (WHERE o.order_date > CAST(:as_of AS date) - 365), 0)
               ::float8 AS revenue_12m
    FROM gcrm.orders o
    JOIN base b ON b.external_id = o.customer_external_id
    WHERE o.order_date <= CAST(:as_of AS date)
    GROUP BY 1
)
SELECT b.external_id, b.segment, b.area_codes, b.branch_reached,
       (CAST(:as_of AS date) - b.signup_date) AS tenure_days,
       (CAST(:as_of AS date) - coalesce(h.last_order, b.signup_date)) AS recency_days,
       coalesce(h.orders_total, 0) AS orders_total,
       coalesce(h.orders_12m, 0) AS orders_12m,
       coalesce(h.orders_6m, 0) AS orders_6m,
       coalesce(h.orders_prev_6m, 0) AS orders_prev_6m,
       coalesce(h.revenue_12m, 0) AS revenue_12m,
       h.mean_amount,
       b.drive_time_s::float8 AS drive_time_s,
       (b.churn_date IS NOT NULL AND b.churn_date <= CAST(:label_end AS date)) IS TRUE
           AS churned
FROM base b LEFT JOIN history h USING (external_id)
ORDER BY b.external_id;

-- name: top_level
-- The coarsest area level (rank 1 first): the churn model's area feature.
SELECT level FROM gcrm.area_levels ORDER BY rank, level LIMIT 1;
