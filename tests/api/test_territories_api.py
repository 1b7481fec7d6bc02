"""The territory plan routes on a real PostGIS (the grid of tests/territories/grid.py) with
login on: design and save, read (JSON and GeoJSON) under the caller's scope, what-if moves,
versions, diff, reps, publish and the published plan's report, and errors that name the
argument, the value and the fix."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import openpyxl
import pypdf
import pytest
import shapely.geometry
from flask.testing import FlaskClient
from sqlalchemy import text

from gcrm.access import add_user, create_token
from gcrm.core import Settings
from gcrm.store import create_db_engine
from gcrm.territories import design_territories
from tests.api.conftest import bearer, make_secure_client
from tests.territories.grid import UNITS, grid_url, units

__all__ = ["grid_url", "units"]

BALANCE = {"customers": 1.0, "revenue": 1.0}
#: The manager's one cell: the figures he reads are of its customers only.
SCOPED_CELL = "C00"


@pytest.fixture(scope="module")
def tokens(grid_url: str) -> dict[str, dict[str, str]]:
    """A planner of every area, a manager of one cell, a viewer: their Authorization headers."""
    engine = create_db_engine(grid_url)
    users = {
        "pat": ("planner", ["all"]),
        "max": ("manager", [f"cell:{SCOPED_CELL}"]),
        "vic": ("viewer", ["all"]),
    }
    try:
        with engine.begin() as conn:
            for name, (role, scopes) in users.items():
                add_user(conn, name, role=role, scopes=scopes)
            return {name: bearer(create_token(conn, name, name="test")) for name in users}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def api(grid_url: str, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    data = Path(tmp_path_factory.mktemp("plans-api"))
    return make_secure_client(Settings(database_url=grid_url, data_dir=data))


@pytest.fixture(scope="module")
def designed(api: FlaskClient, tokens: dict[str, dict[str, str]]) -> dict:
    """One plan designed and saved through the API by the planner."""
    response = api.post(
        "/api/territories/plans",
        json={"name": "API plan", "level": "cell", "k": 4, "balance": BALANCE, "seed": 0},
        headers=tokens["pat"],
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _customers(grid_url: str, cells: list[str] | None = None) -> float:
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            return float(
                conn.execute(
                    text(
                        "SELECT count(*) FROM gcrm.customers WHERE CAST(:cells AS text[]) IS NULL "
                        "OR area_codes ->> 'cell' = ANY(CAST(:cells AS text[]))"
                    ),
                    {"cells": cells},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_design_is_saved_and_read_back_as_json_and_geojson(
    api: FlaskClient,
    tokens: dict[str, dict[str, str]],
    designed: dict,
    units: gpd.GeoDataFrame,
    grid_url: str,
) -> None:
    # The route runs the library's design: the same call gives the same plan.
    expected = design_territories(units, k=4, balance=BALANCE, seed=0).assignment
    assert {u["code"]: u["territory"] for u in designed["units"]} == expected.to_dict()
    assert designed["version"] == 1 and designed["k"] == 4 and designed["created_by"] == "pat"
    assert designed["evaluation"]["contiguous"] is True
    assert designed["settings"]["seed"] == 0 and designed["balance"] == BALANCE

    listed = api.get("/api/territories/plans", headers=tokens["max"]).get_json()
    assert [(p["id"], p["units"], p["reps"]) for p in listed] == [(designed["id"], UNITS, 0)]
    assert listed[0]["figures"]["max_deviation"].keys() == BALANCE.keys()

    by_name = api.get("/api/territories/plans/API plan@1", headers=tokens["pat"]).get_json()
    assert by_name["id"] == designed["id"]
    territories = by_name["territories"]
    assert [t["territory"] for t in territories] == [1, 2, 3, 4]
    assert sum(t["totals"]["customers"] for t in territories) == _customers(grid_url)
    assert sum(t["units"] for t in territories) == UNITS
    assert all(t["contiguous"] and 0 < t["polsby_popper"] <= 1 for t in territories)
    assert by_name["evaluation"]["max_deviation"]["customers"] == pytest.approx(
        max(abs(t["deviations"]["customers"]) for t in territories)
    )

    geo = api.get(
        f"/api/territories/plans/{designed['id']}?format=geojson", headers=tokens["pat"]
    ).get_json()
    assert geo["type"] == "FeatureCollection" and geo["plan"]["id"] == designed["id"]
    assert [f["id"] for f in geo["features"]] == [1, 2, 3, 4]
    shapes = [shapely.geometry.shape(f["geometry"]) for f in geo["features"]]
    # Dissolved: the territories cover the units exactly, without overlapping.
    # (Planar areas in degrees: the same for both sides.)
    assert sum(s.area for s in shapes) == pytest.approx(sum(g.area for g in units.geometry))
    assert [f["properties"]["units"] for f in geo["features"]] == [t["units"] for t in territories]


def test_figures_are_of_the_callers_scope(
    api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict, grid_url: str
) -> None:
    seen = api.get(f"/api/territories/plans/{designed['id']}", headers=tokens["max"]).get_json()
    assert "territories" in seen, seen
    totals = {t["territory"]: t["totals"]["customers"] for t in seen["territories"]}
    home = next(u["territory"] for u in seen["units"] if u["code"] == SCOPED_CELL)
    mine = _customers(grid_url, [SCOPED_CELL])
    assert mine > 0 and totals == {t: (mine if t == home else 0.0) for t in (1, 2, 3, 4)}


def test_what_if_moves_then_a_version_a_diff_and_reps(
    api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict, grid_url: str
) -> None:
    plan_id = designed["id"]
    territory_of = {u["code"]: u["territory"] for u in designed["units"]}
    code = "C33"
    target = 1 if territory_of[code] != 1 else 2
    before = {t["territory"]: t for t in designed["territories"]}

    reps = api.put(
        f"/api/territories/plans/{plan_id}/reps",
        json={"1": "Ann Lee", "3": None},
        headers=tokens["pat"],
    )
    assert reps.status_code == 200
    assert {t["territory"]: t["rep"] for t in reps.get_json()["territories"]}[1] == "Ann Lee"

    what_if = api.post(
        f"/api/territories/plans/{plan_id}/evaluate",
        json={"moves": {code: target}},
        headers=tokens["pat"],
    )
    assert what_if.status_code == 200, what_if.get_json()
    # A manager may ask what if too (figures of his cell only); nothing is saved.
    assert (
        api.post(
            f"/api/territories/plans/{plan_id}/evaluate",
            json={"moves": {code: target}},
            headers=tokens["max"],
        ).status_code
        == 200
    )
    after = {t["territory"]: t for t in what_if.get_json()["territories"]}
    assert what_if.get_json()["moved"] == 1
    assert after[target]["units"] == before[target]["units"] + 1
    assert after[territory_of[code]]["units"] == before[territory_of[code]]["units"] - 1
    assert len(api.get("/api/territories/plans", headers=tokens["pat"]).get_json()) == 1

    version = api.post(
        f"/api/territories/plans/{plan_id}/versions",
        json={"moves": {code: target}},
        headers=tokens["pat"],
    )
    assert version.status_code == 201, version.get_json()
    saved = version.get_json()
    assert (saved["name"], saved["version"], saved["parent_id"]) == ("API plan", 2, plan_id)
    assert {u["code"]: u["territory"] for u in saved["units"]}[code] == target
    assert {t["territory"]: t["rep"] for t in saved["territories"]}[1] == "Ann Lee"
    assert saved["territories"] == what_if.get_json()["territories"]

    diff = api.get(
        f"/api/territories/plans/{saved['id']}/diff?against={plan_id}", headers=tokens["pat"]
    ).get_json()
    moved_customers = _customers(grid_url, [code])
    assert [(m["code"], m["from_territory"], m["to_territory"]) for m in diff["moved"]] == [
        (code, territory_of[code], target)
    ]
    assert diff["flows"] == [
        {
            "from_territory": territory_of[code],
            "from_name": f"Territory {territory_of[code]}",
            "to_territory": target,
            "to_name": f"Territory {target}",
            "units": 1,
            "customers": moved_customers,
            "revenue": diff["moved"][0]["revenue"],
        }
    ]
    assert diff["moved"][0]["revenue"] > 0
    assert diff["summary"]["customers_moved"] == moved_customers
    assert diff["summary"]["customers"] == _customers(grid_url)
    assert diff["moved_share"] == pytest.approx(1 / UNITS)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "cell", "k": 2, "balance": {"bogus": 1}},
            400, ["'bogus'", "'customers'"],
        ),
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "cell", "k": 100, "balance": {"customers": 1}},
            400, ["k=100", f"1 to {UNITS}"],
        ),
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "cell", "k": 2, "balance": {"customers": 1}, "locks": {"Z9": 1}},
            400, ["'Z9'", "locks"],
        ),
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "cell", "k": 2, "balance": {"customers": 1}, "locks": {"C00": 3}},
            400, ["locks.C00", "1..2"],
        ),
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "nope", "k": 2, "balance": {"customers": 1}},
            404, ["'nope'"],
        ),
        (
            "post", "/api/territories/plans",
            {"name": "x", "level": "cell", "k": "2", "balance": {"customers": 1}},
            400, ["k='2'", "integer"],
        ),
        ("post", "/api/territories/plans/API plan@1/evaluate", {"moves": {"Z9": 1}}, 400, ["'Z9'"]),
        (
            "post", "/api/territories/plans/API plan@1/evaluate", {"moves": {"C00": 5}},
            400, ["moves.C00", "territory 5", "1..4"],
        ),
        ("post", "/api/territories/plans/API plan@1/versions", {"moves": {"C00": 0}}, 400, ["moves.C00"]),
        ("put", "/api/territories/plans/API plan@1/reps", {"9": "Bo"}, 400, ["'9'", "1..4"]),
        ("post", "/api/territories/plans/API plan@1/evaluate", None, 400, ["not JSON"]),
        ("post", "/api/territories/plans/API plan@1/evaluate", {}, 400, ["moves is missing"]),
        (
            "post", "/api/territories/plans/API plan@1/evaluate", {"moves": {}, "mvoes": {}},
            400, ["unknown field 'mvoes'", "['moves']"],
        ),
        ("get", "/api/territories/plans/no such plan", None, 404, ["'no such plan'", "API plan@"]),
        ("get", "/api/territories/plans/1/diff?against=77", None, 404, ["'77'"]),
        ("get", "/api/territories/plans/1?format=pdf", None, 400, ["format", "'pdf'"]),
    ],
)  # fmt: skip
def test_errors_name_the_argument_the_value_and_the_fix(
    api: FlaskClient,
    tokens: dict[str, dict[str, str]],
    designed: dict,
    method: str,
    path: str,
    body: object,
    status: int,
    words: list[str],
) -> None:
    response = getattr(api, method)(path, json=body, headers=tokens["pat"])
    answer = response.get_json()
    assert response.status_code == status and set(answer) == {"error", "status"}, answer
    assert all(w in answer["error"] for w in words), answer["error"]


def test_permissions(api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict) -> None:
    design = {"name": "x", "level": "cell", "k": 2, "balance": {"customers": 1}}
    assert api.post("/api/territories/plans", json=design, headers=tokens["max"]).status_code == 403
    assert api.get("/api/territories/plans", headers=tokens["vic"]).status_code == 403
    reps = api.put(
        f"/api/territories/plans/{designed['id']}/reps", json={"1": "X"}, headers=tokens["max"]
    )
    assert reps.status_code == 403
    assert api.get("/api/territories/plans").status_code == 401


# Publishing and reports (these run last: publishing makes the plan current and adds the
# levels territory and territory_unit to the module's grid).


def test_report_before_publishing_names_the_fix(
    api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict
) -> None:
    response = api.get(
        f"/api/territories/plans/{designed['id']}/report?format=pdf", headers=tokens["pat"]
    )
    answer = response.get_json()
    assert response.status_code == 409 and answer["status"] == 409, answer
    assert "not published" in answer["error"]
    assert f"POST /api/territories/plans/{designed['id']}/publish" in answer["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"level": "Territory"}, ["level='Territory'", "pattern"]),
        ({"level": "cell"}, ["level='cell'", "would replace", '{"level": "territory"}']),
        ({"cube": "yes"}, ["cube='yes'", "boolean"]),
        ({"levle": "t"}, ["unknown field 'levle'", "['cube', 'level']"]),
    ],
)
def test_publish_refuses_a_bad_body(
    api: FlaskClient,
    tokens: dict[str, dict[str, str]],
    designed: dict,
    body: dict,
    words: list[str],
) -> None:
    response = api.post(
        f"/api/territories/plans/{designed['id']}/publish", json=body, headers=tokens["pat"]
    )
    answer = response.get_json()
    assert response.status_code == 400 and set(answer) == {"error", "status"}, answer
    assert all(w in answer["error"] for w in words), answer["error"]


def test_publish_needs_plan_territories(
    api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict
) -> None:
    route = f"/api/territories/plans/{designed['id']}/publish"
    assert api.post(route, headers=tokens["max"]).status_code == 403  # a manager
    assert api.post(route, headers=tokens["vic"]).status_code == 403  # a viewer
    assert api.post(route).status_code == 401
    assert api.post("/api/territories/plans/77/publish", headers=tokens["pat"]).status_code == 404


def test_publish_then_report_in_every_format(
    api: FlaskClient, tokens: dict[str, dict[str, str]], designed: dict, grid_url: str
) -> None:
    plan_id = designed["id"]
    # No body: the defaults (level territory, the cube rebuilt).
    response = api.post(f"/api/territories/plans/{plan_id}/publish", headers=tokens["pat"])
    published = response.get_json()
    assert response.status_code == 200, published
    assert (published["level"], published["unit_level"]) == ("territory", "territory_unit")
    assert (published["plan_id"], published["territories"], published["units"]) == (
        plan_id,
        4,
        UNITS,
    )
    customers = int(_customers(grid_url))
    assert published["placed"]["customers"] == published["totals"]["customers"] == customers
    assert published["published_by"] == "pat" and published["cube_rebuilt"] is True
    assert published["notes"] == []

    assert api.get(f"/api/territories/plans/{plan_id}", headers=tokens["pat"]).get_json()[
        "is_current"
    ]

    territory_of = {u["code"]: u["territory"] for u in designed["units"]}
    page = api.get("/api/customers?limit=20", headers=tokens["pat"]).get_json()["customers"]
    assert page and all(
        c["territory"] == f"Territory {territory_of[c['area_cell']]}"
        and c["area_territory"] == f"T{territory_of[c['area_cell']]:02d}"
        for c in page
    ), page[0]

    pdf = api.get(f"/api/territories/plans/{plan_id}/report?format=pdf", headers=tokens["pat"])
    assert pdf.status_code == 200, pdf.get_data()[:300]
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "territories_API_plan.pdf" in pdf.headers["Content-Disposition"]
    assert len(pypdf.PdfReader(io.BytesIO(pdf.data)).pages) == 4 + 1  # a cover, a page each

    xlsx = api.get(f"/api/territories/plans/{plan_id}/report?format=xlsx", headers=tokens["pat"])
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert len(workbook.sheetnames) >= 1 + 4, workbook.sheetnames
    for fmt, mimetype, start in [
        ("gpkg", "application/geopackage+sqlite3", b"SQLite format 3\x00"),
        ("html", "text/html", b"<!DOCTYPE html>"),
    ]:
        answer = api.get(
            f"/api/territories/plans/{plan_id}/report?format={fmt}", headers=tokens["pat"]
        )
        assert answer.status_code == 200 and answer.mimetype == mimetype, fmt
        assert answer.data.startswith(start), answer.data[:40]

    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn:
            areas = conn.execute(
                text("SELECT level, count(*) FROM gcrm.areas GROUP BY level ORDER BY level")
            ).all()
            # The reports name customers: each one is in the audit log, as the planner's.
            audited = conn.execute(
                text(
                    "SELECT actor, detail ->> 'formats' FROM gcrm.audit_log "
                    "WHERE action = 'territories report' ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert dict(areas) == {"cell": UNITS, "territory": 4, "territory_unit": UNITS}
    assert [tuple(r) for r in audited] == [
        ("pat", f'["{fmt}"]') for fmt in ("pdf", "xlsx", "gpkg", "html")
    ]

    # The manager's scope (one cell) holds no whole territory: nothing to report on.
    scoped = api.get(f"/api/territories/plans/{plan_id}/report?format=xlsx", headers=tokens["max"])
    assert scoped.status_code == 404 and "inside your scope" in scoped.get_json()["error"]

    # Another plan is not the published one: its report names the fix.
    other = api.post(
        f"/api/territories/plans/{plan_id}/versions",
        json={"moves": {}, "name": "Other plan"},
        headers=tokens["pat"],
    ).get_json()
    refused = api.get(
        f"/api/territories/plans/{other['id']}/report?format=xlsx", headers=tokens["pat"]
    ).get_json()
    assert refused["status"] == 409, refused
    assert "level 'territory' holds plan API plan@1" in refused["error"]
    assert f"POST /api/territories/plans/{other['id']}/publish" in refused["error"]

    # Published without the cube rebuilt: the report says what to do.
    again = api.post(
        f"/api/territories/plans/{other['id']}/publish", json={"cube": False}, headers=tokens["pat"]
    ).get_json()
    assert again["plan_id"] == other["id"] and again["cube_rebuilt"] is False
    assert "gcrm cube build" in again["notes"][0]
    stale = api.get(
        f"/api/territories/plans/{other['id']}/report?format=pdf", headers=tokens["pat"]
    ).get_json()
    assert stale["status"] == 409 and "cube was not rebuilt" in stale["error"], stale
    replaced = api.get(
        f"/api/territories/plans/{plan_id}/report?format=pdf", headers=tokens["pat"]
    ).get_json()
    assert replaced["status"] == 409 and "holds plan Other plan@1" in replaced["error"], replaced
