"""GET /api/cube/slice with compare: a period beside the previous one, the year before or
another period, on the small hand-written cube of tests/cube/small.py."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gcrm.core import Settings
from gcrm.cube import save_cube
from tests.api.conftest import make_client
from tests.cube.small import small_cube

SLICE = "/api/cube/slice?level=district&measure=revenue"


@pytest.fixture
def small(settings: Settings) -> FlaskClient:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    save_cube(small_cube(), settings.cube_path)
    return make_client(settings)


def test_compare_with_the_previous_month(small: FlaskClient) -> None:
    response = small.get(f"{SLICE}&period=2025-03&compare=previous")
    assert response.status_code == 200
    rows = response.get_json()
    # A: 3 x 11 x 15 against 3 x 11 x 14; B had nothing in 2025-02: no % change (null).
    assert rows == [
        {
            "area": "district:A",
            "code": "A",
            "name": "Alpha",
            "value": 495.0,
            "base": 462.0,
            "change": 33.0,
            "pct_change": pytest.approx(33 / 462),
        },
        {
            "area": "district:B",
            "code": "B",
            "name": "Beta",
            "value": 660.0,
            "base": 0.0,
            "change": 660.0,
            "pct_change": None,
        },
    ]


def test_compare_year_on_year_and_with_a_period(small: FlaskClient) -> None:
    yoy = small.get(f"{SLICE}&period=2025-03&compare=yoy&segment=smb").get_json()
    assert [(r["value"], r["base"]) for r in yoy] == [(3 * 15, 3 * 3), (4 * 15, 4 * 3)]
    other = small.get(f"{SLICE}&period=2025-03&compare=2024-12&parent=").get_json()
    assert [r["base"] for r in other] == [3 * 11 * 12, 4 * 11 * 12]


def test_without_compare_rows_carry_the_value_only(small: FlaskClient) -> None:
    rows = small.get(f"{SLICE}&period=2025-03").get_json()
    assert set(rows[0]) == {"area", "code", "name", "value"}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("compare=previous", "compare='previous' needs one period"),
        ("period=all&compare=yoy", "compare='yoy' needs one period"),
        ("period=2025-03&compare=lastmonth", "compare='lastmonth' is neither"),
        ("period=2025-03&compare=2024", "compare='2024' is a year but period='2025-03'"),
        (
            "period=2024-03&compare=yoy",
            "base period '2023-03' is not wholly inside the cube (it covers",
        ),
    ],
)
def test_compare_errors_name_the_argument_and_the_fix(
    small: FlaskClient, query: str, fragment: str
) -> None:
    response = small.get(f"{SLICE}&{query}")
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_the_document_describes_compare(small: FlaskClient) -> None:
    doc = small.get("/api/openapi.json").get_json()
    params = {p["name"]: p for p in doc["paths"]["/api/cube/slice"]["get"]["parameters"]}
    assert "yoy" in params["compare"]["description"]
    row = doc["components"]["schemas"]["CubeRow"]["properties"]
    assert {"base", "change", "pct_change"} <= set(row)
