-- Geocoding the customers already stored again, batch by batch (gcrm.ingest.regeocode).

-- name: count
-- How many customers a run will consider.
SELECT count(*) FROM gcrm.customer_records
WHERE CAST(:precisions AS text[]) IS NULL OR geocode_precision = ANY(CAST(:precisions AS text[]));

-- name: batch
-- The next customers by id after :after, locked until the batch commits (an import of the
-- same customers waits for it rather than being overwritten by stale results).
SELECT external_id, street, housenumber, postcode, city, geocode_precision,
       ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gcrm.customer_records
WHERE external_id > :after
  AND (CAST(:precisions AS text[]) IS NULL OR geocode_precision = ANY(CAST(:precisions AS text[])))
ORDER BY external_id
LIMIT :size
FOR UPDATE;

-- name: update
-- The new results, where anything changed; returns the changed customers. A moved customer
-- is enriched again by `gcrm enrich` (its enrichment row remembers the location it was
-- computed for).
UPDATE gcrm.customer_records r
SET geom = s.geom, geocode_precision = s.geocode_precision, geocode_score = s.geocode_score,
    geocode_source = s.geocode_source, matched_address = s.matched_address,
    address_norm = s.address_norm, updated_at = now()
FROM {stage} s
WHERE r.external_id = s.external_id
  AND (r.geom, r.geocode_precision, r.geocode_score, r.geocode_source, r.matched_address,
       r.address_norm)
      IS DISTINCT FROM
      (s.geom, s.geocode_precision, s.geocode_score, s.geocode_source, s.matched_address,
       s.address_norm)
RETURNING r.external_id;
