"""The customers of one map view counted per grid cell, under row-level security, at index
speed, sampled when many: ``gcrm.customer_heat``.

Revision ID: 0015
Revises: 0014

The dashboard's heat layer asks, for the box of the map's view, how many customers stand in
each cell of a Web Mercator grid of the view's zoom (the grid of ``gcrm.points_in_box``'s
clusters, 0014). Like
``points_in_box`` it runs as the tables' owner (``SECURITY DEFINER``) so the box bounds the
index scan, and applies the same scope as the policies of 0006 itself (``gcrm.sees_all``,
``gcrm.scope_filters``; the box narrowed to the user's areas first). It returns cell indices
and counts, never a point.

Counting every customer of a large view costs an index scan and a random heap read for
each (about 4 us a customer: 0.3 s for 75,000, 1 s for 1,000,000), while a page sample
reads whole pages in order (about 1 us a row). So when the box (and the user's reach) holds
more than ``exact_rows`` customers, the count is taken on a page sample of the table
(``TABLESAMPLE SYSTEM``, repeatable, so a view draws the same cells each time) of about
``sample_rows`` rows, and every row returns the share sampled (``sampled``, 1 when exact):
a cell's count divided by it estimates the cell's customers. Filters and scope apply to the
sampled rows exactly as to all.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: One statement, read exactly ({sample} empty) or from a sample of the table's pages.
_COUNT = """
        RETURN QUERY
        SELECT floor((ST_X(r.geom) + 180) / 360 * cells)::integer,
               floor((0.5 - ln(tan(pi() / 4 + radians(ST_Y(r.geom)) / 2)) / (2 * pi()))
                     * cells)::integer,
               count(*),
               share
        FROM gcrm.customer_records r {sample}
        WHERE r.geom && box AND r.geom && reach
          AND (seg IS NULL OR r.segment = seg)
          AND (stop_date IS NULL OR r.signup_date < stop_date)
          AND (start_date IS NULL OR r.churn_date IS NULL OR r.churn_date >= start_date)
          AND (everything OR coalesce((
              SELECT e.area_codes @> ANY (scope)
              FROM gcrm.customer_enrichment e WHERE e.external_id = r.external_id), false))
        GROUP BY 1, 2;"""
_SIGNATURE = "float8, float8, float8, float8, text, date, date, float8, integer, integer"

_FUNCTION = f"""
CREATE FUNCTION gcrm.customer_heat(
    west float8, south float8, east float8, north float8,
    seg text, start_date date, stop_date date, cells float8, exact_rows integer,
    sample_rows integer)
RETURNS TABLE (cell_x integer, cell_y integer, customers bigint, sampled float8)
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
    in_reach bigint;
    share float8 := 1.0;
BEGIN
    IF NOT everything THEN
        -- The box of the user's areas within the view; none: no customer.
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
    IF exact_rows IS NOT NULL AND sample_rows IS NOT NULL THEN
        -- Up to exact_rows + 1 index entries: enough to know whether to sample.
        SELECT count(*) INTO in_reach FROM (
            SELECT 1 FROM gcrm.customer_records r
            WHERE r.geom && box AND r.geom && reach LIMIT exact_rows + 1) s;
        IF in_reach > exact_rows THEN
            SELECT least(1.0, sample_rows / greatest(c.reltuples, 1.0)) INTO share
            FROM pg_class c WHERE c.oid = 'gcrm.customer_records'::regclass;
        END IF;
    END IF;
    IF share >= 1.0 THEN
{_COUNT.format(sample="")}
    ELSE
{_COUNT.format(sample="TABLESAMPLE SYSTEM (100 * share) REPEATABLE (0)")}
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION gcrm.customer_heat({_SIGNATURE}) TO gcrm_app;
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION gcrm.customer_heat({_SIGNATURE})")
