-- Campaigns (gcrm.campaigns): selection, members, export, results. Customers and leads are
-- read through the views gcrm.customers and gcrm.leads, members and responses through their
-- tables: row-level security decides what the caller sees (migrations 0006, 0020).

-- name: select_customers
-- Customers matching the criteria, each optional (NULL: no filter): areas (jsonb[]: the
-- customer's area codes contain one of them), segments, statuses, categories (text[],
-- lower case), min_score. Python fills in the score expression, its join and the category
-- filter (empty where customers have no category).
SELECT c.external_id, CAST(c.area_codes AS text) AS area_codes, {score} AS score
FROM gcrm.customers c
{score_join}
WHERE (CAST(:areas AS jsonb[]) IS NULL OR c.area_codes @> ANY (CAST(:areas AS jsonb[])))
  AND (CAST(:segments AS text[]) IS NULL OR lower(c.segment) = ANY (CAST(:segments AS text[])))
  AND (CAST(:statuses AS text[]) IS NULL OR lower(c.status) = ANY (CAST(:statuses AS text[])))
  {category}
  AND (CAST(:min_score AS float8) IS NULL OR {score} >= CAST(:min_score AS float8))
ORDER BY c.external_id

-- name: select_leads
-- Leads matching the criteria (as select_customers: areas, categories, min_score; the
-- score is the lead score of gcrm.lead_scores, 0018).
SELECT l.external_id, CAST(l.area_codes AS text) AS area_codes, s.score AS score
FROM gcrm.leads l
LEFT JOIN gcrm.lead_scores s ON s.external_id = l.external_id
WHERE (CAST(:areas AS jsonb[]) IS NULL OR l.area_codes @> ANY (CAST(:areas AS jsonb[])))
  AND (CAST(:categories AS text[]) IS NULL
       OR lower(l.category) = ANY (CAST(:categories AS text[])))
  AND (CAST(:min_score AS float8) IS NULL OR s.score >= CAST(:min_score AS float8))
ORDER BY l.external_id

-- name: column_exists
-- Whether a table or view of schema gcrm has a column (tables of later migrations).
SELECT EXISTS (
    SELECT FROM information_schema.columns
    WHERE table_schema = 'gcrm' AND table_name = :table AND column_name = :column)

-- name: insert_campaign
INSERT INTO gcrm.campaigns
    (name, kind, criteria, size_cap, control_share, seed, starts_on, created_by)
VALUES (:name, :kind, CAST(:criteria AS jsonb), :size_cap, :control_share, :seed,
        coalesce(CAST(:starts_on AS date), current_date), :created_by)
RETURNING id

-- name: campaign
-- One campaign by id or name, with its members by group as the caller may see them.
SELECT c.id, c.name, c.kind, c.criteria, c.size_cap, c.control_share, c.seed, c.starts_on,
       c.status, c.created_by, c.created_at,
       (SELECT count(*) FROM gcrm.campaign_members m
        WHERE m.campaign_id = c.id AND m.member_group = 'target') AS targets,
       (SELECT count(*) FROM gcrm.campaign_members m
        WHERE m.campaign_id = c.id AND m.member_group = 'control') AS controls,
       (SELECT count(DISTINCT r.external_id) FROM gcrm.campaign_responses r
        WHERE r.campaign_id = c.id) AS responders
FROM gcrm.campaigns c
WHERE c.id = CAST(:id AS integer) OR c.name = :name

-- name: campaigns
-- Every campaign, newest first, with its members by group as the caller may see them.
SELECT c.id, c.name, c.kind, c.status, c.starts_on, c.size_cap, c.control_share, c.seed,
       c.created_by, c.created_at,
       count(*) FILTER (WHERE m.member_group = 'target') AS targets,
       count(*) FILTER (WHERE m.member_group = 'control') AS controls
FROM gcrm.campaigns c
LEFT JOIN gcrm.campaign_members m ON m.campaign_id = c.id
GROUP BY c.id
ORDER BY c.created_at DESC, c.id DESC

-- name: campaign_names
SELECT name FROM gcrm.campaigns ORDER BY name

-- name: export_customers
-- The target group's contacts, in rank order.
SELECT m.rank, c.external_id, c.name, c.email, c.phone, c.street, c.housenumber, c.postcode,
       c.city
FROM gcrm.campaign_members m
JOIN gcrm.customers c ON c.external_id = m.external_id
WHERE m.campaign_id = :campaign_id AND m.member_group = 'target'
ORDER BY m.rank

-- name: export_leads
-- The target group's contacts, in rank order.
SELECT m.rank, l.external_id, l.name, l.phone, l.website, l.street, l.housenumber,
       l.postcode, l.city
FROM gcrm.campaign_members m
JOIN gcrm.leads l ON l.external_id = m.external_id
WHERE m.campaign_id = :campaign_id AND m.member_group = 'target'
ORDER BY m.rank

-- name: mark_exported
UPDATE gcrm.campaigns SET status = 'exported' WHERE id = :campaign_id AND status <> 'exported'

-- name: members_of
-- Which of the ids (text[]) are members of the campaign.
SELECT external_id FROM gcrm.campaign_members
WHERE campaign_id = :campaign_id AND external_id = ANY (CAST(:ids AS text[]))

-- name: orders_since
-- Whether any order is dated on or after the campaign's start (revenue can be compared).
SELECT EXISTS (SELECT FROM gcrm.orders WHERE order_date >= :starts_on)

-- name: results
-- Members, responders and revenue since the start per area of the level and group, and per
-- group over all areas (overall). outcomes (text[]) keeps responses of those outcomes
-- (NULL: every outcome); with_orders adds the members' orders since starts_on.
WITH m AS (
    SELECT external_id, member_group, area_codes ->> :level AS code
    FROM gcrm.campaign_members
    WHERE campaign_id = :campaign_id
), r AS (
    SELECT DISTINCT external_id
    FROM gcrm.campaign_responses
    WHERE campaign_id = :campaign_id
      AND (CAST(:outcomes AS text[]) IS NULL OR outcome = ANY (CAST(:outcomes AS text[])))
), o AS (
    SELECT customer_external_id AS external_id, sum(amount) AS revenue
    FROM gcrm.orders
    WHERE CAST(:with_orders AS boolean) AND order_date >= :starts_on
      AND customer_external_id IN (SELECT external_id FROM m)
    GROUP BY customer_external_id
)
SELECT GROUPING(m.code) = 1 AS overall, m.code, m.member_group,
       count(*) AS members, count(r.external_id) AS responders,
       CAST(coalesce(sum(o.revenue), 0) AS float8) AS revenue
FROM m
LEFT JOIN r USING (external_id)
LEFT JOIN o USING (external_id)
GROUP BY GROUPING SETS ((m.code, m.member_group), (m.member_group))

-- name: area_names
SELECT code, name FROM gcrm.areas WHERE level = :level
