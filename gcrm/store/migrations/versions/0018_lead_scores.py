"""Model runs and lead scores: what each score is, why, and how well its model ranked.

Revision ID: 0018
Revises: 0017

``gcrm.score_runs`` keeps one row per model run of any kind (``lead``, ``churn``, ``value``):
the model, its features, and the figures of its backtest against its baselines (the JSON
that ``--backtest -o`` writes), so that every place that shows a score can show how well
that kind of score ranked. It holds no personal data and every user may read it.

``gcrm.lead_scores`` keeps the latest score of each lead: ``score`` in [0, 1] (higher looks
more like the customers that matter), its ``percentile`` among all leads (0-100), and
``reasons``: a JSON array of up to three objects ``{"feature", "effect", "text"}``, the
features that raised (``effect`` > 0) or lowered the score most, ``text`` in words. A lead's
score is read under the same scope as the lead (row-level security through
``gcrm.lead_enrichment``, as ``gcrm.lead_records`` in 0006).
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.score_runs (
    id serial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('lead', 'churn', 'value')),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    model text NOT NULL,
    features jsonb NOT NULL DEFAULT '[]'::jsonb,
    rows_scored integer NOT NULL DEFAULT 0,
    backtest jsonb
);
CREATE INDEX score_runs_kind_created ON gcrm.score_runs (kind, created_at DESC);

CREATE TABLE gcrm.lead_scores (
    external_id text PRIMARY KEY
        REFERENCES gcrm.lead_records (external_id) ON DELETE CASCADE ON UPDATE CASCADE,
    run_id integer NOT NULL REFERENCES gcrm.score_runs (id) ON DELETE CASCADE,
    score double precision NOT NULL CHECK (score >= 0 AND score <= 1),
    percentile real NOT NULL CHECK (percentile >= 0 AND percentile <= 100),
    reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
    scored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_scores_score ON gcrm.lead_scores (score DESC);

ALTER TABLE gcrm.lead_scores ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.lead_scores FOR SELECT TO {APP_ROLE} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.lead_enrichment e WHERE e.external_id = lead_scores.external_id));
GRANT SELECT ON gcrm.score_runs, gcrm.lead_scores TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute("DROP TABLE gcrm.lead_scores")
    op.execute("DROP TABLE gcrm.score_runs")
