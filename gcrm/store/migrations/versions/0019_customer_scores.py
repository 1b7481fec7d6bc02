"""Churn risk and expected value per customer, with reasons and runs (issue 12).

Revision ID: 0019
Revises: 0018

``gcrm.customer_scores`` keeps one row per scored customer: the latest churn risk (``churn_risk``
in [0, 1], the probability of churning in the next 6 months, its ``churn_reasons`` and the
customer's revenue of the 12 months before the scoring date, ``revenue_12m``, so that revenue
at risk is ``churn_risk * revenue_12m`` as of the same date) and the latest expected value
(``expected_value_12m``, revenue expected over the next 12 months, ``expected_orders_12m``,
``value_reasons``). Each half names the run in ``gcrm.score_runs`` that wrote it and is NULL
until one did: ``gcrm customers churn-risk`` and ``gcrm customers value`` write their own
columns, at their own times.

One table rather than two: both are read together (the cube's measures per area, the API's
list), under one row-level security policy, and a forgotten customer's row goes with its
record (``ON DELETE CASCADE``). A customer's scores are read under the same scope as the
customer (through ``gcrm.customer_enrichment``, as ``gcrm.customer_records`` in 0006).
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.customer_scores (
    external_id text PRIMARY KEY
        REFERENCES gcrm.customer_records (external_id) ON DELETE CASCADE ON UPDATE CASCADE,
    churn_run_id integer REFERENCES gcrm.score_runs (id),
    churn_risk double precision CHECK (churn_risk >= 0 AND churn_risk <= 1),
    churn_reasons jsonb,
    revenue_12m double precision CHECK (revenue_12m >= 0),
    churn_scored_at timestamptz,
    value_run_id integer REFERENCES gcrm.score_runs (id),
    expected_value_12m double precision CHECK (expected_value_12m >= 0),
    expected_orders_12m double precision CHECK (expected_orders_12m >= 0),
    value_reasons jsonb,
    value_scored_at timestamptz,
    CHECK ((churn_run_id IS NULL) = (churn_risk IS NULL)),
    CHECK ((value_run_id IS NULL) = (expected_value_12m IS NULL))
);
CREATE INDEX customer_scores_churn_risk ON gcrm.customer_scores (churn_risk DESC);

ALTER TABLE gcrm.customer_scores ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.customer_scores FOR SELECT TO {APP_ROLE} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.customer_enrichment e
        WHERE e.external_id = customer_scores.external_id));
GRANT SELECT ON gcrm.customer_scores TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute("DROP TABLE gcrm.customer_scores")
