"""Each lead's nearest road node and access leg, for drive-time search (issue 12).

Revision ID: 0021
Revises: 0020

A drive-time search used to read every lead in the box of its catchment (a million on the
benchmark), snap each to the road graph in Python and time it: 3.4 s. The snapping only
changes when a lead moves or the graph is rebuilt, so ``gcrm.enrich`` now stores it:

- ``gcrm.lead_road_access``: per located lead, its snapping node (``node_id`` of
  ``gcrm.road_nodes``), the straight access leg in seconds (at
  ``gcrm.routing.ACCESS_SPEED_KMH``), the graph it was computed on (``graph_built_at`` =
  ``road_graph_state.built_at``) and the location it was computed for (``geom``). Indexed
  by node with the access leg included, so a search joins the nodes it reached (with their
  seconds) to the leads standing at them by an index-only scan. Read under the scope of the
  lead, like ``gcrm.lead_scores`` (0018).
- ``gcrm.lead_road_access_state`` (one row): whether the rows are complete for the graph
  ``graph_built_at``. Any statement that inserts a located lead or moves one sets
  ``complete`` false (statement triggers with transition tables, as 0004 does for roads);
  enrichment sets it true once it has checked that every located lead has a current row.
  A search uses the stored rows only when complete and computed on the current graph, and
  falls back to snapping in Python otherwise, so a stale table is slow, never wrong.

``gcrm.customer_lead_ids(ids)``: which of the leads ``ids`` are already customers: a customer
record names the lead (``customer_records.lead_external_id``, when migration 0017 added it),
or a customer with the same name (letters and digits, case folded) stands within 50 m.
``SECURITY DEFINER`` so both tests run on their indexes (row-level security would put the
policy before the non-leakproof ``ST_DWithin``, as 0010 explains); it applies the scope
itself: only customers the caller may see count, as in ``gcrm.points_in_box`` (0014).
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

APP_ROLE = "gcrm_app"

_UP = f"""
CREATE TABLE gcrm.lead_road_access (
    external_id     text PRIMARY KEY
        REFERENCES gcrm.lead_records (external_id) ON DELETE CASCADE ON UPDATE CASCADE,
    node_id         integer NOT NULL,
    access_s        double precision NOT NULL,
    graph_built_at  timestamptz NOT NULL,
    geom            geometry(Point, 4326) NOT NULL
);
CREATE INDEX lead_road_access_node ON gcrm.lead_road_access (node_id)
    INCLUDE (access_s, graph_built_at);

CREATE TABLE gcrm.lead_road_access_state (
    one             boolean PRIMARY KEY DEFAULT true CHECK (one),
    graph_built_at  timestamptz,
    complete        boolean NOT NULL DEFAULT false,
    computed_at     timestamptz
);
INSERT INTO gcrm.lead_road_access_state (one) VALUES (true);

CREATE FUNCTION gcrm.lead_road_access_stale() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT FROM new_leads WHERE geom IS NOT NULL) THEN
            UPDATE gcrm.lead_road_access_state SET complete = false WHERE complete;
        END IF;
    ELSIF EXISTS (
        SELECT FROM new_leads n
        WHERE n.geom IS NOT NULL AND NOT EXISTS (
            SELECT FROM old_leads o
            WHERE o.external_id = n.external_id AND o.geom = n.geom)) THEN
        UPDATE gcrm.lead_road_access_state SET complete = false WHERE complete;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER lead_insert_stales_road_access AFTER INSERT ON gcrm.lead_records
    REFERENCING NEW TABLE AS new_leads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.lead_road_access_stale();
CREATE TRIGGER lead_update_stales_road_access AFTER UPDATE ON gcrm.lead_records
    REFERENCING NEW TABLE AS new_leads OLD TABLE AS old_leads
    FOR EACH STATEMENT EXECUTE FUNCTION gcrm.lead_road_access_stale();

ALTER TABLE gcrm.lead_road_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope ON gcrm.lead_road_access FOR SELECT TO {APP_ROLE} USING (
    (SELECT gcrm.sees_all()) OR EXISTS (
        SELECT FROM gcrm.lead_enrichment e WHERE e.external_id = lead_road_access.external_id));
GRANT SELECT ON gcrm.lead_road_access, gcrm.lead_road_access_state TO {APP_ROLE};

CREATE FUNCTION gcrm.name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(regexp_replace(name, '[^[:alnum:]]+', '', 'g'))
$$;
"""

# The link test only when 0017 gave customers the lead they came from.
_CUSTOMER_FUNCTION = """
DO $do$
DECLARE
    linked boolean := EXISTS (
        SELECT FROM information_schema.columns
        WHERE table_schema = 'gcrm' AND table_name = 'customer_records'
          AND column_name = 'lead_external_id');
    link text := '';
BEGIN
    IF linked THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS customer_records_lead_external_id '
                'ON gcrm.customer_records (lead_external_id)';
        link := $l$
        OR EXISTS (
            SELECT FROM gcrm.customer_records c
            WHERE c.lead_external_id = l.external_id
              AND (everything OR EXISTS (
                  SELECT FROM gcrm.customer_enrichment e
                  WHERE e.external_id = c.external_id AND e.area_codes @> ANY (scope))))$l$;
    END IF;
    EXECUTE format($f$
CREATE FUNCTION gcrm.customer_lead_ids(ids text[])
RETURNS TABLE (external_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, gcrm
AS $body$
DECLARE
    everything boolean := (
        current_setting('role') = 'none'
        AND pg_has_role(session_user,
                        (SELECT relowner FROM pg_class WHERE oid = 'gcrm.lead_records'::regclass),
                        'MEMBER')
    ) OR gcrm.sees_all();
    scope jsonb[] := CASE WHEN everything THEN '{}' ELSE gcrm.scope_filters() END;
BEGIN
    RETURN QUERY
    SELECT l.external_id
    FROM gcrm.lead_records l
    WHERE l.external_id = ANY (ids)
      AND (EXISTS (
            SELECT FROM gcrm.customer_records c
            WHERE l.geom IS NOT NULL
              AND ST_DWithin(c.geom::geography, l.geom::geography, 50)
              AND gcrm.name_key(c.name) = gcrm.name_key(l.name)
              AND (everything OR EXISTS (
                  SELECT FROM gcrm.customer_enrichment e
                  WHERE e.external_id = c.external_id AND e.area_codes @> ANY (scope))))
           %s);
END
$body$$f$, link);
END
$do$;
GRANT EXECUTE ON FUNCTION gcrm.customer_lead_ids(text[]) TO gcrm_app;
"""


def upgrade() -> None:
    op.execute(_UP)
    op.execute(_CUSTOMER_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION gcrm.customer_lead_ids(text[])")
    op.execute("DROP INDEX IF EXISTS gcrm.customer_records_lead_external_id")
    op.execute("DROP FUNCTION gcrm.name_key(text)")
    op.execute("DROP TRIGGER lead_update_stales_road_access ON gcrm.lead_records")
    op.execute("DROP TRIGGER lead_insert_stales_road_access ON gcrm.lead_records")
    op.execute("DROP FUNCTION gcrm.lead_road_access_stale()")
    op.execute("DROP TABLE gcrm.lead_road_access_state")
    op.execute("DROP TABLE gcrm.lead_road_access")
