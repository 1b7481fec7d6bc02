"""GET /api/customers/churn-risk: riskiest first, under the caller's scope, names only for
those who may read customers, validated with the API's error shape."""

from __future__ import annotations

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from gcrm.api.models import Customer
from gcrm.core import Settings
from gcrm.scoring import (
    backtest_json,
    random_baseline,
    ranking_figures,
    record_run,
    store_customer_scores,
)
from gcrm.store import create_db_engine
from tests.api.conftest import People

RISKS = {"C1": 0.30, "C3": 0.70, "C4": 0.05}


@pytest.fixture(scope="module")
def scored(seeded: Settings) -> dict[str, float]:
    """Churn risks committed for the active customers of the tiny region, with a run."""
    engine = create_db_engine(seeded.database_url)
    y, s = [1, 0, 0, 1], [0.9, 0.2, 0.4, 0.6]
    backtest = backtest_json(
        ranking_figures(y, s, top=0.5),
        {"recency": ranking_figures(y, [3, 1, 2, 0], top=0.5), "random": random_baseline(y)},
        cutoff="2025-01-31",
    )
    scores = pd.DataFrame(
        {
            "external_id": list(RISKS),
            "churn_risk": list(RISKS.values()),
            "revenue_12m": [150.0, 750.5, 0.0],
            "reasons": [[{"feature": "recency", "effect": 0.4, "text": "last order 90 days ago"}]]
            * 3,
        }
    )
    try:
        with engine.begin() as conn:
            run = record_run(
                conn, kind="churn", model="test", features=["recency"], rows_scored=3,
                backtest=backtest,
            )  # fmt: skip
            store_customer_scores(conn, kind="churn", run_id=run, scores=scores)
    finally:
        engine.dispose()
    return RISKS


def _get(client: FlaskClient, headers: dict[str, str], query: str = "") -> tuple[int, dict]:
    response = client.get(f"/api/customers/churn-risk{query}", headers=headers)
    return response.status_code, response.get_json()


def test_riskiest_first_for_all_areas(
    secure: FlaskClient, people: People, scored: dict[str, float]
) -> None:
    status, body = _get(secure, people["root"])
    assert status == 200
    assert [c["id"] for c in body["customers"]] == ["C3", "C1", "C4"]
    assert body["customers"][0]["name"] == "Cafe Corp"
    assert body["customers"][0]["area_codes"] == {"district": "D02"}
    assert body["customers"][0]["reasons"][0]["text"] == "last order 90 days ago"
    assert body["run"]["backtest"]["baselines"]["recency"]["auc"] is not None
    status, body = _get(secure, people["root"], "?min_risk=0.2&limit=1")
    assert [c["id"] for c in body["customers"]] == ["C3"]
    status, body = _get(secure, people["root"], "?area=district:D01")
    assert [c["id"] for c in body["customers"]] == ["C1"]


def test_scope_and_names(secure: FlaskClient, people: People, scored: dict[str, float]) -> None:
    _status, anna = _get(secure, people["anna"])  # manager of D01
    assert [(c["id"], c["name"]) for c in anna["customers"]] == [("C1", "Aino Active")]
    _status, bert = _get(secure, people["bert"])  # manager of D02
    assert [c["id"] for c in bert["customers"]] == ["C3"]
    _status, vera = _get(secure, people["vera"])  # viewer of D01: no names
    assert [c["id"] for c in vera["customers"]] == ["C1"]
    assert "name" not in vera["customers"][0]
    _status, outside = _get(secure, people["anna"], "?area=district:D02")
    assert outside["customers"] == []


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("?limit=0", "limit"),
        ("?min_risk=1.5", "min_risk"),
        ("?area=D01", "area"),
        ("?area=nowhere:X1", "nowhere"),
        ("?risk=0.5", "risk"),
    ],
)
def test_bad_parameters(
    secure: FlaskClient, people: People, scored: dict[str, float], query: str, word: str
) -> None:
    status, body = _get(secure, people["root"], query)
    assert status in (400, 422)
    assert set(body) == {"error", "status"} and word in body["error"]


def test_needs_a_token(secure: FlaskClient) -> None:
    status, body = _get(secure, {})
    assert status == 401 and set(body) == {"error", "status"}


def test_customer_reads_carry_category_lead_and_scores(
    secure: FlaskClient, people: People, scored: dict[str, float], seeded: Settings
) -> None:
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.begin() as conn:  # this module's own database
            conn.execute(
                text(
                    "UPDATE gcrm.customer_records SET category_group = 'amenity', "
                    "category = 'cafe', lead_external_id = 'L-7' WHERE external_id = 'C3'"
                )
            )
            run = record_run(
                conn, kind="value", model="test", features=["frequency"], rows_scored=1,
                backtest=None,
            )  # fmt: skip
            value = pd.DataFrame(
                {
                    "external_id": ["C3"],
                    "expected_value_12m": [1234.5],
                    "expected_orders_12m": [6.0],
                    "reasons": [[{"feature": "frequency", "effect": 1.0, "text": "6 orders"}]],
                }
            )
            store_customer_scores(conn, kind="value", run_id=run, scores=value)
    finally:
        engine.dispose()
    one = secure.get("/api/customers/C3", headers=people["bert"]).get_json()
    assert (one["category_group"], one["category"], one["lead_external_id"]) == (
        "amenity", "cafe", "L-7",
    )  # fmt: skip
    assert one["churn_risk"] == RISKS["C3"]
    assert one["churn_reasons"][0]["text"] == "last order 90 days ago"
    assert one["expected_value_12m"] == 1234.5
    assert one["value_reasons"] == [{"feature": "frequency", "effect": 1.0, "text": "6 orders"}]
    Customer.model_validate(one)
    page = secure.get("/api/customers", headers=people["root"]).get_json()["customers"]
    by_id = {c["id"]: c for c in page}
    assert by_id["C3"]["churn_risk"] == RISKS["C3"]
    # C2 is not scored (churned): the keys are there, null; no category is ''.
    unscored = by_id["C2"]
    assert [unscored[k] for k in ("churn_risk", "churn_reasons", "expected_value_12m")] == [
        None, None, None,
    ]  # fmt: skip
    assert (unscored["category"], unscored["lead_external_id"]) == ("", None)
    for customer in page:
        Customer.model_validate(customer)
    # A manager's page is found through the enrichment: the same fields.
    anna = secure.get("/api/customers", headers=people["anna"]).get_json()["customers"]
    assert [c["churn_risk"] for c in anna] == [RISKS["C1"], None]
