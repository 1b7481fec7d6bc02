from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.scoring import (
    backtest_leads,
    latest_run,
    read_lead_data,
    read_lead_score,
    read_lead_scores,
    run_lead_backtest,
    score_leads,
)
from gcrm.scoring.lead import _raw_features
from tests.scoring.seed import seed_planted


def test_backtest_finds_the_planted_customers(conn: Connection) -> None:
    planted = seed_planted(conn)
    figures = backtest_leads(conn, seed=0)
    assert figures["cutoff"] == "2024-12-31" and figures["data_end"] == "2025-12-31"
    assert figures["hidden_customers"] == len(planted.recent_customers) == figures["positives"]
    leads = int((planted.businesses["kind"] == "lead").sum())
    assert figures["leads"] == leads and figures["n"] == leads + figures["positives"]
    assert set(figures["baselines"]) == {"random", "distance"}
    # The rule favours cafés and the west, near the branch: the model must find both, the
    # distance baseline part of it, and chance nothing.
    assert figures["auc"] > 0.75
    assert figures["auc"] > figures["baselines"]["distance"]["auc"] > 0.55
    assert abs(figures["baselines"]["random"]["auc"] - 0.5) < 0.1
    assert figures["recall_top10"] > figures["baselines"]["random"]["recall_top10"]
    assert "category" in figures["features"]
    assert figures == backtest_leads(conn, seed=0)  # deterministic


def test_score_every_lead_with_reasons(conn: Connection) -> None:
    planted = seed_planted(conn)
    run_id = score_leads(conn, seed=0)
    scores = read_lead_scores(conn)
    lead_ids = set(planted.businesses.loc[planted.businesses["kind"] == "lead", "id"])
    assert set(scores["external_id"]) == lead_ids
    assert scores["score"].between(0, 1).all() and scores["percentile"].max() == 100
    assert all(1 <= len(r) <= 3 for r in scores["reasons"])
    assert all({"feature", "effect", "text"} == set(x) for r in scores["reasons"] for x in r)
    joined = scores.merge(planted.businesses, left_on="external_id", right_on="id")
    by_category = joined.groupby("category")["score"].mean()
    assert by_category["cafe"] == by_category.max()
    assert (
        joined.loc[joined["district"] == "D01", "score"].mean()
        > joined.loc[joined["district"] == "D02", "score"].mean()
    )
    best = joined.sort_values("score").iloc[-1]
    assert best["category"] == "cafe"
    texts = [r["text"] for r in best["reasons"]]
    assert any("cafe" in t and "x as common among SMB/corporate customers" in t for t in texts)
    run = latest_run(conn, "lead")
    assert run is not None and run["id"] == run_id and run["rows_scored"] == len(lead_ids)
    assert run["backtest"]["auc"] > 0.75
    # A second run replaces the scores, with the same numbers.
    again = score_leads(conn, seed=0, backtest=False)
    second = read_lead_scores(conn).set_index("external_id").sort_index()
    pd.testing.assert_series_equal(
        second["score"], scores.set_index("external_id").sort_index()["score"]
    )
    count = conn.execute(text("SELECT count(DISTINCT run_id) FROM gcrm.lead_scores")).scalar()
    assert count == 1 and latest_run(conn, "lead")["id"] == again  # type: ignore[index]


def test_read_one_score(conn: Connection) -> None:
    seed_planted(conn)
    score_leads(conn, seed=0)
    one = read_lead_scores(conn).iloc[0]
    found = read_lead_score(conn, one["external_id"])
    assert found is not None
    assert found["score"] == pytest.approx(one["score"]) and found["reasons"] == one["reasons"]
    assert found["run"]["backtest"]["baselines"]["distance"]["auc"] is not None
    assert isinstance(found["run"]["created_at"], str)
    assert read_lead_score(conn, "no such lead") is None


def test_backtest_only_run_keeps_the_scores(conn: Connection) -> None:
    seed_planted(conn)
    scored = score_leads(conn, seed=0, backtest=False)
    run_id, figures = run_lead_backtest(conn, seed=0)
    assert run_id != scored and figures["auc"] > 0.75
    latest = latest_run(conn, "lead", with_backtest=True)
    assert latest is not None and latest["rows_scored"] == 0
    assert conn.execute(text("SELECT DISTINCT run_id FROM gcrm.lead_scores")).scalar() == scored


def test_backtest_without_recent_customers_says_why(conn: Connection) -> None:
    seed_planted(conn)
    conn.execute(text("UPDATE gcrm.customer_records SET signup_date = '2020-01-01'"))
    conn.execute(text("UPDATE gcrm.orders SET order_date = '2022-02-01'"))
    with pytest.raises(ValidationError, match=r"signed up after 2021-02-01 \(0 found\)"):
        backtest_leads(conn)


def test_area_features_leave_each_customer_out(conn: Connection) -> None:
    """A customer is not its own neighbour: with one customer, it has none nearby."""
    planted = seed_planted(conn)
    first = planted.businesses.loc[planted.businesses["kind"] == "customer", "id"].iloc[0]
    conn.execute(text("DELETE FROM gcrm.customer_records WHERE external_id <> :id"), {"id": first})
    data = read_lead_data(conn)
    one = data.customers
    raw = _raw_features(one, reference=one, in_reference=one["positive"].to_numpy(), data=data)
    assert raw["nearby_customers"].tolist() == [0.0]
    assert raw["area_ratio"].tolist() == [0.0]
