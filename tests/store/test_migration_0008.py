"""Migration 0008 on a database that earlier imports filled with float-written codes: every
table that holds a code is rewritten consistently, row-level security still finds the
rows, and the leads view gains its columns (and loses them going down)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from gcrm.store import create_db_engine, init_schema
from tests.databases import new_database

SQUARE = "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 1, 0 0)))', 4326)"
POINT = "ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326)"
# What imports before 0008 stored from Shapefile floats: codes, parents, names, ids and
# postcodes with ".0"; one tract both as "5.0" and "5" (two rows only a person can merge).
AT_0007 = f"""
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) VALUES
    ('county', NULL, 1, 'County', 'test'), ('tract', 'county', 2, 'Tract', 'test');
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) VALUES
    ('county', '31.0', 'Cook', NULL, 'test', {SQUARE}),
    ('tract', '17031839000.0', '839000.0', '31.0', 'test', {SQUARE}),
    ('tract', '1.70318391E+10', 'sci', '31.0', 'test', {SQUARE}),
    ('tract', '5.0', 'float five', '31.0', 'test', {SQUARE}),
    ('tract', '5', 'five', '31.0', 'test', {SQUARE}),
    ('tract', 'T-9.0', 'not a number', '99.0', 'test', {SQUARE});
INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage) VALUES
    ('tract', '17031839000.0', 'population', 3200, 'ACS', '2022'),
    ('tract', '5.0', 'population', 5, 'ACS', '2022');
INSERT INTO gcrm.branches (code, name, postcode, geom) VALUES ('7.0', 'South', '60616.0', {POINT});
INSERT INTO gcrm.customer_records (external_id, name, postcode, segment, status, signup_date,
    geom, geocode_precision, geocode_score, geocode_source) VALUES
    ('12.0', 'Ada', '60616.0', 'retail', 'active', '2024-01-01', {POINT}, 'rooftop', 1, 'test'),
    ('13', 'Bo', '60653', 'retail', 'active', '2024-01-01', {POINT}, 'rooftop', 1, 'test');
INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount, branch_code)
VALUES ('O1', '12.0', '2024-02-01', 10, '7.0');
INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes, branch_reached) VALUES
    ('12.0', {POINT}, '{{"county": "31.0", "tract": "17031839000.0"}}', '7.0'),
    ('13', {POINT}, '{{"county": "31.0", "tract": "5.0"}}', '7.0');
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, postcode, source, geom)
VALUES ('501.0', 'Cafe', 'amenity', 'cafe', '60616.0', 'test', {POINT});
INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes)
VALUES ('501.0', {POINT}, '{{"tract": "17031839000.0"}}');
INSERT INTO gcrm.address_points (ref, street, housenumber, postcode, city, street_norm,
    housenumber_norm, postcode_norm, city_norm, source, geom)
VALUES ('a1', 'S State St', '3300', '60616.0', 'Chicago', 's state st', '3300', '60616',
    'chicago', 'test', {POINT});
INSERT INTO gcrm.users (id, name, role) VALUES (901, 'cook', 'manager'), (902, 'five', 'manager');
INSERT INTO gcrm.user_scopes (user_id, level, code) VALUES
    (901, 'tract', '17031839000.0'), (902, 'tract', '5.0');
