-- Territory plans out: the customers of moved units (a plan diff's accounts).
-- Row-level security applies: a scoped user sees the customers (and orders) of their scope.

-- name: moved_accounts
-- The customers placed in units :codes of level :level, with their revenue of the 12 months
-- up to the latest order (the last day the data speaks of).
WITH last AS (
    SELECT max(order_date) AS day FROM gcrm.orders
)
SELECT c.external_id AS customer_id,
       c.name,
       c.area_codes ->> :level AS code,
       coalesce(sum(o.amount) FILTER (WHERE o.order_date > last.day - interval '12 months'), 0)
           ::float8 AS revenue_12m
FROM gcrm.customers c
CROSS JOIN last
LEFT JOIN gcrm.orders o ON o.customer_external_id = c.external_id
WHERE c.area_codes ->> :level = ANY(CAST(:codes AS text[]))
GROUP BY c.external_id, c.name, c.area_codes ->> :level
ORDER BY code, customer_id;
