-- The integrator's read of customers (gcrm.api.customers), through gcrm.customers: row-level
-- security shows each user the customers of their scope only. PostgreSQL builds the JSON.
-- {customer} is the statement `customer` below; {levels} the statement `levels`.

-- name: levels
-- The area levels, coarsest first: every customer carries area_<level> for each.
SELECT ARRAY(SELECT level FROM gcrm.area_levels ORDER BY rank, level) AS keys;

-- name: customer
-- One customer p as a JSON object (lv.keys: the levels), with its category, the lead it was
-- won from, and its scores from gcrm.customer_scores (migration 0019, null where not
-- scored; the scores' own row-level security follows the customer's), its territory and rep
-- in the latest published plan (migration 0023, null when none is published or the customer
-- is in none of its territories). jsonb keeps float8 exactly.
jsonb_build_object(
    'id', p.external_id, 'external_id', p.external_id, 'name', p.name,
    'street', p.street, 'housenumber', p.housenumber, 'postcode', p.postcode, 'city', p.city,
    'address', nullif(concat_ws(', ', nullif(concat_ws(' ', p.street, p.housenumber), ''),
                                      nullif(concat_ws(' ', p.postcode, p.city), '')), ''),
    'segment', p.segment, 'category_group', p.category_group, 'category', p.category,
    'lead_external_id', p.lead_external_id, 'status', p.status,
    'geocode_precision', p.geocode_precision, 'geocode_score', p.geocode_score,
    'lon', ST_X(p.geom), 'lat', ST_Y(p.geom))
|| (SELECT jsonb_build_object(
        'churn_risk', s.churn_risk, 'churn_reasons', s.churn_reasons,
        'expected_value_12m', s.expected_value_12m, 'value_reasons', s.value_reasons)
    FROM (SELECT) AS one
    LEFT JOIN gcrm.customer_scores AS s ON s.external_id = p.external_id)
|| (SELECT jsonb_build_object('territory', t.name, 'rep', t.rep)
    FROM (SELECT) AS one
    LEFT JOIN gcrm.published_territories AS t
      ON t.level = (SELECT pt.level FROM gcrm.published_territories AS pt
                    JOIN gcrm.territory_publications AS tp ON tp.id = pt.publication_id
                    ORDER BY tp.published_at DESC, tp.id DESC LIMIT 1)
     AND t.code = p.area_codes ->> t.level)
|| coalesce((SELECT jsonb_object_agg('area_' || k, p.area_codes -> k)
             FROM unnest(lv.keys) AS k), '{}');

-- name: customer_page
-- One page by id of the customers whose area at :level is :code (every customer when
-- :level is null): :limit of them, and whether there are more (one row beyond is read). No
-- total: counting a scope's customers under row-level security costs seconds at a million.
WITH lv AS ({levels}),
chosen AS NOT MATERIALIZED (
    SELECT c.* FROM gcrm.customers AS c
    WHERE CAST(:level AS text) IS NULL
       OR c.area_codes ->> CAST(:level AS text) = CAST(:code AS text)
),
fetched AS (
    SELECT * FROM chosen ORDER BY external_id LIMIT :limit + 1 OFFSET :offset
),
page AS (
    SELECT * FROM fetched ORDER BY external_id LIMIT :limit
)
SELECT (SELECT count(*) FROM fetched) > :limit AS more, count(p.external_id) AS n,
       coalesce(json_agg({customer} ORDER BY p.external_id), '[]')::text AS customers
FROM page AS p, lv;

-- name: customer_page_in_scope
-- The same page for a user limited to some areas. Row-level security checks a customer
-- record through a sub-query on its enrichment, row by row, so walking gcrm.customers in id
-- order past the end of a small scope reads the whole table (2 s at a million); the
-- enrichment's own policy is a plain condition on its row. So the page's ids come from
-- gcrm.customer_enrichment (under its policy: the same scope), and only they are read through
-- gcrm.customers (under the records' policy as well). A customer of a scope always has an
-- enrichment row: the records' policy asks for one.
WITH lv AS ({levels}),
ids AS (
    SELECT e.external_id FROM gcrm.customer_enrichment AS e
    WHERE CAST(:level AS text) IS NULL
       OR e.area_codes ->> CAST(:level AS text) = CAST(:code AS text)
    ORDER BY e.external_id LIMIT :limit + 1 OFFSET :offset
),
page AS (
    SELECT c.* FROM gcrm.customers AS c
    WHERE c.external_id IN (SELECT external_id FROM ids ORDER BY external_id LIMIT :limit)
)
SELECT (SELECT count(*) FROM ids) > :limit AS more, count(p.external_id) AS n,
       coalesce(json_agg({customer} ORDER BY p.external_id), '[]')::text AS customers
FROM page AS p, lv;

-- name: customer_by_id
SELECT ({customer})::text AS customer
FROM gcrm.customers AS p, ({levels}) AS lv
WHERE p.external_id = :id;
