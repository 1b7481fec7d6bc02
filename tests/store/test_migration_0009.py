"""Migration 0009: the vintage joins the key of area_stats, and going down keeps the latest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from gcrm.store import create_db_engine, head_revision, init_schema
from tests.databases import new_database

SEED = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('zone', NULL, 1, 'Zone', 'test');
INSERT INTO gcrm.areas (level, code, name, derivation, geom)
VALUES ('zone', 'Z1', 'Zone 1', 'test',
        ST_Multi(ST_MakeEnvelope(24.9, 60.1, 25.0, 60.2, 4326)));
INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage) VALUES
    ('zone', 'Z1', 'population', 10, 'a', '2019'),
    ('zone', 'Z1', 'population', 12, 'b', 'ACS 2018-2022'),
    ('zone', 'Z1', 'population', 11, 'c', 'not stated'),
    ('zone', 'Z1', 'households', 5, 'a', 'not stated');
"""


@pytest.fixture
def bare_url() -> Iterator[str]:
    with new_database(schema=False) as url:
        yield url


def test_vintages_side_by_side_and_down_keeps_the_latest(bare_url: str) -> None:
    from alembic import command

    from gcrm.store.migrate import _config

    eng = create_db_engine(bare_url)
    try:
        assert init_schema(eng) == head_revision()
        with eng.begin() as c:
            c.execute(text(SEED))
        cfg = _config()
        with eng.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0008")
        with eng.connect() as c:
            rows = c.execute(
                text("SELECT measure, value, vintage FROM gcrm.area_stats ORDER BY measure")
            ).all()
        # 2022 (the last year of "ACS 2018-2022") beats 2019; no year comes last.
        assert [tuple(r) for r in rows] == [
            ("households", 5, "not stated"),
            ("population", 12, "ACS 2018-2022"),
        ]
        assert init_schema(eng) == head_revision()
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage) "
                    "VALUES ('zone', 'Z1', 'population', 9, 'a', '2015')"
                )
            )
            assert c.execute(text("SELECT count(*) FROM gcrm.area_stats")).scalar_one() == 3
    finally:
        eng.dispose()
