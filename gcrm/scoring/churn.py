"""Churn risk: the probability that an active customer churns in the next 6 months.

Features per customer, as of a date (``churn.sql``): recency (days since the last order),
frequency (orders in the last 12 months), value (revenue in the last 12 months, mean order),
trend (orders in the last 6 months against the 6 before), tenure, segment, drive time to the
nearest branch, and the customer's area at the coarsest level.

The model is scikit-learn's ``LogisticRegression`` (L2, ``C=1``) on standardised features
(counts, amounts and days on a log scale; one-hot segment and area). Why logistic: its
probabilities are calibrated without a further step, so the cube can add them up into
"expected churn" per area and multiply them by revenue ("revenue at risk"); and its log-odds
are exactly the sum of coefficient x standardised value, so each customer's reasons are the
model's own arithmetic, not an approximation of it.

Training needs labels from the past: the model is fitted on customers as they stood 6, 9, 12
and 15 months before the scoring date (windows with at least a year of order history before
them), each labelled by whether they churned in the 6 months after, then applied to the
customers as they stand now. The backtest runs the same procedure 6 months earlier: features
up to 6 months before the last date, labels the churns of the last 6 months, and the same
figures for a recency-only ranking (days since the last order) and a random one in the same
run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sqlalchemy import Connection, text

from gcrm.areas import read_region
from gcrm.core import ValidationError
from gcrm.scoring.customer_scores import history_range, store_customer_scores
from gcrm.scoring.metrics import backtest_json, random_baseline, ranking_figures
from gcrm.scoring.reasons import Describer, group_contributions, top_reasons
from gcrm.scoring.runs import record_run
from gcrm.store import load_queries

__all__ = [
    "CHURN_FEATURES",
    "CHURN_HORIZON_MONTHS",
    "CHURN_MODEL",
    "ChurnScores",
    "backtest_churn",
    "read_churn_features",
    "save_churn_scores",
    "score_churn",
]

_SQL = load_queries(__package__, "churn.sql")

#: The months ahead a churn risk speaks of.
CHURN_HORIZON_MONTHS = 6
#: The model's features (after one-hot columns are grouped back), in order.
CHURN_FEATURES = (
    "recency",
    "orders_12m",
    "revenue_12m",
    "mean_amount",
    "trend",
    "tenure",
    "drive_time",
    "segment",
    "area",
)
_NUMERIC = CHURN_FEATURES[:7]
_CATEGORICAL = ("segment", "area")
#: Training windows: this many, this many months apart, before the scoring date's window.
_WINDOWS, _STEP_MONTHS = 4, 3
#: A window needs this much order history before it (the 12-month features).
_HISTORY_DAYS = 365
#: An area with fewer training customers than this is "other" (no coefficient of its own).
_MIN_AREA_ROWS = 20
CHURN_MODEL = "LogisticRegression(C=1.0, L2; standardised log features, one-hot segment and area)"


@dataclass(frozen=True)
class ChurnScores:
    """The churn risk of every active customer and how it was computed."""

    #: external_id, churn_risk, revenue_12m, reasons (list of {feature, effect, text}),
    #: and the features' raw values.
    scores: pd.DataFrame
    as_of: date
    train_rows: int
    model: str = CHURN_MODEL


def read_churn_features(
    conn: Connection, *, as_of: date, label_end: date | None = None
) -> pd.DataFrame:
    """The customers active at the end of ``as_of`` with their features as of that day, and
    ``churned`` (churned after ``as_of`` and no later than ``label_end``; False without it).

    Area is the customer's code at the coarsest level (``area``, ``""`` when not enriched).
    """
    frame = pd.read_sql_query(
        text(_SQL["churn_features"]), conn, params={"as_of": as_of, "label_end": label_end}
    )
    level = conn.execute(text(_SQL["top_level"])).scalar()
    codes = frame["area_codes"].map(lambda c: (c or {}).get(level, "") if level else "")
    frame["area_level"] = level or ""
    frame["area"] = codes.astype(str)
    frame["churned"] = frame["churned"].astype(bool)
    return frame


def _months_before(day: date, months: int) -> date:
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def _training_frame(conn: Connection, *, as_of: date, first_order: date) -> pd.DataFrame:
    """Customers as they stood at each training window before ``as_of``, each labelled by
    whether they churned in the following months up to the window's end."""
    frames: list[pd.DataFrame] = []
    for i in range(_WINDOWS):
        anchor = _months_before(as_of, CHURN_HORIZON_MONTHS + i * _STEP_MONTHS)
        if (anchor - first_order).days < _HISTORY_DAYS and frames:
            break
        label_end = (pd.Timestamp(anchor) + pd.DateOffset(months=CHURN_HORIZON_MONTHS)).date()
        frames.append(read_churn_features(conn, as_of=anchor, label_end=label_end))
    frame = pd.concat(frames, ignore_index=True)
    positives = int(frame["churned"].sum())
    if positives == 0 or positives == len(frame):
        msg = (
            f"the churn model has {positives} churns among {len(frame)} customer-windows before "
            f"{as_of}; it needs both churned and staying customers in the months before "
            "(import customers with their churn dates, and orders over at least 18 months)"
        )
        raise ValidationError(msg)
    return frame


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """The numeric features as the model sees them (missing values still NaN)."""
    return pd.DataFrame(
        {
            "recency": np.log1p(frame["recency_days"].astype(float).clip(lower=0)),
            "orders_12m": np.log1p(frame["orders_12m"].astype(float)),
            "revenue_12m": np.log1p(frame["revenue_12m"].astype(float).clip(lower=0)),
            "mean_amount": np.log1p(frame["mean_amount"].astype(float).clip(lower=0)),
            "trend": np.log1p(frame["orders_6m"].astype(float))
            - np.log1p(frame["orders_prev_6m"].astype(float)),
            "tenure": np.log1p(frame["tenure_days"].astype(float).clip(lower=0)),
            "drive_time": frame["drive_time_s"].astype(float) / 60.0,
        },
        index=frame.index,
    )


