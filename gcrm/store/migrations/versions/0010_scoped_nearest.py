"""Nearest leads under row-level security, at index speed: ``gcrm.nearest_lead_ids``.

Revision ID: 0010
Revises: 0009

Row-level security evaluates a table's policy before any condition of the query that is not
leakproof, and PostGIS's ``ST_DWithin`` is not: under the policy of 0006 the nearest-leads
search could no longer use the spatial index to bound its radius. It walked the index in
distance order, checking the scope of every lead, until it found ``limit`` leads of the
user's scope: on 1,000,000 leads, 120 ms for a point inside the user's area and 9 s for a
point whose nearest leads belong to another area.

``gcrm.nearest_lead_ids`` runs the search as the tables' owner (``SECURITY DEFINER``), where
the radius bounds the index scan, and applies the same scope as the policies itself, from the
same functions: the user's areas within reach first (none: no lead), then, nearest first,
each candidate's area codes, stopping at the ``lim``-th lead of the scope. It returns ids and
distances only; callers read the leads themselves through ``gcrm.leads``, under row-level
security, so the policies still decide what anyone sees. Unrestricted, as under the policies:
the owner (or a superuser) not acting as the application role, and users who see every area.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION gcrm.nearest_lead_ids(
    lon float8, lat float8, radius_m float8, lim integer, categories text[], zoning text[])
RETURNS TABLE (external_id text, distance_m float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, public, gcrm
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    origin geography := ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
    everything boolean := (
        current_setting('role') = 'none'
        AND pg_has_role(session_user,
                        (SELECT relowner FROM pg_class WHERE oid = 'gcrm.lead_records'::regclass),
                        'MEMBER')
    ) OR gcrm.sees_all();
    filters jsonb[];
    reach geography;
BEGIN
    IF everything THEN
        RETURN QUERY
        SELECT r.external_id, ST_Distance(r.geom::geography, origin)
        FROM gcrm.lead_records r
        WHERE ST_DWithin(r.geom::geography, origin, radius_m)
          AND (categories IS NULL OR r.category = ANY (categories))
          AND (zoning IS NULL OR coalesce((
              SELECT e.zoning_class = ANY (zoning)
              FROM gcrm.lead_enrichment e
              WHERE e.external_id = r.external_id), false))
        ORDER BY r.geom::geography <-> origin
        LIMIT lim;
        RETURN;
    END IF;
    -- The box around the parts of the user's areas within reach; none: no lead.
    filters := gcrm.scope_filters();
    SELECT ST_Envelope(ST_Collect(ST_Intersection(
               a.geom, ST_Buffer(origin, radius_m)::geometry)))::geography
    INTO reach
    FROM gcrm.user_scopes s
    JOIN gcrm.users u ON u.id = s.user_id AND NOT u.disabled
    JOIN gcrm.areas a ON a.level = s.level AND a.code = s.code
    WHERE s.user_id = gcrm.current_user_id()
      AND ST_DWithin(a.geom::geography, origin, radius_m);
    IF reach IS NULL THEN
        RETURN;
    END IF;
    -- Nearest first from the spatial index within that box, each candidate checked against
    -- the scope and the filters as it comes (a scalar sub-select per candidate, which the
    -- planner cannot turn into a join over every lead of the scope): the scan stops at the
    -- lim-th lead of the scope.
    RETURN QUERY
    SELECT r.external_id, ST_Distance(r.geom::geography, origin)
    FROM gcrm.lead_records r
    WHERE ST_DWithin(r.geom::geography, origin, radius_m)
      AND r.geom::geography && reach
      AND (categories IS NULL OR r.category = ANY (categories))
      AND coalesce((
          SELECT e.area_codes @> ANY (filters)
                 AND (zoning IS NULL OR e.zoning_class = ANY (zoning))
          FROM gcrm.lead_enrichment e
          WHERE e.external_id = r.external_id), false)
    ORDER BY r.geom::geography <-> origin
    LIMIT lim;
END
$$;
GRANT EXECUTE ON FUNCTION gcrm.nearest_lead_ids(float8, float8, float8, integer, text[], text[])
    TO gcrm_app;
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION gcrm.nearest_lead_ids(float8, float8, float8, integer, text[], text[])"
    )
