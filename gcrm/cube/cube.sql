-- The queries the cube is built from; every level of every area in one pass per measure.

-- name: areas
SELECT a.level, a.code, a.name, l.parent_level, a.parent_code, l.rank
FROM gcrm.areas a JOIN gcrm.area_levels l ON l.level = a.level
ORDER BY l.rank, a.level, a.code;

-- name: levels
-- Every level of the region, also those without an area in a user's scope.
SELECT level, parent_level, rank FROM gcrm.area_levels ORDER BY rank, level;

-- Each one groups by the customer's (or lead's) whole set of area codes first, then spreads
-- those few groups over their levels: expanding every order into one row per level before
-- grouping took 29 s for 15 million orders, grouping first 18 s (same rows).
--
-- The orders query also returns, as rows without a level, what its cells are made of (the
-- fingerprints of gcrm.cube.refresh): sums over the orders it reads that order_fingerprints
-- computes again from the orders alone, so a refresh can tell what changed without the
-- join. (The same sums inside the signups query took 5 s more for a million customers than
-- customer_fingerprints on its own, 1.8 s: the build reads that one.)

-- name: orders
-- Revenue and order counts per area (every level), month and segment, and the same per
-- channel and per branch (one pass over the orders: grouping by channel and branch too in
-- `per` costs little beside the join); :months (first days) limits it to those months (an
-- incremental refresh), NULL: every month. `by` says which cells a row is: '' (area, month,
-- segment), 'channel' or 'branch' (the same with that one more); an order without a channel
-- counts under 'unknown', one without a branch under 'none', so each sums to the first.
-- The rows without a level are the months' fingerprints (as order_fingerprints).
WITH per AS (
    SELECT c.area_codes, c.segment, date_trunc('month', o.order_date)::date AS month,
           coalesce(nullif(o.channel, ''), 'unknown') AS channel,
           coalesce(o.branch_code, 'none') AS branch,
           sum(o.amount) AS amount, count(*) AS orders,
           sum(hashtext(concat_ws('|', o.customer_external_id, coalesce(o.channel, ''),
                                  coalesce(o.branch_code, '')))::bigint
               * (o.amount * 100)::bigint) AS mix
    FROM gcrm.orders o
    JOIN gcrm.customers c ON c.external_id = o.customer_external_id
    WHERE CAST(:months AS date[]) IS NULL
       OR (o.order_date >= (SELECT min(m) FROM unnest(CAST(:months AS date[])) AS m)
           AND date_trunc('month', o.order_date)::date = ANY(CAST(:months AS date[])))
    GROUP BY 1, 2, 3, 4, 5
)
SELECT e.key AS level, e.value AS code, p.month, p.segment,
       CASE GROUPING(p.channel, p.branch) WHEN 1 THEN 'channel' WHEN 2 THEN 'branch' ELSE ''
       END AS by,
       coalesce(p.channel, p.branch) AS member,
       sum(p.amount)::float8 AS revenue, sum(p.orders)::bigint AS orders, NULL AS fingerprint
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY GROUPING SETS ((e.key, e.value, p.month, p.segment),
                        (e.key, e.value, p.month, p.segment, p.channel),
                        (e.key, e.value, p.month, p.segment, p.branch))
UNION ALL
SELECT NULL, NULL, month, NULL, NULL, NULL, NULL, NULL,
       sum(orders)::text || ':' || sum(amount)::text || ':' || sum(mix)::text
FROM per
GROUP BY month;

-- name: sort_setting
-- The orders query is run with sorting off (and the setting put back after it, in the same
-- transaction): grouping by channel and branch too, the planner guesses millions of groups
-- of (area codes, segment, month, channel, branch) where there are tens of thousands, and
-- sorts the 15 million joined orders by their jsonb area codes instead of hashing them:
-- 147 s against 57 s hashed on the million-customer benchmark (36-42 s before the split).
SELECT current_setting('enable_sort');

-- name: set_sort
SELECT set_config('enable_sort', :value, true);

-- name: signups
WITH per AS (
    SELECT c.area_codes, c.segment, date_trunc('month', c.signup_date)::date AS month,
           count(*) AS n
    FROM gcrm.customers c
    GROUP BY 1, 2, 3
)
SELECT e.key AS level, e.value AS code, p.month, p.segment, sum(p.n)::bigint AS n
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY 1, 2, 3, 4;