"""


@pytest.fixture
def migrated() -> Iterator[Engine]:
    """A database filled at 0007, then migrated to 0008."""
    with new_database(schema=False) as url:
        engine = create_db_engine(url)
        try:
            assert init_schema(engine, revision="0007") == "0007"
            with engine.begin() as conn:
                conn.execute(text(AT_0007))
            assert init_schema(engine, revision="0008") == "0008"
            yield engine
        finally:
            engine.dispose()


def _rows(conn: Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(text(sql))]


def test_codes_are_integers_in_every_table(migrated: Engine) -> None:
    with migrated.connect() as conn:
        assert _rows(
            conn, "SELECT level, code, name, parent_code FROM gcrm.areas ORDER BY 1, 2"
        ) == [
            ("county", "31", "Cook", None),
            ("tract", "17031839000", "839000", "31"),
            ("tract", "17031839100", "sci", "31"),
            ("tract", "5", "five", "31"),
            ("tract", "5.0", "float five", "31"),  # its integer form exists: left alone
            ("tract", "T-9.0", "not a number", "99"),  # an orphan's parent code is rewritten
        ]
        assert _rows(conn, "SELECT code, value FROM gcrm.area_stats ORDER BY 1") == [
            ("17031839000", 3200.0),
            ("5.0", 5.0),
        ]
        assert _rows(conn, "SELECT code, postcode FROM gcrm.branches") == [("7", "60616")]
        assert _rows(
            conn, "SELECT external_id, postcode FROM gcrm.customer_records ORDER BY 1"
        ) == [
            ("12", "60616"),
            ("13", "60653"),
        ]
        assert _rows(conn, "SELECT customer_external_id, branch_code FROM gcrm.orders") == [
            ("12", "7")
        ]
        assert _rows(
            conn,
            "SELECT external_id, area_codes, branch_reached FROM gcrm.customer_enrichment "
            "ORDER BY 1",
        ) == [
            ("12", {"county": "31", "tract": "17031839000"}, "7"),
            ("13", {"county": "31", "tract": "5.0"}, "7"),  # still names the area "5.0"
        ]
        assert _rows(conn, "SELECT external_id, postcode, area_codes FROM gcrm.leads") == [
            ("501", "60616", {"tract": "17031839000"})
        ]
        assert _rows(conn, "SELECT postcode, postcode_norm FROM gcrm.address_points") == [
            ("60616", "60616")
        ]
        assert _rows(conn, "SELECT min(postcode) FROM gcrm.address_postcodes") == [("60616",)]
        assert _rows(conn, "SELECT user_id, code FROM gcrm.user_scopes ORDER BY 1") == [
            (901, "17031839000"),
            (902, "5.0"),
        ]


def test_row_level_security_finds_the_rewritten_rows(migrated: Engine) -> None:
    """A scope written as a float before names the same rows after."""
    with migrated.connect() as conn:
        conn.execute(text("SET ROLE gcrm_app"))
        seen = {}
        for user in (901, 902):
            conn.execute(text("SELECT set_config('gcrm.user_id', :u, false)"), {"u": str(user)})
            seen[user] = (
                list(conn.execute(text("SELECT external_id FROM gcrm.customers")).scalars()),
                list(conn.execute(text("SELECT external_id FROM gcrm.leads")).scalars()),
            )
        conn.execute(text("RESET ROLE"))
    assert seen[901] == (["12"], ["501"])
    assert seen[902] == (["13"], [])


def test_the_leads_view_gains_its_columns_and_loses_them_going_down(migrated: Engine) -> None:
    view_columns = (
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'gcrm' AND table_name = 'leads' ORDER BY ordinal_position"
    )
    invoker = "SELECT reloptions FROM pg_class WHERE oid = 'gcrm.leads'::regclass"
    with migrated.connect() as conn:
        columns = list(conn.execute(text(view_columns)).scalars())
        assert columns[:17] == [
            "external_id", "name", "category_group", "category", "street", "housenumber",
            "postcode", "city", "phone", "website", "source", "geom", "geocode_precision",
            "geocode_score", "geocode_source", "matched_address", "attributes",
        ]  # fmt: skip
        assert "enriched_at" in columns and "area_codes" in columns
        assert conn.execute(text(invoker)).scalar_one() == ["security_invoker=true"]
        assert conn.execute(
            text("SELECT has_table_privilege('gcrm_app', 'gcrm.leads', 'SELECT')")
        ).scalar_one()
    from alembic import command

    from gcrm.store.migrate import _config

    cfg = _config()
    with migrated.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with migrated.connect() as conn:
        down = list(conn.execute(text(view_columns)).scalars())
        assert "attributes" not in down and "geocode_precision" not in down
        assert conn.execute(text(invoker)).scalar_one() == ["security_invoker=true"]
        assert conn.execute(
            text("SELECT has_table_privilege('gcrm_app', 'gcrm.leads', 'SELECT')")
        ).scalar_one()
        # The codes stay integers: that form is right at any revision.
        assert _rows(conn, "SELECT code FROM gcrm.areas WHERE level = 'county'") == [("31",)]
    assert init_schema(migrated) is not None
    with migrated.connect() as conn:
        assert "attributes" in list(conn.execute(text(view_columns)).scalars())
