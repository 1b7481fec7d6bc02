-- Territory design: each unit's (area's) weights, from the stored customers, orders and leads.
-- Row-level security applies: a scoped user designs with the customers they may read.

-- name: unit_weights
WITH customer_units AS (
    SELECT c.area_codes ->> :level AS code,
           count(*)::float8 AS customers,
           (count(*) FILTER (WHERE c.churn_date IS NULL OR c.churn_date > current_date))::float8
               AS active
    FROM gcrm.customers c
    WHERE c.area_codes ->> :level IS NOT NULL
    GROUP BY 1
), revenue_units AS (
    SELECT c.area_codes ->> :level AS code, sum(o.amount)::float8 AS revenue,
           count(*)::float8 AS orders
    FROM gcrm.orders o
    JOIN gcrm.customers c ON c.external_id = o.customer_external_id
    WHERE c.area_codes ->> :level IS NOT NULL
    GROUP BY 1
), lead_units AS (
    SELECT l.area_codes ->> :level AS code, count(*)::float8 AS leads
    FROM gcrm.leads l
    WHERE l.area_codes ->> :level IS NOT NULL
    GROUP BY 1
)
SELECT a.code,
       coalesce(cu.customers, 0) AS customers,
       coalesce(cu.active, 0) AS active,
       coalesce(ru.revenue, 0) AS revenue,
       coalesce(ru.orders, 0) AS orders,
       coalesce(lu.leads, 0) AS leads
FROM gcrm.areas a
LEFT JOIN customer_units cu ON cu.code = a.code
LEFT JOIN revenue_units ru ON ru.code = a.code
LEFT JOIN lead_units lu ON lu.code = a.code
WHERE a.level = :level
ORDER BY a.code;
