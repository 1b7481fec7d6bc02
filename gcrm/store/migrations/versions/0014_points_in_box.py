"""The points of one map view under row-level security, at index speed: ``gcrm.points_in_box``.

Revision ID: 0014
Revises: 0013

The dashboard asks, for the box of the map's view, for the customers or leads in it one by
one when they are few, else counted per cell of a grid. PostGIS's ``&&`` is not leakproof,
so under the policies of 0006 PostgreSQL checks each row's scope before the box: it cannot
use the spatial index and reads every customer (0.5 s for a user who sees every area and
2.5-4 s for a district manager, on 1,000,000 customers, against 28 ms for the owner).

``gcrm.points_in_box`` runs as the tables' owner (``SECURITY DEFINER``), where the box bounds
the index scan, and applies the same scope as the policies itself, from the same functions
(``gcrm.sees_all``, ``gcrm.scope_filters``): a point is in scope when its enrichment's area
codes contain one of the user's areas. It returns positions and the few properties the map
shows (id, segment, geocode precision; a lead's category), never a name or a contact, as
0010's ``nearest_lead_ids`` returns ids only. Unrestricted, as under the policies: the owner
(or a superuser) not acting as the application role, and users who see every area.

For a user with a scope, the box is first narrowed to the extent of their areas within it
(as 0010 narrows the radius), so a manager's view reads their district's points, not the
region's. ``cells`` (a number of grid cells across the Web Mercator world) returns clusters
instead: one row per cell, at the mean position of its points, with their ``count``.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: Where one kind of point is read from: in the box (and the user's reach), filtered, in
#: scope. {table} and {enrichment} name the kind's tables; {filters} its own filters.
_FROM = """
        FROM gcrm.{table} r
        WHERE r.geom && box AND r.geom && reach {filters}
          AND (everything OR coalesce((
              SELECT e.area_codes @> ANY (scope)
              FROM gcrm.{enrichment} e WHERE e.external_id = r.external_id), false))"""
#: The points one by one (at most lim), or counted per cell of the map's own Web Mercator
#: grid, at the mean position of each cell's points.
_ANSWER = """
        IF cells IS NULL THEN
            RETURN QUERY SELECT r.geom, {props} {source} LIMIT lim;
        ELSE
            RETURN QUERY
            SELECT ST_SetSRID(ST_MakePoint(avg(ST_X(r.geom)), avg(ST_Y(r.geom))), 4326),
                   json_build_object('count', count(*)) {source}
            GROUP BY floor((ST_X(r.geom) + 180) / 360 * cells),
                     floor((0.5 - ln(tan(pi() / 4 + radians(ST_Y(r.geom)) / 2)) / (2 * pi()))
                           * cells);
        END IF;"""
_CUSTOMERS = _ANSWER.format(
    props="json_build_object('id', r.external_id, 'segment', r.segment, "
    "'geocode_precision', r.geocode_precision)",
    source=_FROM.format(
        table="customer_records",
        enrichment="customer_enrichment",
        filters="""
          AND (seg IS NULL OR r.segment = seg)
          AND (stop_date IS NULL OR r.signup_date < stop_date)
          AND (start_date IS NULL OR r.churn_date IS NULL OR r.churn_date >= start_date)""",
    ),
)
_LEADS = _ANSWER.format(
    props="json_build_object('id', r.external_id, 'category', r.category)",
    source=_FROM.format(table="lead_records", enrichment="lead_enrichment", filters=""),
)
_SIGNATURE = "text, float8, float8, float8, float8, text, date, date, integer, float8"

_FUNCTION = f"""
CREATE FUNCTION gcrm.points_in_box(
    kind text, west float8, south float8, east float8, north float8,
    seg text, start_date date, stop_date date, lim integer, cells float8)
RETURNS TABLE (geom geometry, props json)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, gcrm
AS $$
DECLARE
    box geometry := ST_MakeEnvelope(west, south, east, north, 4326);
    everything boolean := (
        current_setting('role') = 'none'
        AND pg_has_role(session_user,
                        (SELECT relowner FROM pg_class WHERE oid = 'gcrm.customer_records'::regclass),
                        'MEMBER')
    ) OR gcrm.sees_all();
    scope jsonb[] := CASE WHEN everything THEN '{{}}' ELSE gcrm.scope_filters() END;
    reach geometry := box;
BEGIN
    IF NOT everything THEN
        -- The box of the user's areas within the view; none: no point.
        SELECT ST_Envelope(ST_Collect(ST_Intersection(a.geom, box)))
        INTO reach
        FROM gcrm.user_scopes s
        JOIN gcrm.users u ON u.id = s.user_id AND NOT u.disabled
        JOIN gcrm.areas a ON a.level = s.level AND a.code = s.code
        WHERE s.user_id = gcrm.current_user_id() AND a.geom && box;
        IF reach IS NULL OR ST_IsEmpty(reach) THEN
            RETURN;
        END IF;
    END IF;
    IF kind = 'customers' THEN
{_CUSTOMERS}
    ELSIF kind = 'leads' THEN
{_LEADS}
    ELSE
        RAISE EXCEPTION 'kind % is not a point layer; use customers or leads', kind;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION gcrm.points_in_box({_SIGNATURE}) TO gcrm_app;
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION gcrm.points_in_box({_SIGNATURE})")
