"""Users, roles, scopes, API tokens, the audit log, and row-level security.

Revision ID: 0006
Revises: 0005

Access is enforced where the data lives. The application reads as ``gcrm_app``, a role
subject to row-level security (neither a superuser nor the tables' owner); every transaction
of the application sets ``gcrm.user_id`` (``SET LOCAL``), and the policies below show a user
only the rows of their scope: the customers, orders and leads whose enriched area codes fall
in one of the user's areas (an area at any level covers everything below it), and the areas
themselves (with their statistics) that lie in the scope. A user with ``all_areas`` sees
everything; a transaction that names no user sees no customer, order, lead or area at all.

The scope is computed once per statement (the policies call the functions through an
uncorrelated sub-select, which PostgreSQL runs once as an InitPlan), not once per row.
Importers, enrichment and the cube build run as the owner, which policies do not restrict.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The role the application reads as. Cluster-wide, so it may exist already (another
#: database of the same server); grants are per database.
APP_ROLE = "gcrm_app"

_TABLES = """
CREATE TABLE gcrm.users (
    id             serial PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role           text NOT NULL
                   CHECK (role IN ('admin', 'manager', 'planner', 'prospector', 'viewer')),
    all_areas      boolean NOT NULL DEFAULT false,
    password_hash  text,
    oidc_subject   text UNIQUE,
    disabled       boolean NOT NULL DEFAULT false,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE gcrm.user_scopes (
    user_id  integer NOT NULL REFERENCES gcrm.users (id) ON DELETE CASCADE,
    level    text NOT NULL,
    code     text NOT NULL,
    PRIMARY KEY (user_id, level, code)
);
CREATE TABLE gcrm.api_tokens (
    id            serial PRIMARY KEY,
    user_id       integer NOT NULL REFERENCES gcrm.users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,          -- the first characters, to tell tokens apart
    token_hash    bytea NOT NULL UNIQUE,  -- SHA-256 of the token (it is random, 256 bits)
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE TABLE gcrm.audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,      -- a gcrm user, or cli:<operating-system user>
    action  text NOT NULL,      -- the command or the route
    target  text,               -- a file, an id, a filter
    rows    integer,
    fields  text[],
    detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON gcrm.audit_log (at);
"""

_FUNCTIONS = """
CREATE FUNCTION gcrm.current_user_id() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('gcrm.user_id', true), '')::integer
$$;

-- True when the transaction's user sees every area (and is enabled).
CREATE FUNCTION gcrm.sees_all() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, gcrm AS $$
    SELECT coalesce(
        (SELECT u.all_areas AND NOT u.disabled FROM gcrm.users u
         WHERE u.id = gcrm.current_user_id()),
        false)
$$;

-- The user's areas as jsonb objects {level: code}: a point whose area_codes contain one
-- of them is in scope (none for a disabled or unknown user).
CREATE FUNCTION gcrm.scope_filters() RETURNS jsonb[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, gcrm AS $$
    SELECT coalesce(array_agg(jsonb_build_object(s.level, s.code)), '{}')
    FROM gcrm.user_scopes s JOIN gcrm.users u ON u.id = s.user_id
    WHERE s.user_id = gcrm.current_user_id() AND NOT u.disabled
$$;

-- Ids ("level:code") of the areas in the user's scope: the scope's areas, their descendants,
-- and the areas of any level whose point on surface lies in one of them (another hierarchy,
-- e.g. postcode areas inside a district).
CREATE FUNCTION gcrm.scope_area_ids() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, gcrm AS $$
    WITH RECURSIVE mine AS (
        SELECT a.level, a.code, a.geom
        FROM gcrm.user_scopes s
        JOIN gcrm.users u ON u.id = s.user_id AND NOT u.disabled
        JOIN gcrm.areas a ON a.level = s.level AND a.code = s.code
        WHERE s.user_id = gcrm.current_user_id()
    ), below AS (
        SELECT level, code FROM mine
        UNION
        SELECT c.level, c.code
        FROM below b
        JOIN gcrm.area_levels l ON l.parent_level = b.level
        JOIN gcrm.areas c ON c.level = l.level AND c.parent_code = b.code
    ), inside AS (
        SELECT a.level, a.code
        FROM gcrm.areas a JOIN mine m ON ST_Contains(m.geom, ST_PointOnSurface(a.geom))
    )
    SELECT coalesce(array_agg(DISTINCT x.level || ':' || x.code), '{}')
    FROM (SELECT * FROM below UNION SELECT * FROM inside) x
$$;
"""

_POLICIES = """
ALTER VIEW gcrm.customers SET (security_invoker = true);
ALTER VIEW gcrm.leads SET (security_invoker = true);

ALTER TABLE gcrm.customer_enrichment ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.customer_enrichment FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR area_codes @> ANY ((SELECT gcrm.scope_filters())::jsonb[]));

ALTER TABLE gcrm.lead_enrichment ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.lead_enrichment FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR area_codes @> ANY ((SELECT gcrm.scope_filters())::jsonb[]));

