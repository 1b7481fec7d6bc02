"""Published territory plans (issue 13): a plan's territories as an area level.

Revision ID: 0023
Revises: 0022

Publishing a plan (``gcrm.territories.publish``) writes its territories as the areas of a
level (``territory`` by default) and its units again as a level nested under it
(``territory_unit``: the unit's code and geometry, ``parent_code`` its territory's code), so
the cube, the dashboard and every report run by territory and drill from a territory to its
units. ``gcrm.territory_publications`` records every publication (which level, which plan,
the unit level copied, who and when, how many customers and leads it placed);
``gcrm.published_territories`` holds the territories now published on each level: area code
(``T01``..), the plan's territory number, its name and rep, read by the customer and lead
exports and the API (their ``territory`` and ``rep``).

Neither holds personal data (territories and reps' names, as in the plans of 0022): every
user may read them, and only the owner writes them (publishing rewrites the areas and the
enrichment's area codes, which the application role may not write).
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.territory_publications (
    id            serial PRIMARY KEY,
    level         text NOT NULL,
    unit_level    text NOT NULL,
    plan_id       integer REFERENCES gcrm.territory_plans (id) ON DELETE SET NULL,
    plan_label    text NOT NULL,
    plan_level    text NOT NULL,
    territories   integer NOT NULL,
    customers     integer NOT NULL,
    leads         integer NOT NULL,
    published_by  text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX territory_publications_level ON gcrm.territory_publications (level, published_at);

CREATE TABLE gcrm.published_territories (
    level           text NOT NULL REFERENCES gcrm.area_levels (level) ON DELETE CASCADE,
    code            text NOT NULL,
    publication_id  integer NOT NULL REFERENCES gcrm.territory_publications (id)
                        ON DELETE CASCADE,
    territory       integer NOT NULL CHECK (territory > 0),
    name            text NOT NULL,
    rep             text,
    PRIMARY KEY (level, code)
);

GRANT SELECT ON gcrm.territory_publications, gcrm.published_territories TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute("DROP TABLE gcrm.published_territories, gcrm.territory_publications")
