"""Customer value: the revenue each active customer is expected to bring in the next 12 months.

Two models, fitted by maximum likelihood with scipy (Fader, Hardie & Lee, 2005):

- **BG/NBD** for how many purchases: while alive, a customer buys as a Poisson process (rates
  gamma-distributed across customers, ``r``, ``alpha``) and after each purchase drops out
  with a probability (beta-distributed, ``a``, ``b``). From each customer's number of repeat
  purchases, the time of the last and the time since the first, it gives the expected
  purchases in the next 52 weeks and the probability of still being alive.
- **Gamma-gamma** for how much: each customer's mean purchase varies around their own mean,
  which varies across customers (``p``, ``q``, ``gamma``); the expected spend per purchase
  shrinks the customer's own mean towards the population's, the more so the fewer purchases.

Expected value = expected purchases x expected spend. A day's orders are one purchase; time
is in weeks. Why a compact fit of our own: ``lifetimes`` (the reference implementation) has
had no release since 2020 and breaks with current pandas and scipy, ``btyd`` is a beta of
2022, and ``pymc-marketing`` brings PyMC and PyTensor (a compiler) for two closed-form
likelihoods of four and three parameters, which scipy fits in well under a second.

Customers who have churned (by the CRM's churn date) are known to be gone and get no value.
The backtest fits on the data up to 12 months before the last date, predicts the following 12
months' revenue of the customers active then, and compares it with what they spent, beside
the baseline "the last 12 months repeat" (each customer's revenue of the 12 months before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from sqlalchemy import Connection, text

from gcrm.areas import read_region
from gcrm.core import ValidationError
from gcrm.scoring.customer_scores import history_range, store_customer_scores
from gcrm.scoring.metrics import ranking_figures
from gcrm.scoring.runs import record_run
from gcrm.store import load_queries

__all__ = [
    "VALUE_FEATURES",
    "VALUE_HORIZON_WEEKS",
    "VALUE_MODEL",
    "BgNbd",
    "GammaGamma",
    "ValueScores",
    "backtest_value",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "read_value_history",
    "save_value_scores",
    "score_value",
]

_SQL = load_queries(__package__, "value.sql")

#: What the models read of each customer.
VALUE_FEATURES = ("repeat_purchases", "weeks_to_last_purchase", "weeks_observed", "mean_amount")
#: The weeks ahead an expected value speaks of (12 months).
VALUE_HORIZON_WEEKS = 52.0
_DAYS_PER_WEEK = 7.0
VALUE_MODEL = (
    "BG/NBD purchases x gamma-gamma spend (scipy maximum likelihood; a day's orders = one purchase)"
)
#: A tiny L2 penalty on the log-parameters keeps the fit finite on degenerate data.
_PENALTY = 1e-4


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters."""

    r: float
    alpha: float
    a: float
    b: float

    def expected_purchases(
        self, t: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` weeks of customers with ``x`` repeat
        purchases, the last at ``t_x`` and the first ``big_t`` weeks ago (weeks from the
        first purchase)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        ratio = (alpha + big_t) / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        # Valid for any a != 1 (both factors change sign below 1); at 1 the limit is near.
        a_off = a if abs(a - 1) > 1e-6 else 1 + 1e-6
        first = (a_off + b + x - 1) / (a_off - 1) * (1 - ratio ** (r + x) * hyp)
        return np.asarray(first / self._alive_odds(x, t_x, big_t))

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """The probability that each customer has not dropped out."""
        return np.asarray(1.0 / self._alive_odds(x, t_x, big_t))

    def _alive_odds(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            term = (
                a / np.where(repeat, b + x - 1, 1.0) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
            )
        return np.asarray(1.0 + np.where(repeat, term, 0.0))


@dataclass(frozen=True)
class GammaGamma:
    """Fitted gamma-gamma spend parameters."""

    p: float
    q: float
    gamma: float

    def expected_spend(self, x: np.ndarray, mean_amount: np.ndarray) -> np.ndarray:
        """Expected amount of a customer's next purchases given ``x`` purchases of mean
        ``mean_amount`` (the population mean where ``x`` is 0)."""
        population = self.p * self.gamma / (self.q - 1)
        own = (self.gamma + mean_amount * x) * self.p / (self.p * x + self.q - 1)
        return np.asarray(np.where(x > 0, own, population))


def _bg_nbd_nll(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> float:
    r, alpha, a, b = np.exp(params)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return float(-ll.sum() + _PENALTY * len(x) * float(params @ params))


def fit_bg_nbd(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> BgNbd:
    """Fit BG/NBD by maximum likelihood to repeat purchases ``x``, the last purchase's time
    ``t_x`` and the observation length ``big_t`` (both from the first purchase, weeks).

    Raises
    ------
    ValidationError
        When there are no customers or no repeat purchase at all, or the fit fails.
    """
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (x, t_x, big_t))
    if len(x) == 0 or not (x > 0).any():
        msg = (
            f"the purchase model needs customers with repeat purchases; got {len(x)} customers, "
            f"{int((x > 0).sum())} with more than one day of orders (import more orders)"
        )
        raise ValidationError(msg)
    found = optimize.minimize(
        _bg_nbd_nll, np.zeros(4), args=(x, t_x, big_t), method="L-BFGS-B",
        bounds=[(-10, 10)] * 4,
    )  # fmt: skip
    r, alpha, a, b = np.exp(found.x)
    if not np.isfinite(found.fun):
        msg = f"the purchase model (BG/NBD) did not converge ({found.message}); check the orders"
        raise ValidationError(msg)
    return BgNbd(float(r), float(alpha), float(a), float(b))


def _gamma_gamma_nll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    p, q, gamma = np.exp(params)
    ll = (
        special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
        + q * np.log(gamma) + (p * x - 1) * np.log(m) + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )  # fmt: skip
    return float(-ll.sum() + _PENALTY * len(x) * float(params @ params))


def fit_gamma_gamma(x: np.ndarray, mean_amount: np.ndarray) -> GammaGamma:
    """Fit the gamma-gamma spend model to customers with ``x`` > 0 purchases of mean
    ``mean_amount`` > 0 (others are left out).

    Raises
    ------
    ValidationError
        When no customer has a positive purchase, or the fit fails.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(mean_amount, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if not keep.any():
        msg = (
            "the spend model needs customers with orders of a positive amount; import orders first"
        )
        raise ValidationError(msg)
    start = np.log([1.0, 2.0, float(np.median(m[keep]))])
    found = optimize.minimize(
        _gamma_gamma_nll, start, args=(x[keep], m[keep]), method="L-BFGS-B",
        bounds=[(-10, 10), (-10, 10), (-20, 20)],
    )  # fmt: skip
    p, q, gamma = np.exp(found.x)
    if not np.isfinite(found.fun) or q <= 1:
        msg = f"the spend model (gamma-gamma) did not converge ({found.message}); check the order amounts"
        raise ValidationError(msg)
    return GammaGamma(float(p), float(q), float(gamma))


def read_value_history(conn: Connection, *, as_of: date, until: date | None = None) -> pd.DataFrame:
    """Each customer signed up by ``as_of`` with the models' inputs (``x``, ``t_x``,
    ``big_t`` in weeks; ``purchases``, ``mean_amount``), ``active``, ``revenue_12m`` and, with
    ``until``, ``revenue_after`` (revenue after ``as_of`` up to ``until``).

    A customer's observation starts at the first purchase; one with none starts at signing up
    or at the first order of the data, whichever is later (orders before it are not known).
    """
    frame = pd.read_sql_query(
        text(_SQL["value_history"]), conn, params={"as_of": as_of, "until": until}
    )
    first_day = conn.execute(text("SELECT min(order_date) FROM gcrm.orders")).scalar()
    end = pd.Timestamp(as_of)
    start_known = pd.Timestamp(first_day) if first_day is not None else end
    signup = pd.to_datetime(frame["signup_date"]).clip(lower=start_known)
    first = pd.to_datetime(frame["first_day"]).fillna(signup)
    last = pd.to_datetime(frame["last_day"]).fillna(first)
    frame["purchases"] = frame["days"].astype(int)
    frame["x"] = (frame["purchases"] - 1).clip(lower=0).astype(float)
    frame["t_x"] = (last - first).dt.days / _DAYS_PER_WEEK
    frame["big_t"] = (end - first).dt.days / _DAYS_PER_WEEK
    frame["active"] = frame["active"].astype(bool)
    return frame


@dataclass(frozen=True)
class ValueScores:
    """The expected value of every active customer and the fitted models."""

    #: external_id, expected_value_12m, expected_orders_12m, expected_spend, p_alive,
    #: revenue_12m, reasons, and the history columns.
    scores: pd.DataFrame
    as_of: date
    purchases: BgNbd
    spend: GammaGamma
    fit_rows: int
    model: str = VALUE_MODEL


def _predict(frame: pd.DataFrame) -> tuple[pd.DataFrame, BgNbd, GammaGamma]:
    """Fit both models on every customer of ``frame`` and predict for the active ones."""
    purchases = fit_bg_nbd(frame["x"], frame["t_x"], frame["big_t"])
    spend = fit_gamma_gamma(frame["purchases"], frame["mean_amount"])
    active = frame[frame["active"]].reset_index(drop=True)
    x, t_x, big_t = (active[c].to_numpy(float) for c in ("x", "t_x", "big_t"))
    orders = purchases.expected_purchases(VALUE_HORIZON_WEEKS, x, t_x, big_t)
    amount = spend.expected_spend(
        active["purchases"].to_numpy(float), active["mean_amount"].to_numpy(float)
    )
    out = active.assign(
        expected_orders_12m=orders,
        expected_spend=amount,
        p_alive=purchases.p_alive(x, t_x, big_t),
        expected_value_12m=np.clip(orders * amount, 0.0, None),
    )
    return out, purchases, spend


def _reasons(scores: pd.DataFrame, currency: str) -> list[list[dict[str, Any]]]:
    """What each expected value is made of, in words: purchases, spend, still buying."""
    money = f" {currency}" if currency else ""
    out = []
    # Three texts per customer, each from its own numbers: no vectorised str.format.
    for row in scores.itertuples(index=False):
        days_since = int(round((row.big_t - row.t_x) * _DAYS_PER_WEEK))
        out.append(
            [
                {
                    "feature": "expected_orders",
                    "effect": round(float(row.expected_orders_12m), 4),
                    "text": f"{row.expected_orders_12m:.1f} purchase(s) expected in 12 months "
                    f"({int(row.days_12m)} in the last 12)",
                },
                {
                    "feature": "expected_spend",
                    "effect": round(float(row.expected_spend), 4),
                    "text": f"about {row.expected_spend:,.0f}{money} a purchase"
                    + (
                        f" (average so far {row.mean_amount:,.0f}{money})"
                        if row.purchases
                        else " (no purchase yet: the average customer's)"
                    ),
                },
                {
                    "feature": "p_alive",
                    "effect": round(float(row.p_alive), 4),
                    "text": f"still buying with probability {row.p_alive:.2f}"
                    + (f" (last purchase {days_since} days ago)" if row.purchases else ""),
                },
            ]
        )
    return out


def score_value(conn: Connection, *, as_of: date | None = None) -> ValueScores:
    """The expected revenue of the next 12 months of every customer active at ``as_of``.

    Parameters
    ----------
    as_of
        The scoring date [default: the last day of the data, latest order or churn].

    Raises
    ------
    NotFoundError
        When there are no orders.
    ValidationError
        When the orders hold no repeat purchase, or a model does not converge.
    """
    last_day, _first = history_range(conn)
    as_of = as_of or last_day
    history = read_value_history(conn, as_of=as_of)
    scores, purchases, spend = _predict(history)
    currency = read_region(conn).currency or ""
    scores["reasons"] = _reasons(scores, currency)
    return ValueScores(scores, as_of, purchases, spend, fit_rows=len(history))


def _error_figures(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """MAE, RMSE, Spearman's rank correlation, totals, and how well the prediction picks the
    top 10 % of customers by actual revenue (AUC, recall and precision in its own top 10 %)."""
    top = actual >= np.quantile(actual, 0.9)
    figures: dict[str, Any] = {
        "mae": float(np.mean(np.abs(predicted - actual))),
        "rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))),
        "spearman": float(stats.spearmanr(predicted, actual).statistic),
        "total_predicted": float(predicted.sum()),
        "total_actual": float(actual.sum()),
        "total_error_pct": float(100 * (predicted.sum() - actual.sum()) / actual.sum())
        if actual.sum()
        else None,
    }
    if 0 < top.sum() < len(top):
        figures.update(ranking_figures(top.astype(int), predicted))
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in figures.items()
    }


def backtest_value(conn: Connection, *, as_of: date | None = None) -> dict[str, Any]:
    """How well the expected value predicted the last 12 months' revenue of each customer
    active 12 months before, from data up to then, against "the last 12 months repeat".

    Returns the model's figures at the top level and the baseline's under
    ``baselines["last_12_months"]`` (the shape of the other backtests): ``mae``, ``rmse``,
    ``spearman``, ``total_predicted``, ``total_actual``, ``total_error_pct``, and ``auc``,
    ``recall_top10``, ``precision_top10``, ``n``, ``positives`` of picking the customers in the
    top 10 % by actual revenue.

    Raises
    ------
    ValidationError
        When the data before the cutoff holds no repeat purchase, or no customer was active
        at the cutoff.
    """
    last_day, _first = history_range(conn)
    end = as_of or last_day
    cutoff = (pd.Timestamp(end) - pd.DateOffset(months=12)).date()
    history = read_value_history(conn, as_of=cutoff, until=end)
    scores, purchases, spend = _predict(history)
    if scores.empty:
        msg = f"no customer was active on {cutoff}, 12 months before {end}; nothing to backtest"
        raise ValidationError(msg)
    actual = scores["revenue_after"].to_numpy(float)
    model = _error_figures(actual, scores["expected_value_12m"].to_numpy(float))
    baseline = _error_figures(actual, scores["revenue_12m"].to_numpy(float))
    return {
        **model,
        "baselines": {"last_12_months": baseline},
        "kind": "value",
        "cutoff": cutoff.isoformat(),
        "until": end.isoformat(),
        "horizon_months": 12,
        "fit_rows": len(history),
        "model": VALUE_MODEL,
        "parameters": {
            "bg_nbd": {k: round(v, 6) for k, v in vars(purchases).items()},
            "gamma_gamma": {k: round(v, 6) for k, v in vars(spend).items()},
        },
    }


def save_value_scores(
    conn: Connection, scored: ValueScores, *, backtest: dict[str, Any] | None = None
) -> int:
    """Record the run (with its ``backtest`` when given) and replace every stored expected
    value by ``scored``'s (on ``conn``'s transaction, the owner's). Returns the run's id."""
    run_id = record_run(
        conn,
        kind="value",
        model=scored.model,
        features=list(VALUE_FEATURES),
        rows_scored=len(scored.scores),
        backtest=backtest,
    )
    store_customer_scores(conn, kind="value", run_id=run_id, scores=scored.scores)
    return run_id
