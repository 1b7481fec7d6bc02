"""A grid of cells with customers, orders and an island, in a committed database of its own,
for the territory design and plan tests (fixtures ``grid_url`` and ``units``)."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pytest
from sqlalchemy import text

from gcrm.store import create_db_engine
from gcrm.territories import read_design_units
from tests.databases import new_database

SIDE = 8  # an 8 x 8 grid of cells, plus one island off its corner
UNITS = SIDE * SIDE + 1

GRID_SQL = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('cell', NULL, 1, 'Cell', 'test');
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
SELECT 'cell', format('C%s%s', i, j), format('Cell %s-%s', i, j), NULL, 'test',
       ST_Multi(ST_MakeEnvelope(24.9 + i * 0.01, 60.1 + j * 0.005,
                                24.91 + i * 0.01, 60.105 + j * 0.005, 4326))
FROM generate_series(0, 7) i, generate_series(0, 7) j;
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom)
VALUES ('cell', 'ISLAND', 'Island', NULL, 'test',
        ST_Multi(ST_MakeEnvelope(25.1, 60.2, 25.11, 60.205, 4326)));
INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, churn_date,
    geom, geocode_precision, geocode_score, geocode_source)
SELECT format('%s-%s', a.code, n), 'Customer', 'retail', 'active', '2025-01-01', NULL,
       ST_PointOnSurface(a.geom), 'rooftop', 1, 'test'
FROM gcrm.areas a, generate_series(1, 1 + abs(hashtext(a.code)) % 9) n
WHERE a.level = 'cell';
INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes)
SELECT r.external_id, r.geom, jsonb_build_object('cell', split_part(r.external_id, '-', 1))
FROM gcrm.customer_records r;
INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount, channel)
SELECT 'O-' || external_id, external_id, '2025-02-01', 10 + abs(hashtext(external_id)) % 500, 'web'
FROM gcrm.customer_records
"""


@pytest.fixture(scope="module")
def grid_url() -> Iterator[str]:
    """A committed database of its own holding the grid (the CLI reads it)."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                for statement in filter(str.strip, GRID_SQL.split(";")):
                    conn.execute(text(statement))
            yield url
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def units(grid_url: str) -> gpd.GeoDataFrame:
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            return read_design_units(conn, level="cell", criteria=["customers", "revenue"])
    finally:
        engine.dispose()