-- name: churns
WITH per AS (
    SELECT c.area_codes, c.segment, date_trunc('month', c.churn_date)::date AS month,
           count(*) AS n
    FROM gcrm.customers c
    WHERE c.churn_date IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT e.key AS level, e.value AS code, p.month, p.segment, sum(p.n)::bigint AS n
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY 1, 2, 3, 4;

-- name: precision
WITH per AS (
    SELECT c.area_codes, c.geocode_precision AS precision, count(*) AS n
    FROM gcrm.customers c
    GROUP BY 1, 2
)
SELECT e.key AS level, e.value AS code, p.precision, sum(p.n)::bigint AS n
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY 1, 2, 3;

-- name: leads
WITH per AS (
    SELECT l.area_codes, count(*) AS n FROM gcrm.leads l GROUP BY 1
)
SELECT e.key AS level, e.value AS code, sum(p.n)::bigint AS n
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY 1, 2;

-- name: stats
SELECT level, code, measure, value FROM gcrm.area_stats
WHERE measure IN ('population', 'households');

-- name: order_range
SELECT min(order_date), max(order_date) FROM gcrm.orders;

-- name: customer_range
SELECT min(signup_date), max(greatest(signup_date, churn_date)) FROM gcrm.customers;

-- name: segments
SELECT DISTINCT segment FROM gcrm.customers ORDER BY 1;

-- name: branches
-- The branches orders can name (gcrm.orders.branch_code references them), in code order.
SELECT code, name FROM gcrm.branches ORDER BY code;

-- name: order_fingerprints
-- Per month of orders, the fingerprint the orders query returns with its cells, from the
-- orders alone (no join): it changes when an order is added or removed, or changes amount,
-- month, customer, channel or branch.
SELECT to_char(date_trunc('month', o.order_date), 'YYYY-MM') AS month,
       count(*)::text || ':' || sum(o.amount)::text || ':'
           || sum(hashtext(concat_ws('|', o.customer_external_id, coalesce(o.channel, ''),
                                  coalesce(o.branch_code, '')))::bigint
                  * (o.amount * 100)::bigint)::text
           AS fingerprint
FROM gcrm.orders o
GROUP BY 1;

-- name: customer_fingerprints
-- The fingerprints of all customers (any change: a new one, another segment, other area
-- codes after gcrm enrich, dates, precision) and of all leads.
SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(concat_ws('|', c.external_id,
           c.segment, c.area_codes, c.signup_date, c.churn_date, c.geocode_precision), 0)),
           0)::text AS customers,
       (SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(concat_ws('|',
                   l.external_id, l.area_codes), 0)), 0)::text FROM gcrm.leads l) AS leads
FROM gcrm.customers c;

-- name: scores
-- The customers' latest scores (gcrm.customer_scores) per area and segment, as of their
-- runs, not by month: expected churns in the next 6 months (the sum of churn risks), revenue
-- at risk (churn risk x the customer's revenue of the 12 months before the scoring) and value
-- at stake (the sum of expected revenue of the next 12 months); how many customers carry each.
WITH per AS (
    SELECT c.area_codes, c.segment,
           sum(s.churn_risk) AS expected_churn,
           sum(s.churn_risk * s.revenue_12m) AS revenue_at_risk,
           sum(s.expected_value_12m) AS value_at_stake,
           count(s.churn_risk) AS churn_scored, count(s.expected_value_12m) AS value_scored
    FROM gcrm.customer_scores s
    JOIN gcrm.customers c ON c.external_id = s.external_id
    GROUP BY 1, 2
)
SELECT e.key AS level, e.value AS code, p.segment,
       sum(p.expected_churn)::float8 AS expected_churn,
       sum(p.revenue_at_risk)::float8 AS revenue_at_risk,
       sum(p.value_at_stake)::float8 AS value_at_stake,
       sum(p.churn_scored)::bigint AS churn_scored, sum(p.value_scored)::bigint AS value_scored
FROM per p CROSS JOIN LATERAL jsonb_each_text(p.area_codes) e
GROUP BY 1, 2, 3;

-- name: score_fingerprint
-- Changes when any stored score changes (gcrm.cube.refresh recomputes the score measures).
SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(concat_ws('|', s.external_id,
           s.churn_run_id, s.churn_risk, s.revenue_12m, s.value_run_id,
           s.expected_value_12m), 0)), 0)::text
FROM gcrm.customer_scores s;
