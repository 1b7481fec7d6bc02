-- The one statement behind every lead search (gcrm.leads.query): radius, drive time and
-- within a polygon or an area share their filters, columns, customer test, score and order.
-- Leads are read through the view gcrm.leads (row-level security decides what the caller
-- sees) as `l`, their latest score from gcrm.lead_scores as `s`.

-- name: filters
-- Located leads matching the filters, each optional (NULL: no filter): :categories and
-- :zoning (text[]), :area (a jsonb object, level to code, the lead's area codes must
-- contain), :polygon (WKB, EPSG:4326: the lead lies inside it, not on its boundary, as
-- shapely's `contains`), :box (xmin, ymin, xmax, ymax in degrees), :min_score (the lead's
-- score at least this; an unscored lead fails it).
l.geom IS NOT NULL
  AND (CAST(:categories AS text[]) IS NULL OR l.category = ANY (CAST(:categories AS text[])))
  AND (CAST(:zoning AS text[]) IS NULL OR l.zoning_class = ANY (CAST(:zoning AS text[])))
  AND (CAST(:area AS jsonb) IS NULL OR l.area_codes @> CAST(:area AS jsonb))
  AND (CAST(:polygon AS bytea) IS NULL
       OR ST_Contains(ST_GeomFromWKB(CAST(:polygon AS bytea), 4326), l.geom))
  AND (CAST(:box AS float8[]) IS NULL
       OR l.geom && ST_MakeEnvelope((CAST(:box AS float8[]))[1], (CAST(:box AS float8[]))[2],
                                    (CAST(:box AS float8[]))[3], (CAST(:box AS float8[]))[4],
                                    4326))
  AND (CAST(:min_score AS float8) IS NULL OR s.score >= CAST(:min_score AS float8))

-- name: found
-- The common part, filled in by gcrm.leads.query.statement: src, a statement giving the
-- candidates' external_id and distance_m or drive_time_s (or none: the view is read alone);
-- the distance and drive time expressions; the lead columns (l.name, ...); the ORDER BY
-- list. A lead is "already a customer" as gcrm.customer_lead_ids (migration 0021) says;
-- :customers is exclude, only or include.
WITH src AS ({src}),
cand AS (
    SELECT {lead_columns}, l.area_codes, l.geom,
           CAST({distance} AS float8) AS distance_m, CAST({drive} AS float8) AS drive_time_s,
           s.score, CAST(round(CAST(s.percentile AS numeric), 2) AS float8) AS percentile,
           s.reasons AS reason_objects
    FROM {from}
    LEFT JOIN gcrm.lead_scores AS s ON s.external_id = l.external_id
    WHERE {filters}
),
ordered AS (
    SELECT c.*, row_number() OVER (ORDER BY {order}) AS pos FROM cand AS c
),
customer AS (
    -- The customer test on the first :check candidates in order (NULL: all) in one call;
    -- when they leave fewer than :limit and more candidates wait, the caller asks again with
    -- a larger :check (see `complete` below).
    SELECT c.external_id FROM gcrm.customer_lead_ids(
        CASE WHEN CAST(:customers AS text) = 'include' THEN NULL
             ELSE ARRAY(SELECT external_id FROM ordered
                        WHERE pos <= coalesce(CAST(:check AS bigint), pos)) END) AS c
),
kept AS (
    SELECT o.*, row_number() OVER (ORDER BY o.pos) AS rank
    FROM ordered AS o
    WHERE CAST(:customers AS text) = 'include'
       OR (o.pos <= coalesce(CAST(:check AS bigint), o.pos)
           AND (o.external_id IN (SELECT external_id FROM customer))
               = (CAST(:customers AS text) = 'only'))
    ORDER BY o.pos
    LIMIT :limit
),
shaped AS (
    SELECT k.*,
           CASE WHEN k.score IS NULL THEN NULL
                ELSE ARRAY(SELECT x ->> 'text' FROM jsonb_array_elements(k.reason_objects) AS x)
           END AS reasons
    FROM kept AS k
)

-- name: rows
-- Rows for a GeoDataFrame; `fetched` is how many candidates src gave (a radius search asks
-- again for more when filters left too few).
{found}
SELECT rank, {columns}, area_codes, distance_m, {drive_column} score, percentile, reasons,
       (SELECT count(*) FROM src) AS fetched,
       (CAST(:check AS bigint) IS NULL OR (SELECT count(*) FROM cand) <= :check) AS complete,
       ST_AsBinary(geom) AS geom
FROM shaped
ORDER BY rank;

