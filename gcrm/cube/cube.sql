-- The queries the cube is built from; every level of every area in one pass per measure.

-- name: areas
SELECT a.level, a.code, a.name, l.parent_level, a.parent_code, l.rank
FROM gcrm.areas a JOIN gcrm.area_levels l ON l.level = a.level
ORDER BY l.rank, a.level, a.code;

-- name: levels
-- Every level of the region, also those without an area in a user's scope.
SELECT level, parent_level, rank FROM gcrm.area_levels ORDER BY rank, level;

-- name: orders
-- Revenue and order counts per area (every level), month and segment.
SELECT e.key AS level, e.value AS code, date_trunc('month', o.order_date)::date AS month,
       c.segment, sum(o.amount)::float8 AS revenue, count(*) AS orders
FROM gcrm.orders o
JOIN gcrm.customers c ON c.external_id = o.customer_external_id
CROSS JOIN LATERAL jsonb_each_text(c.area_codes) e
GROUP BY 1, 2, 3, 4;

-- name: signups
SELECT e.key AS level, e.value AS code, date_trunc('month', c.signup_date)::date AS month,
       c.segment, count(*) AS n
FROM gcrm.customers c CROSS JOIN LATERAL jsonb_each_text(c.area_codes) e
GROUP BY 1, 2, 3, 4;

-- name: churns
SELECT e.key AS level, e.value AS code, date_trunc('month', c.churn_date)::date AS month,
       c.segment, count(*) AS n
FROM gcrm.customers c CROSS JOIN LATERAL jsonb_each_text(c.area_codes) e
WHERE c.churn_date IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- name: precision
SELECT e.key AS level, e.value AS code, c.geocode_precision AS precision, count(*) AS n
FROM gcrm.customers c CROSS JOIN LATERAL jsonb_each_text(c.area_codes) e
GROUP BY 1, 2, 3;

-- name: leads
SELECT e.key AS level, e.value AS code, count(*) AS n
FROM gcrm.leads l CROSS JOIN LATERAL jsonb_each_text(l.area_codes) e
GROUP BY 1, 2;

-- name: stats
SELECT level, code, measure, value FROM gcrm.area_stats
WHERE measure IN ('population', 'households');

-- name: order_range
SELECT min(order_date), max(order_date) FROM gcrm.orders;

-- name: customer_range
SELECT min(signup_date), max(greatest(signup_date, churn_date)) FROM gcrm.customers;

-- name: segments
SELECT DISTINCT segment FROM gcrm.customers ORDER BY 1
