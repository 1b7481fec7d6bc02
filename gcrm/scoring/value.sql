-- Customer value (gcrm.scoring.value): each customer's purchase history up to :as_of, as the
-- BG/NBD and gamma-gamma models read it, and what they spent after it (up to :until), which
-- the backtest compares with the predictions.

-- name: value_history
-- One row per customer signed up by :as_of: whether still a customer then (`active`), the
-- first and last day with an order, the number of days with orders (a day's orders are one
-- purchase), the mean amount of those days, revenue of the 12 months up to :as_of, and
-- revenue and orders after :as_of up to :until (0 without :until).
WITH days AS (
    SELECT o.customer_external_id AS external_id, o.order_date AS day,
           sum(o.amount)::float8 AS amount
    FROM gcrm.orders o
    WHERE o.order_date <= CAST(:as_of AS date)
    GROUP BY 1, 2
),
per AS (
    SELECT external_id, min(day) AS first_day, max(day) AS last_day, count(*) AS days,
           avg(amount) AS mean_amount,
           coalesce(sum(amount) FILTER (WHERE day > CAST(:as_of AS date) - 365), 0)
               AS revenue_12m,
           count(*) FILTER (WHERE day > CAST(:as_of AS date) - 365) AS days_12m
    FROM days
    GROUP BY 1
),
later AS (
    SELECT o.customer_external_id AS external_id, sum(o.amount)::float8 AS revenue_after,
           count(*) AS orders_after
    FROM gcrm.orders o
    WHERE o.order_date > CAST(:as_of AS date) AND o.order_date <= CAST(:until AS date)
    GROUP BY 1
)
SELECT c.external_id, c.segment, c.signup_date,
       (c.churn_date IS NULL OR c.churn_date > CAST(:as_of AS date)) AS active,
       p.first_day, p.last_day, coalesce(p.days, 0) AS days, p.mean_amount,
       coalesce(p.revenue_12m, 0)::float8 AS revenue_12m, coalesce(p.days_12m, 0) AS days_12m,
       coalesce(l.revenue_after, 0)::float8 AS revenue_after,
       coalesce(l.orders_after, 0) AS orders_after
FROM gcrm.customers c
LEFT JOIN per p USING (external_id)
LEFT JOIN later l USING (external_id)
WHERE c.signup_date <= CAST(:as_of AS date)
ORDER BY c.external_id;
