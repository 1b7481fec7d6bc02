-- Territory KPIs read from SQL rather than the cube.

-- name: top_customers
-- The :n customers with the most revenue in [:start, :end) in each area of :level.
WITH spend AS (
    SELECT c.area_codes ->> :level AS code, c.external_id, c.name, c.segment, c.status,
           sum(o.amount)::double precision AS revenue, count(*) AS orders
    FROM gcrm.orders AS o
    JOIN gcrm.customers AS c ON c.external_id = o.customer_external_id
    WHERE o.order_date >= :start AND o.order_date < :end
      AND c.area_codes ->> :level IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
)
SELECT code, rank, external_id, name, segment, status, revenue, orders
FROM (SELECT *, row_number() OVER (PARTITION BY code ORDER BY revenue DESC, external_id) AS rank
      FROM spend) AS ranked
WHERE rank <= :n
ORDER BY code, rank;
