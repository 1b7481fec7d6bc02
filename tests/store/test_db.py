"""The database boundary: migrations, COPY in, binary WKB out, clear connection errors."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point
from sqlalchemy import Connection, Engine, text

from gcrm.core import DatabaseError
from gcrm.store import copy_frame, create_db_engine, init_schema, read_geodataframe
from gcrm.store.migrate import current_revision, head_revision
from tests.databases import new_database


@pytest.fixture
def bare_database_url() -> Iterator[str]:
    """A new database with gcrm's extensions and no schema, dropped after the test."""
    with new_database(schema=False) as url:
        yield url


def test_schema_is_at_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == "0023"
    assert init_schema(engine) == "0023"
    with engine.connect() as conn:
        exts = {r[0] for r in conn.execute(text("SELECT extname FROM pg_extension"))}
    assert {"postgis", "pg_trgm", "fuzzystrmatch"} <= exts


def test_copy_in_and_wkb_out_round_trip(conn: Connection) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["B1", "B2"], "name": ["North", 'Sö\'uth, "quoted"\ttab']},
        geometry=[Point(24.94, 60.17), Point(24.95, 60.16)],
        crs="EPSG:4326",
    ).rename_geometry("geom")
    assert copy_frame(conn, "gcrm.branches", gdf) == 2
    back = read_geodataframe(
        conn, "SELECT code, name, ST_AsBinary(geom) AS geom FROM gcrm.branches ORDER BY code"
    )
    assert_geodataframe_equal(back.rename_geometry("geom"), gdf, check_less_precise=False)


def test_unreachable_database_names_the_setting_and_the_fix() -> None:
    with pytest.raises(DatabaseError, match=r"GCRM_DATABASE_URL=.*make demo"):
        create_db_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")


def test_migration_0005_moves_enrichment_out_and_back(bare_database_url: str) -> None:
    """0004 -> 0005 keeps every derived value (now in *_enrichment, read through the views);
    back to 0004 puts them in place again."""
    from alembic import command

    from gcrm.store.migrate import _config

    eng = create_db_engine(bare_database_url)
    try:
        init_schema(eng, revision="0004")
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO gcrm.customers (external_id, name, segment, status, signup_date, "
                    "geom, geocode_precision, geocode_score, geocode_source, area_codes, "
                    "road_class, drive_time_s, enriched_at) VALUES "
                    "('C1', 'A', 'retail', 'active', '2025-01-01', "
                    "ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326), 'rooftop', 1, 't', "
                    "'{\"district\": \"D1\"}', 'primary', 60, now()), "
                    "('C2', 'B', 'retail', 'active', '2025-01-01', NULL, 'none', 0, 't', '{}', "
                    "NULL, NULL, NULL)"
                )
            )
        assert init_schema(eng, revision="0005") == "0005"
        query = (
            "SELECT external_id, area_codes, road_class, drive_time_s, enriched_at IS NOT NULL "
            "FROM gcrm.customers ORDER BY 1"
        )
        with eng.connect() as c:
            rows = [tuple(r) for r in c.execute(text(query))]
            kinds = dict(
                c.execute(
                    text(
                        "SELECT relname, relkind FROM pg_class WHERE relname IN "
                        "('customers', 'customer_records', 'customer_enrichment')"
                    )
                ).all()
            )
        assert rows == [
            ("C1", {"district": "D1"}, "primary", 60.0, True),
            ("C2", {}, None, None, False),
        ]
        assert kinds == {"customers": "v", "customer_records": "r", "customer_enrichment": "r"}
        cfg = _config()
        with eng.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0004")
        with eng.connect() as c:
            assert [tuple(r) for r in c.execute(text(query))] == rows
    finally:
        eng.dispose()


def test_migration_0006_access_goes_down_and_up_again(bare_database_url: str) -> None:
    """Row-level security, users and the audit log come and go with 0006, and come back."""
    from alembic import command

    from gcrm.store.migrate import _config

    eng = create_db_engine(bare_database_url)
    rls = (
        "SELECT relname FROM pg_class WHERE relrowsecurity AND relnamespace = 'gcrm'::regnamespace "
        "ORDER BY 1"
    )
    try:
        assert init_schema(eng) == head_revision()
        with eng.connect() as c:
            protected = list(c.execute(text(rls)).scalars())
        assert protected == [
            "area_stats",
            "areas",
            "campaign_members",
            "campaign_responses",
            "customer_enrichment",
            "customer_records",
            "customer_scores",
            "lead_enrichment",
            "lead_records",
            "lead_road_access",
            "lead_scores",
            "orders",
        ]
        cfg = _config()
        with eng.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0005")
        with eng.connect() as c:
            assert list(c.execute(text(rls)).scalars()) == []
            assert c.execute(text("SELECT to_regclass('gcrm.users')")).scalar() is None
        assert init_schema(eng) == head_revision()
    finally:
        eng.dispose()


def test_a_failing_migration_is_one_clear_error_and_changes_nothing(bare_database_url: str) -> None:
    eng = create_db_engine(bare_database_url)
    try:
        assert init_schema(eng, revision="0009") == "0009"
        with eng.begin() as c:  # what migration 0010 creates, made by hand
            c.execute(
                text(
                    "CREATE FUNCTION gcrm.nearest_lead_ids(float8, float8, float8, integer, "
                    "text[], text[]) RETURNS TABLE (external_id text, distance_m float8) "
                    "LANGUAGE sql AS 'SELECT NULL::text, NULL::float8'"
                )
            )
        with pytest.raises(
            DatabaseError,
            match=r"from revision 0009 to head failed, nothing was changed: function \"nearest_lead_ids\" already exists",
        ):
            init_schema(eng)
        assert current_revision(eng) == "0009"
    finally:
        eng.dispose()
