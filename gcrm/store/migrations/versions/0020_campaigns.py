"""Campaigns: target lists, control groups, responses, export log (issue 12).

Revision ID: 0020
Revises: 0019

``gcrm.campaigns`` holds one row per campaign: its name, whether it lists customers or leads,
the criteria it was selected by (as given, JSON), the size cap, the share held out as a
control group and the seed of that draw, when it starts (orders from that day count as its
revenue), who made it and when, and its status (``created``, then ``exported``). It holds no
personal data: every user may read it.

``gcrm.campaign_members`` holds each selected customer or lead with its group (``target`` or
``control``), its rank in the selection, its area codes and score at creation (the results
are per area as the list was drawn, not as the point was enriched later).
``gcrm.campaign_responses`` holds what came back: who, when, which outcome, what value; keyed
by (campaign, member, day, outcome), so importing the same file again changes nothing.

Members and responses are read under the user's scope, as ``gcrm.customer_records`` are
(0006): a member is visible when its area codes at creation contain one of the user's areas,
a response when its member is. Exports of a campaign are logged in ``gcrm.audit_log`` (who,
when, rows, fields, file), which the application may already write.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.campaigns (
    id             serial PRIMARY KEY,
    name           text NOT NULL UNIQUE
                   CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 100),
    kind           text NOT NULL CHECK (kind IN ('customers', 'leads')),
    criteria       jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    size_cap       integer CHECK (size_cap > 0),
    control_share  double precision NOT NULL CHECK (control_share >= 0 AND control_share < 1),
    seed           bigint NOT NULL,
    starts_on      date NOT NULL DEFAULT current_date,
    status         text NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'exported')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gcrm.campaign_members (
    campaign_id   integer NOT NULL REFERENCES gcrm.campaigns (id) ON DELETE CASCADE,
    external_id   text NOT NULL,
    member_group  text NOT NULL CHECK (member_group IN ('target', 'control')),
    rank          integer NOT NULL CHECK (rank > 0),
    area_codes    jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    score         double precision,
    PRIMARY KEY (campaign_id, external_id)
);
CREATE INDEX campaign_members_area_codes ON gcrm.campaign_members USING gin (area_codes);

CREATE TABLE gcrm.campaign_responses (
    campaign_id   integer NOT NULL,
    external_id   text NOT NULL,
    responded_at  date NOT NULL,
    outcome       text NOT NULL CHECK (outcome <> ''),
    value         numeric(12, 2) CHECK (value >= 0),
    imported_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, external_id, responded_at, outcome),
    FOREIGN KEY (campaign_id, external_id)
        REFERENCES gcrm.campaign_members (campaign_id, external_id) ON DELETE CASCADE
);

ALTER TABLE gcrm.campaign_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.campaign_members FOR SELECT TO {APP_ROLE} USING (
    (SELECT gcrm.sees_all()) OR area_codes @> ANY ((SELECT gcrm.scope_filters())::jsonb[]));

ALTER TABLE gcrm.campaign_responses ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.campaign_responses FOR SELECT TO {APP_ROLE} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.campaign_members m
        WHERE m.campaign_id = campaign_responses.campaign_id
          AND m.external_id = campaign_responses.external_id));

GRANT SELECT ON gcrm.campaigns, gcrm.campaign_members, gcrm.campaign_responses TO {APP_ROLE};
-- A user's export of a campaign marks it exported.
GRANT UPDATE (status) ON gcrm.campaigns TO {APP_ROLE};
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute("DROP TABLE gcrm.campaign_responses, gcrm.campaign_members, gcrm.campaigns")
