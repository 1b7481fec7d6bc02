"""Migration 0012: the reference's keys under ``COLLATE "C"``, its views and indexes kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from gcrm.store import create_db_engine, init_schema
from tests.databases import new_database
from tests.store.test_migration_0011 import SEED

KEYS = ["city_norm", "housenumber_norm", "postcode_norm", "ref", "street_norm"]
VIEWS = ["address_localities", "address_postcodes", "address_streets"]


@pytest.fixture
def bare_url() -> Iterator[str]:
    with new_database(schema=False) as url:
        yield url


def _collations(c: Connection) -> dict[str, str | None]:
    rows = c.execute(
        text(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = 'gcrm' AND table_name = 'address_points' "
            "AND data_type = 'text'"
        )
    ).all()
    return {name: collation for name, collation in rows}


def _state(c: Connection) -> tuple[list[str], list[list[object]]]:
    indexes = list(
        c.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'gcrm' "
                "AND tablename = ANY(:t) ORDER BY 1"
            ),
            {"t": ["address_points", *VIEWS]},
        ).scalars()
    )
    rows = [
        [tuple(r) for r in c.execute(text(f"SELECT * FROM gcrm.{v} ORDER BY 1, 2")).all()]
        for v in VIEWS
    ]
    return indexes, rows


def test_keys_compare_bytes_and_everything_else_stays(bare_url: str) -> None:
    from alembic import command

    from gcrm.store.migrate import _config

    eng = create_db_engine(bare_url)
    try:
        assert init_schema(eng, revision="0011") == "0011"
        with eng.begin() as c:
            c.execute(text(SEED))
            for view in VIEWS:
                c.execute(text(f"REFRESH MATERIALIZED VIEW gcrm.{view}"))
            before = _state(c)
            assert not any(_collations(c).values())
        assert init_schema(eng, revision="0012") == "0012"
        with eng.connect() as c:
            collations = _collations(c)
            assert sorted(k for k, v in collations.items() if v == "C") == KEYS
            assert collations["street"] is None  # what users read keeps the default
            assert _state(c) == before
            for view in VIEWS:
                readable = c.execute(
                    text("SELECT has_table_privilege('gcrm_app', :v, 'SELECT')"),
                    {"v": f"gcrm.{view}"},
                ).scalar_one()
                assert readable, view
            # A key compared with a value of the default collation still finds its index.
            c.execute(text("SET LOCAL enable_seqscan = off"))  # 40 rows: else read whole
            plan = "\n".join(
                c.execute(
                    text(
                        "EXPLAIN SELECT * FROM gcrm.address_points "
                        "WHERE street_norm = CAST(:s AS text) AND housenumber_norm = '1'"
                    ),
                    {"s": "katu 1"},
                ).scalars()
            )
            assert "address_points_street" in plan, plan
        cfg = _config()
        with eng.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0011")
        with eng.connect() as c:
            assert not any(_collations(c).values())
            assert _state(c) == before
    finally:
        eng.dispose()
