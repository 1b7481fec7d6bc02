-- The dashboard's extra map layers: branches, the customer heat of a view, what the
-- branches' catchments were computed from.

-- name: branch_points
SELECT code, name, round(ST_X(geom)::numeric, 6) AS lon, round(ST_Y(geom)::numeric, 6) AS lat
FROM gcrm.branches WHERE geom IS NOT NULL ORDER BY code;

-- name: customer_heat
-- Customers in the box per cell of a Web Mercator grid of :cells cells across the world:
-- gcrm.customer_heat (migration 0015) applies the user's scope, the segment and period
-- filters as gcrm.points_in_box does, and counts a page sample of about :sample_rows rows
-- of the table when the box holds more than :exact_rows customers (sampled: the share
-- counted, 1 when exact). With
-- :level, each cell also gets the code of the area of that level under its centre, or the
-- nearest (a cell on the region's edge may be centred outside it), of the areas the reader
-- may see: its revenue per customer weighs the revenue heat.
SELECT h.cell_x, h.cell_y, a.code, h.customers, h.sampled
FROM gcrm.customer_heat(
    :west, :south, :east, :north, CAST(:segment AS text), CAST(:start AS date),
    CAST(:stop AS date), CAST(:cells AS float8), CAST(:exact_rows AS integer),
    CAST(:sample_rows AS integer)) h
LEFT JOIN LATERAL (
    SELECT a.code FROM gcrm.areas a
    WHERE a.level = CAST(:level AS text)
    ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(
                 (h.cell_x + 0.5) / :cells * 360 - 180,
                 degrees(atan(sinh(pi() * (1 - 2 * (h.cell_y + 0.5) / :cells))))), 4326),
             a.code
    LIMIT 1) a ON true;

-- name: catchment_inputs
-- What the catchments are computed from: the last roads import that changed a road, the
-- stored graph's state, and the branches' codes and places. Any change: compute again.
SELECT concat_ws(
    '|',
    (SELECT coalesce(max(id), 0) FROM gcrm.import_runs
     WHERE kind = 'roads' AND inserted + updated > 0),
    (SELECT max(built_at)::text FROM gcrm.road_graph_state),
    (SELECT count(*) FROM gcrm.roads),
    (SELECT md5(coalesce(string_agg(code || ':' || name || ':' || ST_AsEWKT(geom), ','
                                    ORDER BY code), ''))
     FROM gcrm.branches));
