"""Migration 0017: customers' category and the lead they came from, in records and view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from gcrm.store import create_db_engine, init_schema
from tests.databases import new_database

SEED = """
INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, geom,
    geocode_precision, geocode_score, geocode_source)
VALUES ('C1', 'Ada', 'smb', 'active', '2024-01-01',
        ST_SetSRID(ST_MakePoint(24.94, 60.17), 4326), 'rooftop', 1, 'test');
"""
VIEW_COLUMNS = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = 'gcrm' AND table_name = 'customers' ORDER BY ordinal_position"
)
VIEW_DEFINITION = "SELECT pg_get_viewdef('gcrm.customers'::regclass)"
INVOKER = "SELECT reloptions FROM pg_class WHERE oid = 'gcrm.customers'::regclass"
READABLE = "SELECT has_table_privilege('gcrm_app', 'gcrm.customers', 'SELECT')"


@pytest.fixture
def migrated() -> Iterator[Engine]:
    with new_database(schema=False) as url:
        eng = create_db_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


def _columns(conn: Connection) -> list[str]:
    return list(conn.execute(text(VIEW_COLUMNS)).scalars())


def test_columns_are_added_and_appended_to_the_view_and_go_again(migrated: Engine) -> None:
    assert init_schema(migrated, revision="0016") == "0016"
    with migrated.begin() as conn:
        conn.execute(text(SEED))
        before_columns = _columns(conn)
        before_view = conn.execute(text(VIEW_DEFINITION)).scalar_one()
    assert init_schema(migrated, revision="0017") == "0017"
    with migrated.connect() as conn:
        columns = _columns(conn)
        assert columns == [*before_columns, "category_group", "category", "lead_external_id"]
        row = conn.execute(
            text("SELECT category_group, category, lead_external_id FROM gcrm.customers")
        ).one()
        assert tuple(row) == ("", "", None)  # a customer of before has no category
        assert conn.execute(text(INVOKER)).scalar_one() == ["security_invoker=true"]
        assert conn.execute(text(READABLE)).scalar_one()
    with migrated.begin() as conn:
        conn.execute(
            text(
                "UPDATE gcrm.customer_records SET category_group = 'amenity', "
                "category = 'cafe', lead_external_id = 'osm:node/1'"
            )
        )
        found = conn.execute(
            text("SELECT external_id FROM gcrm.customers WHERE lead_external_id = 'osm:node/1'")
        ).scalar_one()
        assert found == "C1"
    from alembic import command

    from gcrm.store.migrate import _config

    cfg = _config()
    with migrated.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
    with migrated.connect() as conn:
        assert _columns(conn) == before_columns
        assert conn.execute(text(VIEW_DEFINITION)).scalar_one() == before_view
        assert conn.execute(text(INVOKER)).scalar_one() == ["security_invoker=true"]
        assert conn.execute(text(READABLE)).scalar_one()
        assert conn.execute(text("SELECT name FROM gcrm.customers")).scalar_one() == "Ada"
