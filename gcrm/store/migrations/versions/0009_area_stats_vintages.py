"""Several vintages of one measure side by side: the vintage joins the key of area_stats.

Revision ID: 0009
Revises: 0008

A 2019 and a 2023 population of the same area were one row before (the second import
replaced the first); now each vintage is a row of its own, and readers choose one
(``gcrm.areas.read_area_stats``: the latest by default). The row-level security policy of
0006 reads only ``level`` and ``code``, so it holds as it is.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE gcrm.area_stats DROP CONSTRAINT area_stats_pkey;
ALTER TABLE gcrm.area_stats ADD PRIMARY KEY (level, code, measure, vintage);
"""

# Going down keeps one vintage per figure, the one readers take by default: the largest year
# named in the vintage, then the vintage label (gcrm/areas/stats.sql states the same order).
DOWNGRADE = """
DELETE FROM gcrm.area_stats s
USING (
    SELECT level, code, measure, vintage,
        row_number() OVER (
            PARTITION BY level, code, measure
            ORDER BY (SELECT max(m[1]::int) FROM regexp_matches(vintage, '(\\d{4})', 'g') AS m)
                DESC NULLS LAST, vintage DESC
        ) AS rank
    FROM gcrm.area_stats
) ranked
WHERE ranked.rank > 1
  AND (s.level, s.code, s.measure, s.vintage)
    = (ranked.level, ranked.code, ranked.measure, ranked.vintage);
ALTER TABLE gcrm.area_stats DROP CONSTRAINT area_stats_pkey;
ALTER TABLE gcrm.area_stats ADD PRIMARY KEY (level, code, measure);
"""


def upgrade() -> None:
    """Key area statistics by (level, code, measure, vintage)."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Key them by (level, code, measure) again, keeping each figure's latest vintage."""
    op.execute(DOWNGRADE)
