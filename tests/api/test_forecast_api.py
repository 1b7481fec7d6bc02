"""GET /api/cube/forecast on the demo region's cube (36 months)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gcrm.cube import forecast, load_cube, measure_unit
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def client(demo) -> FlaskClient:  # type: ignore[no-untyped-def]
    return make_client(demo.settings)


def test_forecast_answers_the_librarys_forecast(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/cube/forecast?measure=active&level=district&horizon=6")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    expected = forecast(load_cube(demo.cube_path), "active", level="district", horizon=6)
    assert body["target"] == "all areas of district" and body["segment"] == "all"
    assert [m["month"] for m in body["months"]] == [f"{m:%Y-%m}" for m in expected.months.index]
    assert [m["forecast"] for m in body["months"]] == pytest.approx(
        list(expected.months["forecast"])
    )
    assert [t["months"] for t in body["totals"]] == [3, 6]
    assert expected.backtest is not None
    backtest = body["backtest"]
    assert backtest["mae_model"] == pytest.approx(expected.backtest.mae_model)
    assert backtest["better"] == expected.backtest.better and backtest["months"] == 12
    assert "same month last year" in backtest["description"]


def test_one_area_and_its_unit(client: FlaskClient, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    area = str(ds["area"].values[ds["level"].values == "district"][0])
    body = client.get(f"/api/cube/forecast?measure=revenue&area={area}").get_json()
    assert body["target"] == area and len(body["months"]) == 12
    assert body["unit"] == measure_unit(ds, "revenue")


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("measure=population", 400, "measure"),
        ("measure=revenue&horizon=0", 400, "horizon"),
        ("measure=revenue&level=county", 400, "level 'county' unknown"),
        ("measure=revenue&segment=nope", 400, "segment 'nope' unknown"),
        ("measure=revenue&area=district:nowhere", 404, "area 'district:nowhere' not in the cube"),
    ],
)
def test_bad_parameters_name_themselves(
    client: FlaskClient, query: str, status: int, fragment: str
) -> None:
    response = client.get(f"/api/cube/forecast?{query}")
    body = response.get_json()
    assert response.status_code == status and body["status"] == status
    assert fragment in body["error"]
