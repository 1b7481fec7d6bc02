"""SQL injection in every parameter and filter of the API: no 5xx, no row outside the
caller's scope, and every table as it was afterwards."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from gcrm.api import OPERATIONS
from gcrm.core import Settings
from gcrm.store import create_db_engine
from tests.api.conftest import People

INJECTIONS = [
    "' OR 1=1 --",
    "'; DROP TABLE gcrm.customer_records; --",
    "1) UNION SELECT name, email, phone FROM gcrm.customer_records --",
    "district:D02' OR '1'='1",
    "x'); DELETE FROM gcrm.lead_records; --",
    "1; SELECT pg_sleep(3); --",
    '" OR ""="',
    "$$; DROP SCHEMA gcrm CASCADE; $$",
    "\\'; TRUNCATE gcrm.orders; --",
    "C1' --",
]
#: A valid call of each route: the injection replaces one parameter at a time.
BASE: dict[str, dict[str, str]] = {
    "leads_near": {"lon": "24.94", "lat": "60.165", "radius_m": "5000"},
    "leads_within": {"area": "district:D01"},
    "cube_slice": {"level": "district", "measure": "revenue"},
    "hotspots": {"level": "district", "measure": "revenue"},
    "cube_forecast": {"measure": "revenue", "level": "district"},
    "geocode_one": {"address": "Mannerheimintie 10"},
    "reverse": {"lon": "24.94", "lat": "60.165"},
    "customers": {"limit": "10"},
    "customers_churn_risk": {"limit": "10"},
    "campaigns": {},
    "campaign_results": {"level": "district"},
    "lead_score": {},
    "territory_plans": {},
    "territory_plan": {"format": "json"},
    "territory_plan_diff": {"against": "current"},
    "territory_plan_report": {"format": "pdf"},
}
ORIGINS = {"lon", "lat", "address", "customer_id"}
# anna manages D01: these are all she may ever see.
ANNA = {"customers": {"C1", "C2"}, "leads": {"L1"}, "areas": {"district:D01"}}


def _calls() -> list[tuple[str, str, str]]:
    calls = []
    for op in OPERATIONS:
        if op.query is None or op.method != "GET":
            continue
        for name in op.query.model_fields:
            for injection in INJECTIONS:
                calls.append((op.name, name, injection))
    return calls


def _query(op_name: str, name: str, injection: str) -> str:
    params = dict(BASE[op_name])
    if name in ORIGINS and op_name == "leads_near":
        params = {k: v for k, v in params.items() if k not in ORIGINS}
    params[name] = injection
    return "&".join(f"{k}={quote(v)}" for k, v in params.items())


def _rule(op_name: str) -> str:
    return next(op.rule for op in OPERATIONS if op.name == op_name)


def _check_scope(body: Any) -> None:
    if isinstance(body, dict) and "customers" in body:
        assert {c["id"] for c in body["customers"]} <= ANNA["customers"]
    if isinstance(body, dict) and "features" in body:
        assert {f["properties"]["external_id"] for f in body["features"]} <= ANNA["leads"]
    if isinstance(body, list) and body and "area" in body[0]:
        assert {row["area"] for row in body} <= ANNA["areas"]


@pytest.mark.parametrize(("op_name", "name", "injection"), _calls())
def test_injection_in_a_parameter(
    secure: FlaskClient, people: People, op_name: str, name: str, injection: str
) -> None:
    response = secure.get(
        f"/api{_rule(op_name)}?{_query(op_name, name, injection)}", headers=people["anna"]
    )
    assert response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    if response.status_code >= 400:
        assert set(body) == {"error", "status"}
    _check_scope(body)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_in_the_path_and_the_body(
    secure: FlaskClient, people: People, injection: str
) -> None:
    one = secure.get(f"/api/customers/{quote(injection, safe='')}", headers=people["anna"])
    assert one.status_code in (400, 404) and set(one.get_json()) == {"error", "status"}
    score = secure.get(f"/api/leads/{quote(injection, safe='')}/score", headers=people["anna"])
    assert score.status_code in (400, 404) and set(score.get_json()) == {"error", "status"}
    batch = secure.post(
        "/api/geocode",
        json={"addresses": [injection, {"street": injection, "housenumber": injection}]},
        headers=people["anna"],
    )
    assert batch.status_code == 200
    assert [r["precision"] for r in batch.get_json()] == ["none", "none"]
    near = secure.get(
        f"/api/leads/near?lon=24.94&lat=60.165&radius_m=5000&category={quote(injection)}"
        f",cafe&zoning_class={quote(injection)},commercial",
        headers=people["anna"],
    )
    assert near.status_code == 200
    _check_scope(near.get_json())


def test_tables_intact_afterwards(secure: FlaskClient, people: People, seeded: Settings) -> None:
    """Runs after the injections of this module (pytest keeps file order)."""
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM gcrm.customer_records), "
                    "(SELECT count(*) FROM gcrm.lead_records), (SELECT count(*) FROM gcrm.orders), "
                    "(SELECT count(*) FROM gcrm.areas), (SELECT count(*) FROM gcrm.users)"
                )
            ).one()
    finally:
        engine.dispose()
    assert tuple(counts) == (4, 2, 5, 2, 5)
