-- Area statistics as readers see them: one figure per (level, code, measure), of one vintage.

-- name: chosen
-- The figure of each (level, code, measure) among the levels :levels (NULL: every level).
-- With :vintage NULL, the latest: the largest year named in the vintage ("2018-2022" is
-- 2022), then the vintage label; vintages naming no year come last. With :vintage given,
-- that vintage for each (level, measure) that has it somewhere, the latest for the others.
WITH ranked AS (
    SELECT s.level, s.code, s.measure, s.value, s.source, s.vintage, s.method,
        (SELECT max(m[1]::int) FROM regexp_matches(s.vintage, '(\d{4})', 'g') AS m) AS year
    FROM gcrm.area_stats s
    WHERE CAST(:levels AS text[]) IS NULL OR s.level = ANY(CAST(:levels AS text[]))
),
asked AS (
    SELECT DISTINCT level, measure FROM ranked WHERE vintage = CAST(:vintage AS text)
)
SELECT DISTINCT ON (r.level, r.code, r.measure)
    r.level, r.code, r.measure, r.value, r.source, r.vintage, coalesce(r.method, '') AS method
FROM ranked r
LEFT JOIN asked a USING (level, measure)
WHERE a.level IS NULL OR r.vintage = CAST(:vintage AS text)
ORDER BY r.level, r.code, r.measure, r.year DESC NULLS LAST, r.vintage DESC;

-- name: vintages
-- Every vintage, with how many figures it holds.
SELECT vintage, count(*) AS figures FROM gcrm.area_stats GROUP BY vintage ORDER BY vintage;
