"""Codes as people write them; leads with attributes and geocode columns.

Revision ID: 0008
Revises: 0007

Codes. Shapefile and GeoPackage attributes are often floats, and gcrm stored their text:
areas ``35.0``, tracts ``17031839000.0``, postcodes ``94110.0``. Importers now write an
integral number as an integer (:func:`gcrm.io.code_text`); this revision rewrites what earlier
imports stored, the same way: a code that is an integral number written as a float
(``35.0``, ``35.000``, ``1.7031839E+10``) becomes the integer (``35``, ``17031839000``), in
every table that holds it, consistently:

- area codes, with their statistics (``area_stats``), the parent codes of the level below,
  user scopes (``user_scopes``) and the enriched area codes of every customer and lead
  (``*_enrichment.area_codes``); area names that are such numbers (a tract named
  ``839000.0``) too;
- customer ids, with their orders and enrichment; lead ids, with their enrichment; branch
  codes, with orders and the branch each point reaches (``branch_reached``);
- postcodes of customers, leads, branches, address points and postcode points (the
  geocoder's views are refreshed and its cache emptied when a reference postcode changed).

A code whose integer form already exists beside it (areas ``35`` and ``35.0`` in one level)
is left as it is: the two are different rows, and only the user can say which one is right.
A reference (parent code, scope, enriched code) is rewritten unless it still names an
existing area exactly. Leading zeros a float lost cannot be known here: import the file again
with ``--code-width``. The cube on disk holds the old codes until ``gcrm cube build``.
Going down leaves the codes as they are (the integer form is the right one either way).

Leads. A lead list as people have it has a name and a location, maybe an address to geocode,
and columns of its own. ``gcrm.lead_records`` gains ``attributes`` (jsonb: the file's other
columns, exported again) and ``geocode_precision``, ``geocode_score``, ``geocode_source``,
``matched_address`` (as customers have; empty for a lead whose file gave its location).
The view ``gcrm.leads`` is made again with them, keeping ``security_invoker`` (0006) and the
location comparison of 0007, and its grant to the application role.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: The application role of 0006, which reads the view under row-level security.
APP_ROLE = "gcrm_app"

_FUNCTIONS = r"""
CREATE FUNCTION pg_temp.float_code(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT code ~ '^[+-]?[0-9]+\.0*$' OR code ~ '^[+-]?[0-9]\.[0-9]+[eE]\+?[0-9]+$'
$$;
-- The integer a float-written code stands for; any other code unchanged.
CREATE FUNCTION pg_temp.code_text(code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN pg_temp.float_code(code) THEN
            CASE WHEN code::numeric = trunc(code::numeric) THEN trunc(code::numeric)::text
                 ELSE code END
        ELSE code END
$$;
"""

_DROP_FUNCTIONS = """
DROP FUNCTION pg_temp.code_text(text);
DROP FUNCTION pg_temp.float_code(text);
"""

# One new code per old one; none that would collide with an existing code or each other.
_AREAS = """
CREATE TEMPORARY TABLE _area_code_fix ON COMMIT DROP AS
SELECT level, old, new FROM (
    SELECT a.level, a.code AS old, pg_temp.code_text(a.code) AS new,
           row_number() OVER (PARTITION BY a.level, pg_temp.code_text(a.code) ORDER BY a.code) AS n
    FROM gcrm.areas a
    WHERE pg_temp.float_code(a.code) AND pg_temp.code_text(a.code) <> a.code
) f
WHERE n = 1
  AND NOT EXISTS (SELECT FROM gcrm.areas b WHERE b.level = f.level AND b.code = f.new);

ALTER TABLE gcrm.area_stats DROP CONSTRAINT area_stats_level_code_fkey;
UPDATE gcrm.areas a SET code = f.new
FROM _area_code_fix f WHERE a.level = f.level AND a.code = f.old;
UPDATE gcrm.area_stats s SET code = f.new
FROM _area_code_fix f WHERE s.level = f.level AND s.code = f.old;
ALTER TABLE gcrm.area_stats ADD CONSTRAINT area_stats_level_code_fkey
    FOREIGN KEY (level, code) REFERENCES gcrm.areas (level, code) ON DELETE CASCADE;

UPDATE gcrm.areas c SET parent_code = pg_temp.code_text(c.parent_code)
FROM gcrm.area_levels l
WHERE l.level = c.level AND pg_temp.float_code(c.parent_code)
  AND NOT EXISTS (
      SELECT FROM gcrm.areas p WHERE p.level = l.parent_level AND p.code = c.parent_code);
UPDATE gcrm.areas SET name = pg_temp.code_text(name) WHERE pg_temp.float_code(name);

-- A scope is a key (user, level, code): a float spelling beside its integer one goes.
DELETE FROM gcrm.user_scopes s
WHERE pg_temp.float_code(s.code)
  AND NOT EXISTS (SELECT FROM gcrm.areas a WHERE a.level = s.level AND a.code = s.code)
  AND EXISTS (
      SELECT FROM gcrm.user_scopes t
      WHERE t.user_id = s.user_id AND t.level = s.level AND t.code = pg_temp.code_text(s.code));
UPDATE gcrm.user_scopes s SET code = pg_temp.code_text(s.code)
WHERE pg_temp.float_code(s.code)
  AND NOT EXISTS (SELECT FROM gcrm.areas a WHERE a.level = s.level AND a.code = s.code);
"""

_AREA_CODES = """
UPDATE gcrm.{entity}_enrichment e SET area_codes = (
    SELECT jsonb_object_agg(
        k.key,
        CASE WHEN pg_temp.float_code(k.value)
              AND NOT EXISTS (SELECT FROM gcrm.areas a WHERE a.level = k.key AND a.code = k.value)
             THEN pg_temp.code_text(k.value) ELSE k.value END)
    FROM jsonb_each_text(e.area_codes) k)
WHERE EXISTS (SELECT FROM jsonb_each_text(e.area_codes) k WHERE pg_temp.float_code(k.value));
"""


def _ids(
    table: str,
    key: str,
    *,
    references: tuple[tuple[str, str], ...],
    constraints: tuple[tuple[str, str, str], ...] = (),
) -> str:
    """Rewrite the float-written keys of ``table`` and every column that references them.

    ``references`` are (table, column) pairs holding the key; ``constraints`` the foreign
    keys among them as (table, name, definition), dropped and made again around the update.
    """
    fix = f"_{table.split('.')[-1]}_fix"
    drops = "\n".join(f"ALTER TABLE {t} DROP CONSTRAINT {name};" for t, name, _ in constraints)
    adds = "\n".join(
        f"ALTER TABLE {t} ADD CONSTRAINT {name} {definition};"
        for t, name, definition in constraints
    )
    updates = "\n".join(
        f"UPDATE {t} x SET {column} = f.new FROM {fix} f WHERE x.{column} = f.old;"
        for t, column in ((table, key), *references)
    )
    return f"""
CREATE TEMPORARY TABLE {fix} ON COMMIT DROP AS
SELECT old, new FROM (
    SELECT {key} AS old, pg_temp.code_text({key}) AS new,
           row_number() OVER (PARTITION BY pg_temp.code_text({key}) ORDER BY {key}) AS n
    FROM {table}
    WHERE pg_temp.float_code({key}) AND pg_temp.code_text({key}) <> {key}
) f
WHERE n = 1 AND NOT EXISTS (SELECT FROM {table} t WHERE t.{key} = f.new);
{drops}
{updates}
{adds}
"""


_CUSTOMER_IDS = _ids(
    "gcrm.customer_records",
    "external_id",
    references=(
        ("gcrm.orders", "customer_external_id"),
        ("gcrm.customer_enrichment", "external_id"),
    ),
    constraints=(
        (
            "gcrm.orders",
            "orders_customer_external_id_fkey",
            "FOREIGN KEY (customer_external_id) REFERENCES gcrm.customer_records (external_id) "
            "ON DELETE CASCADE",
        ),
    ),
)
_LEAD_IDS = _ids(
    "gcrm.lead_records", "external_id", references=(("gcrm.lead_enrichment", "external_id"),)
)
_BRANCH_CODES = _ids(
    "gcrm.branches",
    "code",
    references=(
        ("gcrm.orders", "branch_code"),
        ("gcrm.customer_enrichment", "branch_reached"),
        ("gcrm.lead_enrichment", "branch_reached"),
    ),
    constraints=(
        (
            "gcrm.orders",
            "orders_branch_code_fkey",
            "FOREIGN KEY (branch_code) REFERENCES gcrm.branches (code)",
        ),
    ),
)

_POSTCODES = """
UPDATE gcrm.customer_records SET postcode = pg_temp.code_text(postcode)
WHERE pg_temp.float_code(postcode);
UPDATE gcrm.lead_records SET postcode = pg_temp.code_text(postcode)
WHERE pg_temp.float_code(postcode);
UPDATE gcrm.branches SET postcode = pg_temp.code_text(postcode)
WHERE pg_temp.float_code(postcode);
DO $$
BEGIN
    IF EXISTS (SELECT FROM gcrm.address_points WHERE pg_temp.float_code(postcode))
       OR EXISTS (SELECT FROM gcrm.postcode_points WHERE pg_temp.float_code(postcode)) THEN
        UPDATE gcrm.address_points SET postcode = pg_temp.code_text(postcode)
        WHERE pg_temp.float_code(postcode);
        UPDATE gcrm.postcode_points p SET postcode = pg_temp.code_text(p.postcode)
        WHERE pg_temp.float_code(p.postcode)
          AND NOT EXISTS (
              SELECT FROM gcrm.postcode_points q WHERE q.postcode = pg_temp.code_text(p.postcode));
        REFRESH MATERIALIZED VIEW gcrm.address_streets;
        REFRESH MATERIALIZED VIEW gcrm.address_postcodes;
        TRUNCATE gcrm.geocode_cache;
    END IF;
END
$$;
"""

_DERIVED = """
    coalesce(e.area_codes, '{}'::jsonb) AS area_codes, e.zoning_class,
    e.business_park_distance_m, e.road_class, e.road_name, e.road_speed_kmh,
    e.road_distance_m, e.drive_time_s, e.branch_reached,
    CASE WHEN (e.geom = r.geom OR (e.geom IS NULL AND r.geom IS NULL)) THEN e.enriched_at END
        AS enriched_at
"""
LEAD_COLUMNS_0007 = (
    "external_id, name, category_group, category, street, housenumber, postcode, city, "
    "phone, website, source, geom"
)
LEAD_COLUMNS = (
    LEAD_COLUMNS_0007 + ", geocode_precision, geocode_score, geocode_source, matched_address, "
    "attributes"
)


def _leads_view(columns: str) -> str:
    record_cols = ", ".join(f"r.{c.strip()}" for c in columns.split(","))
    return f"""
DROP VIEW gcrm.leads;
CREATE VIEW gcrm.leads WITH (security_invoker = true) AS
SELECT {record_cols}, {_DERIVED}
FROM gcrm.lead_records r
LEFT JOIN gcrm.lead_enrichment e ON e.external_id = r.external_id;
GRANT SELECT ON gcrm.leads TO {APP_ROLE};
"""


_LEAD_COLUMNS_UP = """
ALTER TABLE gcrm.lead_records
    ADD COLUMN geocode_precision text,
    ADD COLUMN geocode_score double precision,
    ADD COLUMN geocode_source text,
    ADD COLUMN matched_address text,
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb;
"""
_LEAD_COLUMNS_DOWN = """
ALTER TABLE gcrm.lead_records
    DROP COLUMN geocode_precision, DROP COLUMN geocode_score, DROP COLUMN geocode_source,
    DROP COLUMN matched_address, DROP COLUMN attributes;
"""


def upgrade() -> None:
    """Rewrite float-written codes; add the lead columns and make ``gcrm.leads`` again."""
    op.execute(_FUNCTIONS)
    op.execute(_AREAS)
    op.execute(_AREA_CODES.format(entity="customer"))
    op.execute(_AREA_CODES.format(entity="lead"))
    op.execute(_CUSTOMER_IDS)
    op.execute(_LEAD_IDS)
    op.execute(_BRANCH_CODES)
    op.execute(_POSTCODES)
    op.execute(_DROP_FUNCTIONS)
    op.execute(_LEAD_COLUMNS_UP)
    op.execute(_leads_view(LEAD_COLUMNS))


def downgrade() -> None:
    """Drop the lead columns (and make the 0007 view again); codes stay as integers."""
    op.execute(_leads_view(LEAD_COLUMNS_0007))
    op.execute(_LEAD_COLUMNS_DOWN)
