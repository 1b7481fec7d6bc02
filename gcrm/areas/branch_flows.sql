-- Customer flows from origin areas to branches.

-- name: flows
-- Customers, orders and revenue per (origin area at :level, branch) over [:start, :stop);
-- orders of customers with no area at the level, or naming no branch, keep rows of their own.
SELECT c.area_codes ->> :level AS origin_code, a.name AS origin_name,
       o.branch_code, b.name AS branch_name,
       count(DISTINCT o.customer_external_id) AS customers,
       count(*) AS orders,
       sum(o.amount) AS revenue
FROM gcrm.orders AS o
JOIN gcrm.customers AS c ON c.external_id = o.customer_external_id
LEFT JOIN gcrm.areas AS a ON a.level = :level AND a.code = c.area_codes ->> :level
LEFT JOIN gcrm.branches AS b ON b.code = o.branch_code
WHERE (CAST(:start AS date) IS NULL OR o.order_date >= :start)
  AND (CAST(:stop AS date) IS NULL OR o.order_date < :stop)
GROUP BY 1, 2, 3, 4
ORDER BY 3, 1;
