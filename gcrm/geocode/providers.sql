-- The online providers' answers, kept in the geocoder's cache under "<provider>|<input key>".

-- name: read_cache
SELECT input_key, lon, lat, precision, score, source, matched_address
FROM gcrm.geocode_cache WHERE input_key = ANY(:keys);

-- name: write_cache
INSERT INTO gcrm.geocode_cache (input_key, lon, lat, precision, score, source, matched_address)
VALUES (:input_key, :lon, :lat, :precision, :score, :source, :matched_address)
ON CONFLICT (input_key) DO UPDATE
SET lon = EXCLUDED.lon, lat = EXCLUDED.lat, precision = EXCLUDED.precision,
    score = EXCLUDED.score, source = EXCLUDED.source,
    matched_address = EXCLUDED.matched_address, created_at = now();
