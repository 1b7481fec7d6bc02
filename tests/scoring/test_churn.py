"""Churn risk on a history with known drivers: scores, reasons, backtest, storage, scope."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.privacy import forget_customer
from gcrm.scoring import (
    CHURN_FEATURES,
    backtest_churn,
    latest_run,
    read_churn_features,
    read_churn_list,
    read_customer_scores,
    save_churn_scores,
    score_churn,
)
from tests.scoring.history import seed_history


@pytest.fixture
def history(conn: Connection) -> Connection:
    seed_history(conn)
    return conn


def test_features_as_of_a_day(history: Connection) -> None:
    day = pd.Timestamp("2025-06-30").date()
    frame = read_churn_features(history, as_of=day, label_end=pd.Timestamp("2025-12-31").date())
    active = history.execute(
        text(
            "SELECT count(*) FROM gcrm.customers WHERE signup_date <= :d "
            "AND (churn_date IS NULL OR churn_date > :d)"
        ),
        {"d": day},
    ).scalar_one()
    assert len(frame) == active
    churned = history.execute(
        text(
            "SELECT count(*) FROM gcrm.customers WHERE signup_date <= :d "
            "AND churn_date > :d AND churn_date <= '2025-12-31'"
        ),
        {"d": day},
    ).scalar_one()
    assert int(frame["churned"].sum()) == churned > 0
    assert (frame["recency_days"] >= 0).all()
    assert (frame["orders_12m"] >= frame["orders_6m"]).all()
    assert set(frame.loc[frame["external_id"].str.startswith("H"), "area"]) == {"D01", "D02"}


def test_scores_learn_the_drivers(history: Connection) -> None:
    scored = score_churn(history)
    scores = scored.scores
    active = history.execute(
        text("SELECT count(*) FROM gcrm.customers WHERE churn_date IS NULL")
    ).scalar_one()
    assert len(scores) == active
    assert scores["churn_risk"].between(0, 1).all()
    by_area = scores.groupby("area")["churn_risk"].mean()
    # D02 churns about three times as often as D01 in the history.
    assert by_area["D02"] > 1.5 * by_area["D01"]
    reasons = scores["reasons"]
    assert reasons.map(len).between(1, 3).all()
    first = reasons.iloc[0][0]
    assert set(first) == {"feature", "effect", "text"}
    assert first["feature"] in CHURN_FEATURES and first["text"]
    # An area reason says which area; a D02 customer's raises the risk.
    d02 = scores[scores["area"] == "D02"]
    area_reasons = [r for rs in d02["reasons"] for r in rs if r["feature"] == "area"]
    assert area_reasons and all(r["effect"] > 0 and "D02" in r["text"] for r in area_reasons)


def test_backtest_against_recency_and_random(history: Connection) -> None:
    result = backtest_churn(history)
    assert result["cutoff"] == "2025-06-30"
    assert set(result["baselines"]) == {"recency", "random"}
    for figures in (result, *result["baselines"].values()):
        assert figures["n"] == result["n"] and figures["positives"] == result["positives"]
    # The drivers are there to be found: the model ranks the churns better than chance.
    assert result["auc"] > 0.6
    assert result["auc"] > result["baselines"]["random"]["auc"]


def test_too_little_history_is_explained(conn: Connection) -> None:
    from tests.maps.seed import seed_region

    seed_region(conn)  # four customers, orders of three months, one churn
    with pytest.raises(ValidationError, match="churns among"):
        score_churn(conn)


def test_stored_replaced_and_forgotten(history: Connection) -> None:
    scored = score_churn(history)
    run_id = save_churn_scores(history, scored, backtest=backtest_churn(history))
    stored = read_customer_scores(history, kind="churn")
    assert len(stored) == len(scored.scores)
    assert {"customer_id", "churn_risk", "reasons", "area_district"} <= set(stored.columns)
    assert latest_run(history, "churn")["id"] == run_id  # type: ignore[index]
    assert latest_run(history, "churn")["backtest"]["baselines"]["recency"]  # type: ignore[index]

    # A customer who churns loses their risk at the next run.
    gone = str(scored.scores["external_id"].iloc[0])
    history.execute(
        text(
            "UPDATE gcrm.customer_records SET status = 'churned', churn_date = signup_date + 1 "
            "WHERE external_id = :id"
        ),
        {"id": gone},
    )
    save_churn_scores(history, score_churn(history))
    left = history.execute(
        text("SELECT count(*) FROM gcrm.customer_scores WHERE external_id = :id"), {"id": gone}
    ).scalar_one()
    assert left == 0

    # Forgetting a customer takes their scores too.
    other = str(scored.scores["external_id"].iloc[1])
    forget_customer(history, other)
    count = history.execute(
        text("SELECT count(*) FROM gcrm.customer_scores WHERE external_id = :id"), {"id": other}
    ).scalar_one()
    assert count == 0


def test_list_reads_under_the_scope(history: Connection) -> None:
    save_churn_scores(history, score_churn(history))
    user = history.execute(
        text("INSERT INTO gcrm.users (name, role) VALUES ('d01', 'manager') RETURNING id")
    ).scalar_one()
    history.execute(
        text("INSERT INTO gcrm.user_scopes (user_id, level, code) VALUES (:u, 'district', 'D01')"),
        {"u": user},
    )
    everyone = read_churn_list(history, limit=1000)
    # As the application reads for a user: row-level security, the user's id in the transaction.
    history.execute(text("SET LOCAL ROLE gcrm_app"))
    history.execute(text("SELECT set_config('gcrm.user_id', :u, true)"), {"u": str(user)})
    mine = read_churn_list(history, limit=1000, names=True)
    history.execute(text("RESET ROLE"))
    rows = json.loads(mine.body)
    assert 0 < mine.rows < everyone.rows
    assert {r["area_codes"]["district"] for r in rows} == {"D01"}
    assert all("name" in r for r in rows)
    risks = [r["churn_risk"] for r in rows]
    assert risks == sorted(risks, reverse=True)
    without = json.loads(read_churn_list(history, limit=5, min_risk=0.2).body)
    assert all(r["churn_risk"] >= 0.2 for r in without) and all("name" not in r for r in without)
