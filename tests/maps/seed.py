"""A tiny region written with SQL: two districts, customers, orders, leads, a branch.

Shared by tests/maps, tests/leads and tests/territories (through the ``region`` and
``seeded`` fixtures of tests/conftest.py); and ``browser_dom``, a page as Chromium renders it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

from gcrm.core import Settings
from gcrm.cube import build_region_cube, save_cube
from gcrm.store import create_db_engine
from tests.chromium import CHROMIUM, HEADLESS_ARGS, NO_NETWORK
from tests.databases import new_database

# Two squares side by side in central Helsinki (EPSG:4326).
DISTRICTS = {
    "D01": (
        "Kamppi",
        "MULTIPOLYGON(((24.92 60.16, 24.94 60.16, 24.94 60.17, 24.92 60.17, 24.92 60.16)))",
    ),
    "D02": (
        "Kluuvi & <Co>",
        "MULTIPOLYGON(((24.94 60.16, 24.96 60.16, 24.96 60.17, 24.94 60.17, 24.94 60.16)))",
    ),
}

SEED_SQL = """
INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation)
VALUES ('district', NULL, 1, 'District', 'test');
INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) VALUES
    ('district', 'D01', :n1, NULL, 'test', ST_GeomFromText(:g1, 4326)),
    ('district', 'D02', :n2, NULL, 'test', ST_GeomFromText(:g2, 4326));
INSERT INTO gcrm.area_stats (level, code, measure, value, source, vintage) VALUES
    ('district', 'D01', 'population', 1000, 'test', '2025'),
    ('district', 'D01', 'households', 400, 'test', '2025'),
    ('district', 'D02', 'population', 500, 'test', '2025'),
    ('district', 'D02', 'households', 250, 'test', '2025');
INSERT INTO gcrm.branches (code, name, geom)
VALUES ('B1', 'Central branch', ST_SetSRID(ST_MakePoint(24.941, 60.169), 4326));
INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, churn_date,
    geom, geocode_precision, geocode_score, geocode_source) VALUES
    ('C1', 'Aino Active', 'retail', 'active', '2025-01-05', NULL,
     ST_SetSRID(ST_MakePoint(24.930, 60.165), 4326), 'rooftop', 1, 'test'),
    ('C2', 'Bo Churned', 'retail', 'churned', '2025-01-10', '2025-02-20',
     ST_SetSRID(ST_MakePoint(24.931, 60.166), 4326), 'street', 0.7, 'test'),
    ('C3', 'Cafe Corp', 'business', 'active', '2025-02-01', NULL,
     ST_SetSRID(ST_MakePoint(24.950, 60.165), 4326), 'interpolated', 0.9, 'test'),
    ('C4', 'Dan Nowhere', 'retail', 'active', '2025-01-01', NULL, NULL, 'none', 0, 'test');
INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes)
SELECT r.external_id, r.geom, CAST(v.codes AS jsonb)
FROM gcrm.customer_records r
JOIN (VALUES ('C1', '{"district": "D01"}'), ('C2', '{"district": "D01"}'),
             ('C3', '{"district": "D02"}'), ('C4', '{}')) v (external_id, codes)
  ON v.external_id = r.external_id;
INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount, channel) VALUES
    ('O1', 'C1', '2025-01-10', 100.00, 'web'),
    ('O2', 'C1', '2025-03-10', 50.00, 'web'),
    ('O3', 'C2', '2025-01-15', 70.00, 'shop'),
    ('O4', 'C3', '2025-02-03', 500.00, 'shop'),
    ('O5', 'C3', '2025-03-03', 250.50, 'shop');
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, geom) VALUES
    ('L1', 'Kahvila Yksi', 'food', 'cafe', 'test', ST_SetSRID(ST_MakePoint(24.932, 60.165), 4326)),
    ('L2', 'Ravintola Kaksi', 'food', 'restaurant', 'test',
     ST_SetSRID(ST_MakePoint(24.955, 60.166), 4326));
INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes, zoning_class)
SELECT r.external_id, r.geom, CAST(v.codes AS jsonb), v.zoning
FROM gcrm.lead_records r
JOIN (VALUES ('L1', '{"district": "D01"}', 'commercial'), ('L2', '{"district": "D02"}', 'mixed'))
  v (external_id, codes, zoning) ON v.external_id = r.external_id;
"""


def seed_region(conn: Connection) -> None:
    """Insert the tiny region on ``conn`` (rolled back with the test)."""
    params = {"n1": DISTRICTS["D01"][0], "g1": DISTRICTS["D01"][1]}
    params |= {"n2": DISTRICTS["D02"][0], "g2": DISTRICTS["D02"][1]}
    for statement in filter(str.strip, SEED_SQL.split(";")):
        conn.execute(text(statement), params)


@contextmanager
def seeded_settings(tmp_dir: Path) -> Iterator[Settings]:
    """A committed database of its own with the tiny region and its saved cube.

    For CLI tests, whose commands open their own connections. Yields the settings; the
    database is dropped on exit.
    """
    with new_database() as url:
        settings = Settings(database_url=url, data_dir=tmp_dir)
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                seed_region(conn)
                save_cube(build_region_cube(conn), settings.cube_path)
        finally:
            engine.dispose()
        yield settings


def browser_dom(page: Path) -> str:
    """The DOM of ``page`` after Debian's headless Chromium ran its scripts, with no network."""
    args = [
        CHROMIUM,
        *HEADLESS_ARGS,
        NO_NETWORK,
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout
