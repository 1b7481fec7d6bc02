-- Leads by drive time and inside a polygon or an area (gcrm.leads.find_leads_by_drive_time,
-- gcrm.leads.find_leads_within). {columns} are the lead columns of
-- gcrm.leads.search.LEAD_COLUMNS; {filters} is the fragment `filters` below. Leads are read
-- through the view gcrm.leads, so row-level security decides what the caller sees.

-- name: filters
-- Located leads matching the filters, each optional (NULL: no filter): :categories and
-- :zoning (text[]), :area (a jsonb object, level to code, the lead's area codes must
-- contain), :polygon (WKB, EPSG:4326: the lead lies inside it, not on its boundary, as
-- shapely's `contains`), :box (xmin, ymin, xmax, ymax in degrees: the bound of a drive-time
-- search), :ids (text[]: only these leads).
geom IS NOT NULL
  AND (CAST(:categories AS text[]) IS NULL OR category = ANY (CAST(:categories AS text[])))
  AND (CAST(:zoning AS text[]) IS NULL OR zoning_class = ANY (CAST(:zoning AS text[])))
  AND (CAST(:area AS jsonb) IS NULL OR area_codes @> CAST(:area AS jsonb))
  AND (CAST(:polygon AS bytea) IS NULL
       OR ST_Contains(ST_GeomFromWKB(CAST(:polygon AS bytea), 4326), geom))
  AND (CAST(:box AS float8[]) IS NULL
       OR geom && ST_MakeEnvelope((CAST(:box AS float8[]))[1], (CAST(:box AS float8[]))[2],
                                  (CAST(:box AS float8[]))[3], (CAST(:box AS float8[]))[4],
                                  4326))
  AND (CAST(:ids AS text[]) IS NULL OR external_id = ANY (CAST(:ids AS text[])))

-- name: filtered
-- The leads matching the filters, ordered by external_id so results are reproducible, at most
-- :limit. distance_m is geodesic from (:lon, :lat) when both are given.
SELECT {columns}, area_codes,
       CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
            ELSE ST_Distance(geom::geography,
                             ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)),
                                        4326)::geography)
       END AS distance_m,
       ST_AsBinary(geom) AS geom
FROM gcrm.leads
WHERE {filters}
ORDER BY external_id
LIMIT :limit;

-- name: candidates
-- Only id and position of the leads matching the filters: the drive-time search reads every
-- lead in its box, times them in Python and then reads the whole rows of the few it keeps.
SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.leads
WHERE {filters};

-- name: area_exists
SELECT EXISTS (SELECT FROM gcrm.areas WHERE level = :level AND code = :code);

-- name: some_area_codes
-- A few codes of one level the caller can see, for an error message.
SELECT code FROM gcrm.areas WHERE level = :level ORDER BY code LIMIT 6;

-- name: has_roads
SELECT EXISTS (SELECT FROM gcrm.roads);
