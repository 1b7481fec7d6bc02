-- Nearby leads, one indexed query. {lead_columns} ("l.name, l.category, ...") and {columns}
-- (the same names unprefixed) are the lead columns of gcrm.leads.search.LEAD_COLUMNS.

-- name: nearby
-- The geography casts match the expression index leads_geog_idx, so both ST_DWithin and the
-- KNN operator (<-> on geography: distance on the sphere) use it; the outer query orders by
-- the exact spheroid distance. Ties are broken by external_id so ranks are reproducible.
WITH nearest AS (
    SELECT {lead_columns}, l.area_codes,
           ST_Distance(l.geom::geography, o.origin) AS distance_m,
           l.geom
    FROM gcrm.leads AS l,
         (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS origin) AS o
    WHERE ST_DWithin(l.geom::geography, o.origin, :radius_m)
      AND (CAST(:categories AS text[]) IS NULL OR l.category = ANY(CAST(:categories AS text[])))
      AND (CAST(:zoning AS text[]) IS NULL OR l.zoning_class = ANY(CAST(:zoning AS text[])))
    ORDER BY l.geom::geography <-> o.origin
    LIMIT :limit
)
SELECT row_number() OVER (ORDER BY distance_m, external_id) AS rank,
       {columns}, area_codes, distance_m, ST_AsBinary(geom) AS geom
FROM nearest
ORDER BY distance_m, external_id;

-- name: customer_origin
SELECT name, geocode_precision, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.customers WHERE external_id = :id;