ALTER TABLE gcrm.customer_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.customer_records FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.customer_enrichment e WHERE e.external_id = customer_records.external_id));

ALTER TABLE gcrm.lead_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.lead_records FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.lead_enrichment e WHERE e.external_id = lead_records.external_id));

ALTER TABLE gcrm.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.orders FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.customer_enrichment e WHERE e.external_id = orders.customer_external_id));

ALTER TABLE gcrm.areas ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.areas FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR (level || ':' || code) = ANY ((SELECT gcrm.scope_area_ids())::text[]));

ALTER TABLE gcrm.area_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.area_stats FOR SELECT TO {role} USING (
    (SELECT gcrm.sees_all()) OR (level || ':' || code) = ANY ((SELECT gcrm.scope_area_ids())::text[]));
"""

_GRANTS = """
GRANT USAGE ON SCHEMA gcrm TO {role};
GRANT SELECT ON gcrm.customers, gcrm.leads, gcrm.customer_records, gcrm.lead_records,
    gcrm.customer_enrichment, gcrm.lead_enrichment, gcrm.orders, gcrm.areas, gcrm.area_stats,
    gcrm.area_levels, gcrm.roads, gcrm.zones, gcrm.buildings, gcrm.branches,
    gcrm.address_points, gcrm.postcode_points, gcrm.address_streets, gcrm.address_postcodes,
    gcrm.address_localities, gcrm.road_nodes, gcrm.road_edges, gcrm.road_graph_state,
    gcrm.import_runs TO {role};
-- The geocoder remembers what it found; the audit log takes the application's records.
GRANT SELECT, INSERT, UPDATE ON gcrm.geocode_cache TO {role};
GRANT INSERT ON gcrm.audit_log TO {role};
GRANT USAGE ON SEQUENCE gcrm.audit_log_id_seq TO {role};
GRANT EXECUTE ON FUNCTION gcrm.current_user_id(), gcrm.sees_all(), gcrm.scope_filters(),
    gcrm.scope_area_ids() TO {role};
"""


def upgrade() -> None:
    op.execute(
        f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
"""
    )
    op.execute(_TABLES)
    op.execute(_FUNCTIONS)
    op.execute(_POLICIES.format(role=APP_ROLE))
    op.execute(_GRANTS.format(role=APP_ROLE))
    # The owner may act as the application role (SET ROLE) when no login role of its own is
    # configured (GCRM_APP_DATABASE_URL unset).
    op.execute(f"GRANT {APP_ROLE} TO CURRENT_USER")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA gcrm FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA gcrm FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA gcrm FROM {APP_ROLE}")
    for table in (
        "customer_enrichment",
        "lead_enrichment",
        "customer_records",
        "lead_records",
        "orders",
        "areas",
        "area_stats",
    ):
        op.execute(f"DROP POLICY IF EXISTS scope ON gcrm.{table}")
        op.execute(f"ALTER TABLE gcrm.{table} DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER VIEW gcrm.customers RESET (security_invoker)")
    op.execute("ALTER VIEW gcrm.leads RESET (security_invoker)")
    op.execute(
        "DROP FUNCTION gcrm.scope_area_ids(), gcrm.scope_filters(), gcrm.sees_all(), "
        "gcrm.current_user_id()"
    )
    op.execute("DROP TABLE gcrm.audit_log, gcrm.api_tokens, gcrm.user_scopes, gcrm.users")
