-- The Prospecting page's lists (dashboard.prospecting.data). Read through the view
-- gcrm.leads, so row-level security decides what the caller sees.

-- name: categories
-- The leads' categories, the commonest first (the filter's options).
SELECT category, count(*) AS leads
FROM gcrm.leads
WHERE category IS NOT NULL AND category <> ''
GROUP BY category
ORDER BY count(*) DESC, category
LIMIT 300;