-- name: geojson
-- The same rows as one GeoJSON FeatureCollection, built here: properties rank, the lead
-- columns, distance_m, (drive_time_s,) score, percentile, reasons and area_<level> for every
-- level (coarsest first, null where a lead has none) and for any other key a lead's area
-- codes carry (sorted); a foreign member `origin` from :lon, :lat, :origin_label and
-- :origin_precision (null without an origin). Properties are jsonb (float8 goes in exactly).
{found},
area_keys AS (
    SELECT ARRAY(SELECT level FROM gcrm.area_levels ORDER BY rank, level)
           || ARRAY(SELECT DISTINCT k COLLATE "C"
                    FROM shaped AS r, jsonb_object_keys(r.area_codes) AS k
                    WHERE k NOT IN (SELECT level FROM gcrm.area_levels)
                    ORDER BY 1) AS keys
)
SELECT count(r.rank) AS features, (SELECT count(*) FROM src) AS fetched,
       (CAST(:check AS bigint) IS NULL OR (SELECT count(*) FROM cand) <= :check) AS complete,
       json_build_object(
           'type', 'FeatureCollection',
           'features', coalesce(json_agg(json_build_object(
               'type', 'Feature',
               'properties', jsonb_build_object({properties})
                   || jsonb_build_object('score', r.score, 'percentile', r.percentile,
                                         'reasons', to_jsonb(r.reasons))
                   || coalesce((SELECT jsonb_object_agg('area_' || k, r.area_codes -> k)
                                FROM unnest(a.keys) AS k), '{{}}'),
               'geometry', json_build_object(
                   'type', 'Point',
                   'coordinates', json_build_array(ST_X(r.geom), ST_Y(r.geom)))
           ) ORDER BY r.rank), '[]'),
           'origin', CASE WHEN CAST(:lon AS double precision) IS NOT NULL THEN json_build_object(
               'lon', CAST(:lon AS double precision), 'lat', CAST(:lat AS double precision),
               'label', CAST(:origin_label AS text),
               'precision', CAST(:origin_precision AS text)) END
       )::text AS body
FROM shaped AS r, area_keys AS a;

-- name: src_none
SELECT NULL::text AS external_id WHERE false

-- name: src_nearest
-- The leads within :radius_m of (:lon, :lat), at most :fetch, nearest first, under the
-- caller's scope and on the spatial index (gcrm.nearest_lead_ids, migration 0010).
SELECT n.external_id, n.distance_m
FROM gcrm.nearest_lead_ids(:lon, :lat, :radius_m, :fetch,
                           CAST(:categories AS text[]), CAST(:zoning AS text[])) AS n

-- name: src_reached
-- The leads at the road nodes a drive-time search reached (:nodes, their seconds :node_s),
-- each timed as its node's seconds plus its stored access leg, within :bound_s; the stored
-- rows of the graph :built_at only (gcrm.lead_road_access, migration 0021).
SELECT a.external_id, r.node_s + a.access_s AS drive_time_s
FROM unnest(CAST(:nodes AS int4[]), CAST(:node_s AS float8[])) AS r (node_id, node_s)
JOIN gcrm.lead_road_access AS a
  ON a.node_id = r.node_id AND a.graph_built_at = CAST(:built_at AS timestamptz)
WHERE r.node_s + a.access_s <= CAST(:bound_s AS float8)

-- name: src_scored
-- A drive-time search in score order, in rounds (gcrm.leads.filtered): the reached leads
-- (road nodes :nodes, their seconds :node_s, the stored legs of graph :built_at) whose score
-- is at least :score_bound (NULL: none of them), walked down the index on
-- gcrm.lead_scores (score DESC) so a round reads about as many leads as it keeps; and, for
-- the unscored leads that follow every scored one (score DESC NULLS LAST, then drive
-- time), those at the quickest nodes :time_nodes (their seconds :time_node_s) within
-- :bound_s, as src_reached reads them.
SELECT a.external_id, r.node_s + a.access_s AS drive_time_s
FROM gcrm.lead_scores AS sc
JOIN gcrm.lead_road_access AS a
  ON a.external_id = sc.external_id AND a.graph_built_at = CAST(:built_at AS timestamptz)
JOIN unnest(CAST(:nodes AS int4[]), CAST(:node_s AS float8[])) AS r (node_id, node_s)
  ON r.node_id = a.node_id
WHERE sc.score >= CAST(:score_bound AS float8)
  AND r.node_s + a.access_s <= CAST(:limit_s AS float8)
UNION ALL
SELECT a.external_id, r.node_s + a.access_s AS drive_time_s
FROM unnest(CAST(:time_nodes AS int4[]), CAST(:time_node_s AS float8[])) AS r (node_id, node_s)
JOIN gcrm.lead_road_access AS a
  ON a.node_id = r.node_id AND a.graph_built_at = CAST(:built_at AS timestamptz)
WHERE r.node_s + a.access_s <= CAST(:bound_s AS float8)
  AND NOT EXISTS (SELECT FROM gcrm.lead_scores AS sc WHERE sc.external_id = a.external_id)

-- name: src_timed
-- Leads whose drive times were computed in Python (:ids, :times).
SELECT t.external_id, t.drive_time_s
FROM unnest(CAST(:ids AS text[]), CAST(:times AS float8[])) AS t (external_id, drive_time_s)

-- name: distance_from_origin
ST_Distance(l.geom::geography,
            ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)::geography)
