"""The API with login on: tokens, roles, and two managers of two districts who never see
each other's customers, leads or figures, route by route (rows kept out by PostgreSQL)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from gcrm.core import Settings
from gcrm.store import create_db_engine
from tests.api.conftest import People

ROUTES = [
    "/api/leads/near?lon=24.94&lat=60.165&radius_m=5000",
    "/api/cube/slice?level=district&measure=revenue",
    "/api/geocode?address=Mannerheimintie%2010",
    "/api/reverse?lon=24.94&lat=60.165",
    "/api/customers",
    "/api/customers/C1",
]


@pytest.mark.parametrize("route", ROUTES)
def test_no_token_is_401_json_with_a_challenge(secure: FlaskClient, route: str) -> None:
    response = secure.get(route)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401 and "Authorization: Bearer TOKEN" in body["error"]


@pytest.mark.parametrize("which", ["bad", "revoked", "expired", "basic"])
def test_invalid_tokens_are_401(secure: FlaskClient, people: People, which: str) -> None:
    headers = {
        "bad": {"Authorization": "Bearer gcrm_not-a-token"},
        "revoked": people.revoked,
        "expired": people.expired,
        "basic": {"Authorization": "Basic YW5uYTpwdw=="},
    }[which]
    response = secure.get("/api/customers", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gcrm"'
    assert response.get_json()["status"] == 401


def test_health_is_public(secure: FlaskClient) -> None:
    assert secure.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    ("user", "route", "status"),
    [
        ("vera", "/api/customers", 403),
        ("vera", "/api/customers/C1", 403),
        ("vera", "/api/leads/near?lon=24.94&lat=60.165", 403),
        ("vera", "/api/geocode?address=x", 403),
        ("vera", "/api/cube/slice?level=district&measure=revenue", 200),
        ("pia", "/api/customers", 403),
        ("pia", "/api/leads/near?lon=24.94&lat=60.165", 200),
    ],
)
def test_roles(secure: FlaskClient, people: People, user: str, route: str, status: int) -> None:
    response = secure.get(route, headers=people[user])
    assert response.status_code == status
    if status == 403:
        body = response.get_json()
        assert set(body) == {"error", "status"} and body["status"] == 403
        assert f"user '{user}'" in body["error"]


EXPECTED = {
    "anna": {"customers": ["C1", "C2"], "leads": ["L1"], "revenue": 220.0},
    "bert": {"customers": ["C3"], "leads": ["L2"], "revenue": 750.5},
    "root": {"customers": ["C1", "C2", "C3", "C4"], "leads": ["L1", "L2"], "revenue": 970.5},
}


@pytest.mark.parametrize("user", list(EXPECTED))
def test_customers_of_the_scope_only(secure: FlaskClient, people: People, user: str) -> None:
    body = secure.get("/api/customers", headers=people[user]).get_json()
    assert [c["id"] for c in body["customers"]] == EXPECTED[user]["customers"]
    assert body["next_offset"] is None and "total" not in body


@pytest.mark.parametrize("user", list(EXPECTED))
def test_leads_of_the_scope_only(secure: FlaskClient, people: People, user: str) -> None:
    body = secure.get(
        "/api/leads/near?lon=24.94&lat=60.165&radius_m=5000&limit=100", headers=people[user]
    ).get_json()
    names = sorted(f["properties"]["external_id"] for f in body["features"])
    assert names == EXPECTED[user]["leads"]


@pytest.mark.parametrize("user", list(EXPECTED))
def test_cube_totals_are_the_scopes(secure: FlaskClient, people: People, user: str) -> None:
    rows = secure.get(
        "/api/cube/slice?level=district&measure=revenue", headers=people[user]
    ).get_json()
    assert sum(r["value"] or 0 for r in rows) == pytest.approx(EXPECTED[user]["revenue"])
    seen = {"anna": ["D01"], "bert": ["D02"], "root": ["D01", "D02"]}[user]
    assert [r["code"] for r in rows] == seen


@pytest.mark.parametrize(("user", "other"), [("anna", "C3"), ("bert", "C1"), ("bert", "C4")])
def test_a_customer_outside_the_scope_is_exactly_not_found(
    secure: FlaskClient, people: People, user: str, other: str
) -> None:
    outside = secure.get(f"/api/customers/{other}", headers=people[user])
    missing = secure.get(f"/api/customers/{other}X", headers=people[user])
    assert outside.status_code == missing.status_code == 404
    assert outside.get_json()["error"].replace(other, "?") == missing.get_json()["error"].replace(
        f"{other}X", "?"
    )
    inside = secure.get("/api/customers/C1", headers=people["root"])
    assert inside.status_code == 200


def test_a_customer_from_nearby_search_outside_the_scope_is_404(
    secure: FlaskClient, people: People
) -> None:
    response = secure.get("/api/leads/near?customer_id=C3", headers=people["anna"])
    assert response.status_code == 404


def test_customer_objects(secure: FlaskClient, people: People) -> None:
    one = secure.get("/api/customers/C3", headers=people["bert"]).get_json()
    assert one["id"] == one["external_id"] == "C3"
    assert one["name"] == "Cafe Corp" and one["geocode_precision"] == "interpolated"
    assert (one["lon"], one["lat"]) == pytest.approx((24.95, 60.165))
    assert one["area_district"] == "D02"
    unplaced = secure.get("/api/customers/C4", headers=people["root"]).get_json()
    assert unplaced["lon"] is None and unplaced["area_district"] is None


def test_paging_and_area_filter(secure: FlaskClient, people: People) -> None:
    root = people["root"]
    first = secure.get("/api/customers?limit=3", headers=root).get_json()
    assert [c["id"] for c in first["customers"]] == ["C1", "C2", "C3"]
    assert first["next_offset"] == 3
    exact = secure.get("/api/customers?limit=4", headers=root).get_json()
    assert len(exact["customers"]) == 4 and exact["next_offset"] is None  # no empty last page
    rest = secure.get("/api/customers?limit=3&offset=3", headers=root).get_json()
    assert [c["id"] for c in rest["customers"]] == ["C4"] and rest["next_offset"] is None
    d02 = secure.get("/api/customers?area=district:D02", headers=root).get_json()
    assert [c["id"] for c in d02["customers"]] == ["C3"]
    # A manager's pages (found through the enrichment's policy): the same paging rules.
    anna = people["anna"]
    pages = [
        secure.get(f"/api/customers?limit=1&offset={o}", headers=anna).get_json() for o in (0, 1, 2)
    ]
    assert [[c["id"] for c in page["customers"]] for page in pages] == [["C1"], ["C2"], []]
    assert [page["next_offset"] for page in pages] == [1, None, None]
    own = secure.get("/api/customers?area=district:D01&limit=1", headers=anna).get_json()
    assert [c["id"] for c in own["customers"]] == ["C1"] and own["next_offset"] == 1
    # anna asks for bert's district: nothing, as if it were empty.
    other = secure.get("/api/customers?area=district:D02", headers=people["anna"]).get_json()
    assert other["customers"] == [] and other["next_offset"] is None


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("area=D01", "area='D01' is not LEVEL:CODE"),
        ("area=county:X", "area='county:X' is not LEVEL:CODE with a known level"),
        ("limit=0", "limit=0 is out of range"),
        ("offset=-1", "offset=-1 is out of range; pass a value between 0"),
        ("limit=ten", "limit='ten' is not an integer"),
    ],
)
def test_customers_errors(secure: FlaskClient, people: People, query: str, fragment: str) -> None:
    response = secure.get(f"/api/customers?{query}", headers=people["root"])
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_personal_data_answers_are_audited(
    secure: FlaskClient, people: People, seeded: Settings
) -> None:
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT max(id) FROM gcrm.audit_log")).scalar() or 0
        secure.get("/api/customers?area=district:D01", headers=people["anna"])
        secure.get("/api/customers/C1", headers=people["anna"])
        secure.get("/api/customers/C3", headers=people["anna"])  # 404: nothing read
        secure.get("/api/leads/near?lon=24.94&lat=60.165&radius_m=5000", headers=people["anna"])
        secure.get("/api/leads/near?lon=20&lat=60&radius_m=10", headers=people["anna"])  # none
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT actor, action, target, rows, fields FROM gcrm.audit_log "
                    "WHERE id > :id ORDER BY id"
                ),
                {"id": before},
            ).all()
    finally:
        engine.dispose()
    assert [(r.actor, r.action, r.target, r.rows) for r in rows] == [
        ("anna", "GET /api/customers", "district:D01", 2),
        ("anna", "GET /api/customers/{id}", "C1", 1),
        ("anna", "GET /api/leads/near", None, 1),
    ]
    assert "name" in rows[0].fields and "area_<level>" in rows[0].fields
    assert "phone" in rows[2].fields
