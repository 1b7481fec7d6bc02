"""Migration 0011: the reference without its unused indexes, views with centroids as means."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from gcrm.store import create_db_engine, init_schema
from tests.databases import new_database

SEED = """
INSERT INTO gcrm.address_points (ref, street, housenumber, postcode, city, street_norm,
    housenumber_norm, postcode_norm, city_norm, source, geom)
SELECT 'p' || i, 'Katu ' || (i % 3), (i % 7 + 1)::text, '0010' || (i % 2), 'Helsinki',
       'katu ' || (i % 3), (i % 7 + 1)::text, '0010' || (i % 2), 'helsinki', 'test',
       ST_SetSRID(ST_MakePoint(24.9 + i * 0.0013, 60.1 + (i % 5) * 0.0021), 4326)
FROM generate_series(1, 40) AS i;
INSERT INTO gcrm.postcode_points (postcode, postcode_norm, city, city_norm, source, geom)
VALUES ('00200', '00200', 'Helsinki', 'helsinki', 'test',
        ST_SetSRID(ST_MakePoint(24.88, 60.16), 4326));
"""
UNUSED = [
    "address_points_number_idx",
    "address_points_postcode_idx",
    "address_points_street_trgm_idx",
]
#: Each view's centroids as 0002 computed them, by the view's key.
CENTROIDS = {
    "address_streets": (
        "SELECT street_norm || '|' || postcode_norm, ST_Centroid(ST_Collect(geom)) "
        "FROM gcrm.address_points GROUP BY street_norm, postcode_norm"
    ),
    "address_postcodes": (
        "SELECT postcode_norm, ST_Centroid(ST_Collect(geom)) FROM gcrm.address_points "
        "GROUP BY postcode_norm UNION ALL SELECT postcode_norm, geom FROM gcrm.postcode_points"
    ),
    "address_localities": (
        "SELECT city_norm, ST_Centroid(ST_Collect(geom)) FROM (SELECT city_norm, geom "
        "FROM gcrm.address_points UNION ALL SELECT city_norm, geom FROM gcrm.postcode_points) c "
        "GROUP BY city_norm"
    ),
}
KEYS = {
    "address_streets": "street_norm || '|' || postcode_norm",
    "address_postcodes": "postcode_norm",
    "address_localities": "city_norm",
}


@pytest.fixture
def bare_url() -> Iterator[str]:
    with new_database(schema=False) as url:
        yield url


def _indexes(c: Connection) -> list[str]:
    return list(
        c.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'gcrm' "
                "AND tablename = 'address_points' ORDER BY 1"
            )
        ).scalars()
    )


def _largest_shift(c: Connection, view: str) -> float:
    """The largest distance (degrees) between a view's centroid and 0002's."""
    return float(
        c.execute(
            text(
                f"SELECT max(ST_Distance(v.geom, o.geom)) FROM gcrm.{view} v "
                f"JOIN ({CENTROIDS[view]}) AS o(key, geom) ON o.key = {KEYS[view]}"
            )
        ).scalar_one()
    )


def test_indexes_go_and_centroids_stay(bare_url: str) -> None:
    from alembic import command

    from gcrm.store.migrate import _config

    eng = create_db_engine(bare_url)
    try:
        assert init_schema(eng, revision="0010") == "0010"
        with eng.begin() as c:
            c.execute(text(SEED))
            c.execute(
                text(
                    "REFRESH MATERIALIZED VIEW gcrm.address_streets; "
                    "REFRESH MATERIALIZED VIEW gcrm.address_postcodes; "
                    "REFRESH MATERIALIZED VIEW gcrm.address_localities"
                )
            )
            before = _indexes(c)
        assert set(UNUSED) <= set(before)
        assert init_schema(eng, revision="0011") == "0011"
        with eng.connect() as c:
            assert _indexes(c) == sorted(set(before) - set(UNUSED))
            counts = [c.execute(text(f"SELECT count(*) FROM gcrm.{v}")).scalar_one() for v in KEYS]
            assert counts == [6, 3, 1]  # 3 streets x 2 postcodes; 2 postcodes + 1 given; 1 city
            for view in KEYS:
                assert _largest_shift(c, view) < 1e-9, view
                readable = c.execute(
                    text("SELECT has_table_privilege('gcrm_app', :v, 'SELECT')"),
                    {"v": f"gcrm.{view}"},
                ).scalar_one()
                assert readable, view
        cfg = _config()
        with eng.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0010")
        with eng.connect() as c:
            assert _indexes(c) == before
            assert all(_largest_shift(c, view) == 0 for view in KEYS)
    finally:
        eng.dispose()
