"""Customer value: the BG/NBD and gamma-gamma fits against data drawn from known parameters,
the expected purchases against simulation, and the scores and backtest on a history."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.scoring import (
    BgNbd,
    backtest_value,
    fit_bg_nbd,
    fit_gamma_gamma,
    read_customer_scores,
    save_churn_scores,
    save_value_scores,
    score_churn,
    score_value,
)
from tests.scoring.history import seed_history

TRUE = BgNbd(r=0.8, alpha=4.0, a=0.6, b=3.0)


def _simulate(
    params: BgNbd, *, n: int, weeks: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD customers observed for ``weeks`` from their first purchase: repeat purchases,
    time of the last, observation length, and purchases in the ``weeks`` after."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    drop = rng.beta(params.a, params.b, n)
    x, t_x, after = np.zeros(n), np.zeros(n), np.zeros(n)
    # Each customer's purchases one after another: a loop is the process's own definition.
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / rate[i])
            if t > 2 * weeks:
                break
            if t <= weeks:
                x[i], t_x[i] = x[i] + 1, t
            else:
                after[i] += 1
            alive = rng.random() >= drop[i]
    return x, t_x, np.full(n, weeks), after


def test_bg_nbd_recovers_its_parameters() -> None:
    x, t_x, big_t, _after = _simulate(TRUE, n=4000, weeks=52.0, seed=1)
    fitted = fit_bg_nbd(x, t_x, big_t)
    for name in ("r", "alpha", "a", "b"):
        truth, found = getattr(TRUE, name), getattr(fitted, name)
        assert abs(found - truth) / truth < 0.35, (name, found, truth)


def test_expected_purchases_match_simulation() -> None:
    x, t_x, big_t, after = _simulate(TRUE, n=4000, weeks=52.0, seed=2)
    predicted = TRUE.expected_purchases(52.0, x, t_x, big_t)
    assert predicted.sum() == pytest.approx(after.sum(), rel=0.08)
    # Conditional on history: who bought more, and recently, is expected to buy more.
    busy = (x >= 5) & (big_t - t_x < 4)
    assert predicted[busy].mean() > 3 * predicted[x == 0].mean()
    assert (TRUE.p_alive(x, t_x, big_t)[x == 0] == 1).all()


def test_gamma_gamma_recovers_mean_spend() -> None:
    rng = np.random.default_rng(4)
    p, q, gamma = 6.0, 4.0, 30.0
    nu = rng.gamma(q, 1 / gamma, 3000)
    x = rng.integers(1, 12, 3000).astype(float)
    mean = np.array([rng.gamma(p * k, 1 / (v * k)) for k, v in zip(x, nu, strict=True)])
    fitted = fit_gamma_gamma(x, mean)
    population = fitted.p * fitted.gamma / (fitted.q - 1)
    assert population == pytest.approx(p * gamma / (q - 1), rel=0.1)
    # Few purchases shrink towards the population mean, many keep the customer's own.
    spend = fitted.expected_spend(np.array([1.0, 50.0]), np.array([500.0, 500.0]))
    assert population < spend[0] < spend[1] < 500.0 * 1.01


def test_no_repeat_purchase_is_explained() -> None:
    with pytest.raises(ValidationError, match="repeat purchases"):
        fit_bg_nbd(np.zeros(5), np.zeros(5), np.full(5, 10.0))


@pytest.fixture
def history(conn: Connection) -> Connection:
    seed_history(conn)
    return conn


def test_values_of_active_customers(history: Connection) -> None:
    scored = score_value(history)
    scores = scored.scores
    active = history.execute(
        text("SELECT count(*) FROM gcrm.customers WHERE churn_date IS NULL")
    ).scalar_one()
    assert len(scores) == active and scores["active"].all()
    assert (scores["expected_value_12m"] >= 0).all()
    # Value follows the last year's revenue (rank correlation), as the history was drawn.
    assert scores["expected_value_12m"].corr(scores["revenue_12m"], method="spearman") > 0.6
    assert [r["feature"] for r in scores["reasons"].iloc[0]] == [
        "expected_orders",
        "expected_spend",
        "p_alive",
    ]


def test_backtest_against_last_12_months(history: Connection) -> None:
    result = backtest_value(history)
    assert result["cutoff"] == "2024-12-31"
    baseline = result["baselines"]["last_12_months"]
    for figures in (result, baseline):
        assert {"mae", "rmse", "spearman", "total_error_pct", "auc", "n"} <= set(figures)
        assert figures["n"] == result["n"] > 0
    assert result["total_actual"] == baseline["total_actual"] > 0
    # Better than knowing nothing (predicting 0 for all: an MAE of the mean actual revenue).
    assert result["mae"] < result["total_actual"] / result["n"]
    assert result["spearman"] > 0.5


def test_churn_and_value_share_a_row(history: Connection) -> None:
    save_churn_scores(history, score_churn(history))
    save_value_scores(history, score_value(history))
    both = history.execute(
        text(
            "SELECT count(*) FILTER (WHERE churn_risk IS NOT NULL AND expected_value_12m IS NOT "
            "NULL), count(*) FROM gcrm.customer_scores"
        )
    ).one()
    assert both[0] == both[1] > 0
    table = read_customer_scores(history, kind="value")
    assert {"expected_value_12m", "expected_orders_12m", "reasons"} <= set(table.columns)
    assert table.crs.to_epsg() == 4326