@dataclass(frozen=True)
class _Design:
    """How rows become the model's columns: fills, scales and the categories kept."""

    fill: pd.Series
    mean: pd.Series
    scale: pd.Series
    categories: dict[str, list[str]]
    #: Training means of the one-hot columns: a contribution is against the average customer.
    dummy_means: tuple[float, ...] = ()

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> _Design:
        numeric = _numeric(frame)
        fill = numeric.median().fillna(0.0)
        filled = numeric.fillna(fill)
        scale = filled.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
        counts = frame["area"].value_counts()
        areas = sorted(str(a) for a in counts.index[counts >= _MIN_AREA_ROWS] if a)
        categories = {"segment": sorted(frame["segment"].astype(str).unique()), "area": areas}
        dummies = cls(fill, filled.mean(), scale, categories)._dummies(frame)
        return cls(fill, filled.mean(), scale, categories, tuple(dummies.mean().tolist()))

    def _dummies(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for name in _CATEGORICAL:
            values = frame[name].astype(str)
            for category in self.categories[name]:
                out[f"{name}={category}"] = (values == category).astype(float)
        return pd.DataFrame(out, index=frame.index)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        numeric = (_numeric(frame).fillna(self.fill) - self.mean) / self.scale
        dummies = self._dummies(frame)
        dummies = dummies - np.asarray(self.dummy_means, dtype=float)
        return pd.concat([numeric, dummies], axis=1)

    @property
    def groups(self) -> dict[str, str]:
        return {f"{n}={c}": n for n in _CATEGORICAL for c in self.categories[n]}


def _fit(train: pd.DataFrame) -> tuple[_Design, LogisticRegression]:
    design = _Design.fit(train)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(design.transform(train).to_numpy(), train["churned"].to_numpy(int))
    return design, model


def _predict(
    design: _Design, model: LogisticRegression, frame: pd.DataFrame
) -> tuple[np.ndarray, pd.DataFrame]:
    """Probabilities, and each feature's contribution to each row's log-odds."""
    x = design.transform(frame)
    risk = model.predict_proba(x.to_numpy())[:, 1]
    contributions = pd.DataFrame(x.to_numpy() * model.coef_[0], columns=x.columns)
    return risk, group_contributions(contributions, design.groups)


def _describers(currency: str) -> dict[str, Describer]:
    money = f" {currency}" if currency else ""

    def recency(rows: pd.DataFrame) -> list[str]:
        return [
            f"last order {int(d)} days ago" if n else f"no order in {int(d)} days since signing up"
            for d, n in zip(rows["recency_days"], rows["orders_total"], strict=True)
        ]

    def orders(rows: pd.DataFrame) -> list[str]:
        return [f"{int(n)} order(s) in the last 12 months" for n in rows["orders_12m"]]

    def revenue(rows: pd.DataFrame) -> list[str]:
        return [f"{r:,.0f}{money} revenue in the last 12 months" for r in rows["revenue_12m"]]

    def mean_amount(rows: pd.DataFrame) -> list[str]:
        return [
            f"average order {a:,.0f}{money}" if pd.notna(a) else "no order yet"
            for a in rows["mean_amount"]
        ]

    def trend(rows: pd.DataFrame) -> list[str]:
        return [
            f"{int(a)} order(s) in the last 6 months against {int(b)} in the 6 before"
            for a, b in zip(rows["orders_6m"], rows["orders_prev_6m"], strict=True)
        ]

    def tenure(rows: pd.DataFrame) -> list[str]:
        return [
            f"customer for {d / 365.25:.1f} years"
            if d >= 365
            else f"customer for {int(d // 30)} months"
            for d in rows["tenure_days"]
        ]

    def minutes(seconds: float) -> str:
        return "under a minute" if seconds < 60 else f"{seconds / 60:.0f} min"

    def drive(rows: pd.DataFrame) -> list[str]:
        return [
            "drive time to a branch unknown"
            if pd.isna(s)
            else f"{minutes(s)} from {f'branch {b}' if b else 'the nearest branch'}"
            for s, b in zip(rows["drive_time_s"], rows["branch_reached"].fillna(""), strict=True)
        ]

    def segment(rows: pd.DataFrame) -> list[str]:
        return [f"segment {s}" for s in rows["segment"]]

    def area(rows: pd.DataFrame) -> list[str]:
        return [
            f"in {lv} {a}" if a else "area unknown"
            for lv, a in zip(rows["area_level"], rows["area"], strict=True)
        ]

    return {
        "recency": recency,
        "orders_12m": orders,
        "revenue_12m": revenue,
        "mean_amount": mean_amount,
        "trend": trend,
        "tenure": tenure,
        "drive_time": drive,
        "segment": segment,
        "area": area,
    }


def _scored(
    conn: Connection, *, as_of: date, first_order: date, label_end: date | None
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, int]:
    train = _training_frame(conn, as_of=as_of, first_order=first_order)
    design, model = _fit(train)
    now = read_churn_features(conn, as_of=as_of, label_end=label_end)
    if now.empty:
        msg = f"no customer is active on {as_of}; nothing to score"
        raise ValidationError(msg)
    risk, contributions = _predict(design, model, now)
    return now, risk, contributions, len(train)


def score_churn(conn: Connection, *, as_of: date | None = None, k: int = 3) -> ChurnScores:
    """The churn risk of every customer active at ``as_of``, with ``k`` reasons each.

    Parameters
    ----------
    as_of
        The scoring date [default: the last day of the data, latest order or churn].
    k
        Reasons per customer.

    Raises
    ------
    NotFoundError
        When there are no orders.
    ValidationError
        When the history before ``as_of`` holds no churn (or only churns) to learn from.
    """
    last_day, first_order = history_range(conn)
    as_of = as_of or last_day
    now, risk, contributions, train_rows = _scored(
        conn, as_of=as_of, first_order=first_order, label_end=None
    )
    currency = read_region(conn).currency or ""
    reasons = top_reasons(contributions, values=now, describers=_describers(currency), k=k)
    scores = now.assign(churn_risk=np.clip(risk, 0.0, 1.0), reasons=reasons)
    return ChurnScores(scores=scores, as_of=as_of, train_rows=train_rows)


def backtest_churn(conn: Connection, *, as_of: date | None = None) -> dict[str, Any]:
    """How well the churn risk ranked the churns of the last 6 months, from data up to 6
    months before: AUC, recall and precision in the top 10 %, against a recency-only ranking
    (days since the last order) and a random one, in :func:`gcrm.scoring.backtest_json`'s
    shape.

    Parameters
    ----------
    as_of
        The last date of the data [default: the latest order or churn]; the cutoff is 6
        months before it.

    Raises
    ------
    ValidationError
        When the last 6 months hold no churn among the customers active at the cutoff, or the
        history before the cutoff none to learn from.
    """
    last_day, first_order = history_range(conn)
    end = as_of or last_day
    cutoff = _months_before(end, CHURN_HORIZON_MONTHS)
    now, risk, _contributions, train_rows = _scored(
        conn, as_of=cutoff, first_order=first_order, label_end=end
    )
    y = now["churned"].to_numpy(int)
    model = ranking_figures(y, risk)
    baselines = {
        "recency": ranking_figures(y, now["recency_days"].to_numpy(float)),
        "random": random_baseline(y),
    }
    return backtest_json(
        model,
        baselines,
        kind="churn",
        cutoff=cutoff.isoformat(),
        label_end=end.isoformat(),
        horizon_months=CHURN_HORIZON_MONTHS,
        train_rows=train_rows,
        model=CHURN_MODEL,
        features=list(CHURN_FEATURES),
    )


def save_churn_scores(
    conn: Connection, scored: ChurnScores, *, backtest: dict[str, Any] | None = None
) -> int:
    """Record the run (with its ``backtest`` when given) and replace every stored churn risk
    by ``scored``'s (on ``conn``'s transaction, the owner's). Returns the run's id."""
    run_id = record_run(
        conn,
        kind="churn",
        model=scored.model,
        features=list(CHURN_FEATURES),
        rows_scored=len(scored.scores),
        backtest=backtest,
    )
    store_customer_scores(conn, kind="churn", run_id=run_id, scores=scored.scores)
    return run_id
