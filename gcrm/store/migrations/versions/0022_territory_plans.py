"""Territory plans: stored, versioned, one marked current (issue 13).

Revision ID: 0022
Revises: 0021

``gcrm.territory_plans`` holds one row per version of a plan: its name and version (saving
under a name that exists adds the next version), the plan it was made from (``parent_id``: an
edit, a rebalancing), the area level whose areas are its units, the number of territories,
the criteria it balances (criterion -> weight, JSON), how it was made (``settings``: method,
adjacency, seed, compactness, locks, nesting level, drive-time limit, move cap; JSON as
given), its figures when saved (``figures``: largest deviation per criterion, mean
Polsby-Popper, contiguity, seconds; JSON), who made it and when. At most one plan is current
(a partial unique index). ``gcrm.territory_plan_territories`` holds each territory's number,
name, rep and base (a branch id or a place, with its point); ``gcrm.territory_plan_units``
each unit's territory.

Plans hold no personal data (units are areas, reps are names a planner typed): every user
may read them; roles that design plans write them through the application role.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.territory_plans (
    id          serial PRIMARY KEY,
    name        text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 100),
    version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    parent_id   integer REFERENCES gcrm.territory_plans (id) ON DELETE SET NULL,
    level       text NOT NULL REFERENCES gcrm.area_levels (level) ON DELETE CASCADE,
    k           integer NOT NULL CHECK (k > 0),
    balance     jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    settings    jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    figures     jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    is_current  boolean NOT NULL DEFAULT false,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);
CREATE UNIQUE INDEX territory_plans_one_current ON gcrm.territory_plans (is_current)
    WHERE is_current;

CREATE TABLE gcrm.territory_plan_territories (
    plan_id    integer NOT NULL REFERENCES gcrm.territory_plans (id) ON DELETE CASCADE,
    territory  integer NOT NULL CHECK (territory > 0),
    name       text NOT NULL,
    rep        text,
    base       text,
    base_geom  geometry(Point, 4326),
    PRIMARY KEY (plan_id, territory)
);

CREATE TABLE gcrm.territory_plan_units (
    plan_id    integer NOT NULL,
    code       text NOT NULL,
    territory  integer NOT NULL,
    PRIMARY KEY (plan_id, code),
    FOREIGN KEY (plan_id, territory)
        REFERENCES gcrm.territory_plan_territories (plan_id, territory) ON DELETE CASCADE
);
CREATE INDEX territory_plan_units_territory ON gcrm.territory_plan_units (plan_id, territory);

GRANT SELECT, INSERT, UPDATE, DELETE ON gcrm.territory_plans, gcrm.territory_plan_territories,
    gcrm.territory_plan_units TO {APP_ROLE};
GRANT USAGE ON SEQUENCE gcrm.territory_plans_id_seq TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute(
        "DROP TABLE gcrm.territory_plan_units, gcrm.territory_plan_territories, "
        "gcrm.territory_plans"
    )
