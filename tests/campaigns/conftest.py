"""Campaign fixtures: the tiny region (tests/maps/seed.py) with a crowd of customers and
scored leads around it, on the test's rolled-back connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.access import Principal, act_as, add_user, principal_by_name

#: Customers added per district: K0001-K0120 in D01, K0121-K0200 in D02 (active, smb).
CROWD = {"D01": 120, "D02": 80}
#: Scored leads added: M001-M060 in D01, score = number / 100.
SCORED_LEADS = 60

_CROWD_SQL = """
INSERT INTO gcrm.customer_records (external_id, name, email, phone, street, housenumber,
    postcode, city, segment, status, signup_date, geom, geocode_precision, geocode_score,
    geocode_source)
SELECT 'K' || lpad(i::text, 4, '0'), 'Customer ' || i, 'c' || i || '@example.test',
       '+358 40 ' || i, 'Testikatu', i::text, '00100', 'Helsinki', 'smb', 'active',
       DATE '2024-06-01',
       ST_SetSRID(ST_MakePoint(CASE WHEN i <= :d01 THEN 24.93 ELSE 24.95 END, 60.165), 4326),
       'rooftop', 1, 'test'
FROM generate_series(1, :total) i;
INSERT INTO gcrm.customer_enrichment (external_id, geom, area_codes)
SELECT external_id, geom,
       jsonb_build_object('district', CASE WHEN ST_X(geom) < 24.94 THEN 'D01' ELSE 'D02' END)
FROM gcrm.customer_records WHERE external_id LIKE 'K%';
INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, geom)
SELECT 'M' || lpad(i::text, 3, '0'), 'Lead ' || i, 'food', 'cafe', 'test',
       ST_SetSRID(ST_MakePoint(24.93, 60.165), 4326)
FROM generate_series(1, :leads) i;
INSERT INTO gcrm.lead_enrichment (external_id, geom, area_codes)
SELECT external_id, geom, '{"district": "D01"}'::jsonb
FROM gcrm.lead_records WHERE external_id LIKE 'M%';
INSERT INTO gcrm.score_runs (id, kind, model) VALUES (9001, 'lead', 'test');
INSERT INTO gcrm.lead_scores (external_id, run_id, score, percentile)
SELECT external_id, 9001, substr(external_id, 2)::int / 100.0, substr(external_id, 2)::int
FROM gcrm.lead_records WHERE external_id LIKE 'M%'
"""


@pytest.fixture
def crowd(conn: Connection, region: xr.Dataset) -> Connection:
    """The tiny region plus :data:`CROWD` customers and :data:`SCORED_LEADS` scored leads."""
    params = {"d01": CROWD["D01"], "total": sum(CROWD.values()), "leads": SCORED_LEADS}
    for statement in filter(str.strip, _CROWD_SQL.split(";")):
        conn.execute(text(statement), params)
    return conn


@contextmanager
def reading_as(conn: Connection, principal: Principal) -> Iterator[Connection]:
    """``conn`` as the application reads for ``principal``: role gcrm_app (row-level
    security) and the user id, until the block ends (then the owner again)."""
    conn.execute(
        text("SELECT set_config('role', 'gcrm_app', true), set_config('gcrm.user_id', :u, true)"),
        {"u": str(principal.user_id)},
    )
    try:
        with act_as(principal):
            yield conn
    finally:
        conn.execute(text("RESET ROLE"))


def manager_of(conn: Connection, district: str, name: str = "anna") -> Principal:
    """A manager of one district, added on ``conn``."""
    add_user(conn, name, role="manager", scopes=[f"district:{district}"])
    return principal_by_name(conn, name)
