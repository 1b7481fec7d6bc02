-- Model runs (gcrm.score_runs, migration 0018): one row per run of any kind of score.

-- name: insert_run
-- A run's model, features, rows scored and backtest; returns its id.
INSERT INTO gcrm.score_runs (kind, created_by, model, features, rows_scored, backtest)
VALUES (:kind, :created_by, :model, CAST(:features AS jsonb), :rows_scored,
        CAST(:backtest AS jsonb))
RETURNING id;

-- name: latest_run
-- The newest run of :kind; with :with_backtest, the newest that has a backtest.
SELECT id, kind, created_at, created_by, model, features, rows_scored, backtest
FROM gcrm.score_runs
WHERE kind = :kind AND (NOT :with_backtest OR backtest IS NOT NULL)
ORDER BY created_at DESC, id DESC
LIMIT 1;
