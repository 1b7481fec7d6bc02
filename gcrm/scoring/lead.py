"""The explainable lead score: how much each lead looks like the customers that matter.

Leads and customers are described by what they share: business category (when customers
carry one, migration 0017), the area they stand in (customers of the positive segments per
business and population density, from :func:`gcrm.areas.area_profiles` at the first
top-level area level), zoning class, road class, drive time to the nearest branch
(``gcrm enrich``; dropped where no point has one, e.g. without roads), straight distance to
the nearest branch, the other businesses (leads) within :data:`NEARBY_BUSINESS_RADIUS_M`
and the customers of the positive segments within :data:`NEARBY_RADIUS_M`; a point is never
its own neighbour, nor is the lead record a customer was won from. Competitors are not a
feature: gcrm holds no competitor data.

The model is an L2-regularised logistic regression (scikit-learn) of customers of the
positive segments (SMB and corporate where segments exist; all customers otherwise),
weighted by their revenue in the last 12 months, against the leads as unlabelled background
(positive-unlabelled learning: the score ranks, it is not a probability of signing). A linear
model was chosen over gradient boosting because its contributions, coefficient x
standardised value, add up exactly to each lead's log-odds against the average point, so the
three reasons shown are the model's own arithmetic rather than an approximation of it; it is
also deterministic (lbfgs, no sampling).

The backtest (:func:`backtest_leads`) hides the customers who signed up in the last 12
months before the latest date in the data, trains on the rest (customer-derived features
counted from the earlier customers only, each customer's revenue from the 12 months before
the cut-off), puts the hidden customers among the leads and measures how high they rank:
AUC, recall and precision in the top 10 %, against a random order and the order of straight
distance to the nearest branch, in the same run. Leads are split in two folds: each fold is
ranked by the model trained on the other, so no lead is judged by a model that saw it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sqlalchemy import Connection, Engine, text

from gcrm.areas import area_profiles, read_area_levels
from gcrm.core import NotFoundError, ValidationError
from gcrm.scoring.metrics import backtest_json, random_baseline, ranking_figures
from gcrm.scoring.reasons import Describer, group_contributions, times_average, top_reasons
from gcrm.scoring.runs import record_run
from gcrm.store import copy_frame, load_queries

__all__ = [
    "BACKTEST_MONTHS",
    "LEAD_SCORE_STAGES",
    "NEARBY_RADIUS_M",
    "POSITIVE_SEGMENTS",
    "LeadData",
    "backtest_leads",
    "read_lead_data",
    "read_lead_score",
    "read_lead_scores",
    "run_lead_backtest",
    "score_leads",
]

_SQL = load_queries(__package__, "lead.sql")

#: Customers within this straight distance count as "nearby".
NEARBY_RADIUS_M = 1000.0
#: Other businesses (leads) within this straight distance make a point's business density.
NEARBY_BUSINESS_RADIUS_M = 500.0
#: The customers a lead should look like, when the data has these segments.
POSITIVE_SEGMENTS = ("smb", "corporate")
#: The backtest hides customers who signed up in this many months before the data's end.
BACKTEST_MONTHS = 12
#: Categories beyond the most common this many are one feature value, "other".
TOP_CATEGORIES = 30
#: Inverse regularisation strength of the logistic model.
REGULARISATION_C = 1.0
#: Stages :func:`score_leads` reports to ``progress``.
LEAD_SCORE_STAGES = ("read points", "backtest", "train", "score", "write")
_EARTH_RADIUS_M = 6_371_008.8
_NUMERIC = (
    "drive_time",
    "branch_distance",
    "nearby_businesses",
    "nearby_customers",
    "area_customers_per_business",
    "area_population_density",
)
_CATEGORICAL = ("category", "zoning", "road")


@dataclass(frozen=True)
class LeadData:
    """What the lead score reads: leads, customers (with ``positive``), branches, the area
    profile at ``level`` (indexed by code), the data's last date and the backtest's cut-off."""

    leads: pd.DataFrame
    customers: pd.DataFrame
    branches: pd.DataFrame
    areas: pd.DataFrame
    level: str | None
    end: pd.Timestamp
    cutoff: pd.Timestamp
    positives_label: str
    has_category: bool
    lat0: float = field(default=0.0)


def read_lead_data(conn: Connection, *, level: str | None = None) -> LeadData:
    """Read every located lead and customer with the features they share.

    Parameters
    ----------
    conn
        A connection; rows are what it may see.
    level
        The area level whose profile describes where points stand; None: the first level of
        rank 1 (e.g. ``district``), or no area features when there are no areas.

    Returns
    -------
    LeadData

    Raises
    ------
    NotFoundError
        When there are no located leads or customers, or no date in the data.
    """
    if level is None:
        tops = [lv.level for lv in read_area_levels(conn) if lv.rank == 1]
        level = tops[0] if tops else None
    present = set(conn.execute(text(_SQL["customer_category_columns"])).scalars())
    columns = ", ".join(
        f"NULLIF(r.{c}, '') AS {c}" if c in present else f"CAST(NULL AS text) AS {c}"
        for c in ("category", "category_group", "lead_external_id")
    )
    end_date = conn.execute(text(_SQL["data_end"])).scalar()
    if end_date is None:
        msg = "the data has no signup or order date; import customers and orders first"
        raise NotFoundError(msg)
    end = pd.Timestamp(end_date)
    cutoff = end - pd.DateOffset(months=BACKTEST_MONTHS)
    params = {"level": level, "end": end.date(), "cutoff": cutoff.date()}
    leads = pd.read_sql(text(_SQL["lead_points"]), conn, params={"level": level})
    customers = pd.read_sql(
        text(_SQL["customer_points"].format(category_columns=columns)), conn, params=params
    )
    if leads.empty or customers.empty:
        msg = (
            f"found {len(leads)} located leads and {len(customers)} located customers; the lead "
            "score needs both (import and geocode them, then run `gcrm enrich`)"
        )
        raise NotFoundError(msg)
    segments = set(customers["segment"].dropna().str.lower())
    if segments & set(POSITIVE_SEGMENTS):
        positive = customers["segment"].str.lower().isin(POSITIVE_SEGMENTS)
        label = "SMB/corporate customers"
    else:
        positive = pd.Series(True, index=customers.index)
        label = "customers"
    customers = customers.assign(
        positive=positive.to_numpy(), signup_date=pd.to_datetime(customers["signup_date"])
    )
    branches = pd.read_sql(text(_SQL["branch_points"]), conn)
    areas = _area_frame(conn, level)
    return LeadData(
        leads=leads,
        customers=customers,
        branches=branches,
        areas=areas,
        level=level,
        end=end,
        cutoff=cutoff,
        positives_label=label,
        has_category=bool(customers["category"].notna().any()),
        lat0=float(np.r_[leads["lat"], customers["lat"]].mean()),
    )


def _area_frame(conn: Connection, level: str | None) -> pd.DataFrame:
    columns = ["name", "businesses", "population_density"]
    if level is None:
        return pd.DataFrame(columns=columns)
    profile = pd.DataFrame(area_profiles(conn, level=level).drop(columns="geometry"))
    km2 = profile["area_km2"].where(profile["area_km2"] > 0)
    return pd.DataFrame(
        {
            "name": profile["name"].fillna(profile["code"]).to_numpy(),
            "businesses": profile["businesses"].astype(float).to_numpy(),
            "population_density": (profile["population"].astype(float) / km2).to_numpy(),
        },
        index=profile["code"].astype(str),
    )


# ---------------------------------------------------------------- features


def _xy(frame: pd.DataFrame, lat0: float) -> np.ndarray:
    """Metres on a local equirectangular plane at latitude ``lat0``: within a metro region
    distances are off by well under 1 %, and any region works without a configured CRS."""
    lon, lat = np.radians(frame["lon"].to_numpy(float)), np.radians(frame["lat"].to_numpy(float))
    return np.column_stack([lon * np.cos(np.radians(lat0)), lat]) * _EARTH_RADIUS_M


def _raw_features(
    rows: pd.DataFrame, *, reference: pd.DataFrame, in_reference: np.ndarray, data: LeadData
) -> pd.DataFrame:
    """The rows' feature values in their own units, for the model and for the words.

    ``reference`` are the customers the customer-derived features count (the positives
    known at the time); ``in_reference`` marks rows that are themselves one of them, which
    are not counted as their own neighbour or as a customer of their own area.
    """
    own = in_reference.astype(int)
    ref_xy = _xy(reference, data.lat0)
    rows_xy = _xy(rows, data.lat0)
    nearby = (
        cKDTree(ref_xy).query_ball_point(rows_xy, r=NEARBY_RADIUS_M, return_length=True) - own
        if len(reference)
        else np.zeros(len(rows), dtype=int)
    )
    area = rows["area_code"].astype("string")
    per_area = reference["area_code"].astype("string").value_counts()
    customers_here = area.map(per_area).fillna(0).to_numpy(float) - own
    businesses = area.map(data.areas["businesses"]).to_numpy(float)
    known = np.isfinite(businesses) & (businesses > 0)
    region_rate = per_area.reindex(data.areas.index).fillna(0).sum() / max(
        float(data.areas["businesses"].where(data.areas["businesses"] > 0).sum()), 1.0
    )
    rate = np.where(known, customers_here / np.where(known, businesses, 1.0), np.nan)
    ratio = rate / region_rate if region_rate > 0 else np.full(len(rows), np.nan)
    pop = area.map(data.areas["population_density"]).to_numpy(float)
    branch_m, branch_code = _nearest_branch(rows_xy, data)
    category = (
        rows["category"].where(rows["category"].notna(), "none") if data.has_category else "none"
    )
    return pd.DataFrame(
        {
            "category": category,
            "zoning": rows["zoning_class"].fillna("none").to_numpy(),
            "road": rows["road_class"].fillna("none").to_numpy(),
            "drive_time_s": rows["drive_time_s"].to_numpy(float),
            "branch": rows["branch_reached"].fillna("?").to_numpy(),
            "branch_m": branch_m,
            "nearest_branch": branch_code,
            "nearby_businesses": _nearby_businesses(rows, rows_xy, data),
            "nearby_customers": nearby.astype(float),
            "area_code": area.fillna("").to_numpy(),
            "area_name": area.map(data.areas["name"]).fillna(area).fillna("").to_numpy(),
            "area_ratio": ratio,
            "population_density": pop,
            "pop_ratio": pop / _mean_or_nan(data.areas["population_density"]),
        },
        index=rows.index,
    )


def _nearest_branch(xy: np.ndarray, data: LeadData) -> tuple[np.ndarray, np.ndarray]:
    """Straight distance (m) to the nearest branch and its code (NaN and "" without any)."""
    if data.branches.empty:
        return np.full(len(xy), np.nan), np.full(len(xy), "", dtype=object)
    distance, index = cKDTree(_xy(data.branches, data.lat0)).query(xy)
    return distance, data.branches["code"].to_numpy(dtype=object)[index]


def _nearby_businesses(rows: pd.DataFrame, xy: np.ndarray, data: LeadData) -> np.ndarray:
    """Leads (the businesses gcrm knows) within :data:`NEARBY_BUSINESS_RADIUS_M`, the row's
    own lead record not counted (a lead itself, or the lead a customer was won from)."""
    own_id = rows["lead_external_id"] if "lead_external_id" in rows else rows["external_id"]
    own = own_id.isin(data.leads["external_id"]).to_numpy(int)
    tree = cKDTree(_xy(data.leads, data.lat0))
    found = tree.query_ball_point(xy, r=NEARBY_BUSINESS_RADIUS_M, return_length=True)
    return np.maximum(found - own, 0).astype(float)


def _numeric_values(raw: pd.DataFrame) -> pd.DataFrame:
    """The numeric features on the scale the model reads (logs of skewed counts)."""
    return pd.DataFrame(
        {
            "drive_time": np.log1p(raw["drive_time_s"] / 60.0),
            "branch_distance": np.log1p(raw["branch_m"] / 1000.0),
            "nearby_businesses": np.log1p(raw["nearby_businesses"]),
            "nearby_customers": np.log1p(raw["nearby_customers"]),
            "area_customers_per_business": np.log1p(raw["area_ratio"]),
            "area_population_density": np.log1p(raw["pop_ratio"]),
        },
        index=raw.index,
    )


@dataclass
class _Spec:
    """The design fitted on the training rows: which features, the levels of each
    categorical one, what fills a missing number, and each category's lift."""

    numeric: list[str]
    fills: dict[str, float]
    levels: dict[str, list[str]]
    category_lift: dict[str, float]
    nearby_mean: float
    businesses_mean: float

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.levels]


def _fit_spec(raw: pd.DataFrame, y: np.ndarray, *, has_category: bool) -> _Spec:
    numbers = _numeric_values(raw)
    numeric = [c for c in _NUMERIC if numbers[c].notna().any() and numbers[c].nunique() > 1]
    fills = {c: float(numbers[c].median()) for c in numeric}
    levels: dict[str, list[str]] = {}
    for name in _CATEGORICAL:
        if name == "category" and not has_category:
            continue
        common = raw[name].value_counts().index[:TOP_CATEGORIES].tolist()
        if len(common) > 1:
            levels[name] = [*common, "other"] if raw[name].nunique() > len(common) else common
    lift: dict[str, float] = {}
    if "category" in levels:
        cats = raw["category"].where(raw["category"].isin(levels["category"]), "other")
        pos = cats[y == 1].value_counts(normalize=True)
        neg = cats[y == 0].value_counts(normalize=True)
        lift = (pos.reindex(neg.index).fillna(0) / neg).to_dict()
    return _Spec(
        numeric,
        fills,
        levels,
        lift,
        nearby_mean=float(raw.loc[y == 1, "nearby_customers"].mean()),
        businesses_mean=float(raw["nearby_businesses"].mean()),
    )


def _design(raw: pd.DataFrame, spec: _Spec) -> pd.DataFrame:
    """The model's matrix: the numeric features filled, one column per categorical level."""
    numbers = _numeric_values(raw)[spec.numeric].fillna(spec.fills)
    dummies = [
        pd.DataFrame(
            {
                f"{name}={level}": (
                    raw[name].where(raw[name].isin(levels), "other") == level
                ).astype(float)
                for level in levels
            },
            index=raw.index,
        )
        for name, levels in spec.levels.items()
    ]
    return pd.concat([numbers, *dummies], axis=1)


# ---------------------------------------------------------------- model


@dataclass
class _Model:
    spec: _Spec
    scaler: StandardScaler
    model: LogisticRegression

    def score(self, raw: pd.DataFrame) -> np.ndarray:
        x = self.scaler.transform(_design(raw, self.spec).to_numpy(float))
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=float)

    def contributions(self, raw: pd.DataFrame) -> pd.DataFrame:
        design = _design(raw, self.spec)
        z = self.scaler.transform(design.to_numpy(float)) * self.model.coef_[0]
        each = pd.DataFrame(z, columns=design.columns, index=raw.index)
        groups = {c: c.split("=", 1)[0] for c in design.columns if "=" in c}
        return group_contributions(each, groups)


def _value_weights(revenue: np.ndarray) -> np.ndarray:
    """Positives weighted by value: revenue over the mean revenue, clipped to [0.1, 10], so
    a customer who buys nothing still counts a little and no single one dominates."""
    mean = float(np.mean(revenue)) if len(revenue) else 0.0
    if mean <= 0:
        return np.ones(len(revenue))
    return np.clip(revenue / mean, 0.1, 10.0)


def _fit(
    raw: pd.DataFrame, y: np.ndarray, value: np.ndarray, *, has_category: bool, seed: int
) -> _Model:
    """Fit on ``raw`` rows labelled ``y``; ``value`` weights the positives. The positives'
    weights are scaled to sum to the number of background rows, so the classes weigh alike."""
    spec = _fit_spec(raw, y, has_category=has_category)
    design = _design(raw, spec).to_numpy(float)
    scaler = StandardScaler().fit(design)
    weights = np.ones(len(y))
    pos = y == 1
    w = _value_weights(value[pos])
    weights[pos] = w * (float((~pos).sum()) / float(w.sum()))
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000, random_state=seed)
    model.fit(scaler.transform(design), y, sample_weight=weights)
    return _Model(spec, scaler, model)


def _model_name(seed: int) -> str:
    return (
        f"LogisticRegression(L2, C={REGULARISATION_C:g}; positives weighted by 12-month "
        f"revenue; leads as unlabelled background; seed {seed})"
    )


def _training_set(
    data: LeadData, positives: pd.DataFrame, *, revenue: str, leads: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Raw features of ``positives`` (the reference for counting) and background ``leads``,
    their labels and the positives' values."""
    raw_pos = _raw_features(
        positives, reference=positives, in_reference=np.ones(len(positives), bool), data=data
    )
    raw_leads = _raw_features(
        leads, reference=positives, in_reference=np.zeros(len(leads), bool), data=data
    )
    raw = pd.concat([raw_pos, raw_leads], ignore_index=True)
    y = np.r_[np.ones(len(positives)), np.zeros(len(leads))].astype(int)
    value = np.r_[positives[revenue].to_numpy(float), np.zeros(len(leads))]
    return raw, y, value


def _background(data: LeadData) -> pd.DataFrame:
    """Leads not already a customer (migration 0017's ``lead_external_id``)."""
    converted = set(data.customers["lead_external_id"].dropna())
    return data.leads[~data.leads["external_id"].isin(converted)].reset_index(drop=True)


# ---------------------------------------------------------------- backtest


def backtest_leads(conn: Connection, *, level: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Backtest the lead score on the data of ``conn`` (nothing is written).

    Parameters
    ----------
    conn
        A connection.
    level
        The area level of the area features (:func:`read_lead_data`).
    seed
        Seeds the folds, the model and the random baseline.

    Returns
    -------
    dict
        :func:`gcrm.scoring.backtest_json`: the model's ``auc``, ``recall_top10``,
        ``precision_top10``, ``n``, ``positives``; ``baselines`` ``random`` and ``distance``
        (nearest branch, straight line; absent when there are no branches); and ``cutoff``,
        ``data_end``, ``hidden_customers``, ``train_customers``, ``leads``, ``model``,
        ``features``, ``folds``, ``seed``.

    Raises
    ------
    ValidationError
        When no customer of the positive segments signed up in the last
        :data:`BACKTEST_MONTHS` months, or too few before.
    """
    return _backtest(read_lead_data(conn, level=level), seed=seed)


def _backtest(data: LeadData, *, seed: int) -> dict[str, Any]:
    positives = data.customers[data.customers["positive"]]
    recent = positives["signup_date"] > data.cutoff
    train, hidden = positives[~recent].reset_index(drop=True), positives[recent]
    leads = _background(data)
    if hidden.empty or len(train) < 2 or len(leads) < 4:
        msg = (
            f"the backtest needs {data.positives_label} who signed up after "
            f"{data.cutoff:%Y-%m-%d} ({len(hidden)} found), at least 2 before ({len(train)}) "
            f"and 4 leads ({len(leads)}); import more customers with signup dates, or score "
            "without --backtest"
        )
        raise ValidationError(msg)
    hidden = hidden.reset_index(drop=True)
    raw_hidden = _raw_features(
        hidden, reference=train, in_reference=np.zeros(len(hidden), bool), data=data
    )
    fold = np.random.default_rng(seed).permutation(len(leads)) % 2
    lead_scores = np.zeros(len(leads))
    hidden_scores = np.zeros(len(hidden))
    features: list[str] = []
    for f in (0, 1):
        raw, y, value = _training_set(
            data, train, revenue="revenue_before_cutoff", leads=leads[fold != f]
        )
        model = _fit(raw, y, value, has_category=data.has_category, seed=seed)
        held = _raw_features(
            leads[fold == f],
            reference=train,
            in_reference=np.zeros(int((fold == f).sum()), bool),
            data=data,
        )
        lead_scores[fold == f] = model.score(held)
        hidden_scores += model.score(raw_hidden) / 2
        features = model.spec.features
    y_eval = np.r_[np.zeros(len(leads)), np.ones(len(hidden))]
    scores = np.r_[lead_scores, hidden_scores]
    baselines = {"random": random_baseline(y_eval, seed=seed)}
    if not data.branches.empty:
        everyone = pd.concat([leads[["lon", "lat"]], hidden[["lon", "lat"]]], ignore_index=True)
        distance, _ = cKDTree(_xy(data.branches, data.lat0)).query(_xy(everyone, data.lat0))
        baselines["distance"] = ranking_figures(y_eval, -distance)
    return backtest_json(
        ranking_figures(y_eval, scores),
        baselines,
        cutoff=f"{data.cutoff:%Y-%m-%d}",
        data_end=f"{data.end:%Y-%m-%d}",
        hidden_customers=len(hidden),
        train_customers=len(train),
        leads=len(leads),
        model=_model_name(seed),
        features=features,
        folds=2,
        seed=seed,
    )


def run_lead_backtest(
    engine: Engine | Connection, *, level: str | None = None, seed: int = 0
) -> tuple[int, dict[str, Any]]:
    """Backtest the lead score and record it as a run of kind ``lead`` that scored no rows
    (the scores stay as they are). Returns the run's id and :func:`backtest_leads`.
    ``engine`` may be a connection: the run is then recorded in its transaction."""
    with _reading(engine) as conn:
        backtest = backtest_leads(conn, level=level, seed=seed)
    with _writing(engine) as conn:
        run_id = record_run(
            conn,
            kind="lead",
            model=backtest["model"],
            features=backtest["features"],
            rows_scored=0,
            backtest=backtest,
        )
    return run_id, backtest


# ---------------------------------------------------------------- scoring


def score_leads(
    engine: Engine | Connection,
    *,
    level: str | None = None,
    backtest: bool = True,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Score every lead, with its reasons and percentile, and record the run.

    The model is trained on every customer of the positive segments (weighted by revenue
    in the last 12 months of the data) against the leads not already customers; every
    located lead is then scored. ``gcrm.lead_scores`` is replaced and the run recorded in
    ``gcrm.score_runs`` in one transaction.

    Parameters
    ----------
    engine
        The owner's engine (the scores of every lead are rewritten), or a connection whose
        transaction the caller commits.
    level
        The area level of the area features (:func:`read_lead_data`).
    backtest
        Also run :func:`backtest_leads` and keep its figures in the run.
    seed
        Seeds the model, the backtest's folds and its random baseline.
    progress
        Called with each stage of :data:`LEAD_SCORE_STAGES` as it starts.

    Returns
    -------
    int
        The run's id.

    Raises
    ------
    NotFoundError
        When there are no located leads or customers.
    ValidationError
        When the backtest cannot run (see :func:`backtest_leads`); score with
        ``backtest=False`` then.
    """
    step = progress or (lambda _stage: None)
    step(LEAD_SCORE_STAGES[0])
    with _reading(engine) as conn:
        data = read_lead_data(conn, level=level)
    step(LEAD_SCORE_STAGES[1])
    figures = _backtest(data, seed=seed) if backtest else None
    step(LEAD_SCORE_STAGES[2])
    positives = data.customers[data.customers["positive"]].reset_index(drop=True)
    raw, y, value = _training_set(data, positives, revenue="revenue_12m", leads=_background(data))
    model = _fit(raw, y, value, has_category=data.has_category, seed=seed)
    step(LEAD_SCORE_STAGES[3])
    scores = _scores_frame(data, positives, model)
    step(LEAD_SCORE_STAGES[4])
    with _writing(engine) as conn:
        run_id = record_run(
            conn,
            kind="lead",
            model=_model_name(seed),
            features=model.spec.features,
            rows_scored=len(scores),
            backtest=figures,
        )
        conn.execute(text(_SQL["clear_scores"]))
        copy_frame(conn, "gcrm.lead_scores", scores.assign(run_id=run_id))
    return run_id


def _reading(bind: Engine | Connection) -> AbstractContextManager[Connection]:
    return nullcontext(bind) if isinstance(bind, Connection) else bind.connect()


def _writing(bind: Engine | Connection) -> AbstractContextManager[Connection]:
    return nullcontext(bind) if isinstance(bind, Connection) else bind.begin()


def _scores_frame(data: LeadData, positives: pd.DataFrame, model: _Model) -> pd.DataFrame:
    leads = data.leads
    raw = _raw_features(
        leads, reference=positives, in_reference=np.zeros(len(leads), bool), data=data
    )
    score = np.clip(model.score(raw), 0.0, 1.0)
    reasons = top_reasons(
        model.contributions(raw), values=raw, describers=_describers(data, model.spec), k=3
    )
    return pd.DataFrame(
        {
            "external_id": leads["external_id"].to_numpy(),
            "score": score,
            "percentile": pd.Series(score).rank(pct=True, method="max").to_numpy() * 100,
            # One JSON text per lead for COPY: a loop by nature, json has no array form.
            "reasons": [json.dumps(r, ensure_ascii=False) for r in reasons],
        }
    )


def _describers(data: LeadData, spec: _Spec) -> dict[str, Describer]:
    label, level = data.positives_label, data.level or "area"

    def where(rows: pd.DataFrame) -> list[str]:
        return [f"in {level} {n}" if n else f"outside any {level}" for n in rows["area_name"]]

    def category(rows: pd.DataFrame) -> list[str]:
        out = []
        for cat in rows["category"]:
            lift = spec.category_lift.get(cat if cat in spec.category_lift else "other", np.nan)
            name = "no category" if cat == "none" else cat
            if not np.isfinite(lift):
                out.append(f"category {name}")
            elif lift == 0:
                out.append(f"{name}: none among {label}")
            else:
                out.append(f"{name}: {lift:.1f}x as common among {label} as among leads")
        return out

    def drive(rows: pd.DataFrame) -> list[str]:
        out = []
        for seconds, branch in zip(rows["drive_time_s"], rows["branch"], strict=True):
            if not np.isfinite(seconds):
                out.append("no drive time to a branch (not reached by road)")
            elif seconds < 60:
                out.append(f"under 1 min from branch {branch}")
            else:
                out.append(f"{round(seconds / 60)} min from branch {branch}")
        return out

    def nearby(rows: pd.DataFrame) -> list[str]:
        km = f"{NEARBY_RADIUS_M / 1000:g} km"
        return [
            f"{int(n)} {label} within {km} (average {spec.nearby_mean:.0f})"
            for n in rows["nearby_customers"]
        ]

    def ratio(column: str, what: str) -> Describer:
        def describe(rows: pd.DataFrame) -> list[str]:
            return [
                f"{w} with {times_average(r)} {what}" if np.isfinite(r) else f"{w} ({what} unknown)"
                for w, r in zip(where(rows), rows[column], strict=True)
            ]

        return describe

    return {
        "category": category,
        "drive_time": drive,
        "branch_distance": lambda rows: [
            f"{m / 1000:.1f} km from branch {b} (straight line)" if np.isfinite(m) else "no branch"
            for m, b in zip(rows["branch_m"], rows["nearest_branch"], strict=True)
        ],
        "nearby_businesses": lambda rows: [
            f"{int(n)} other businesses within {NEARBY_BUSINESS_RADIUS_M:g} m "
            f"(average {spec.businesses_mean:.0f})"
            for n in rows["nearby_businesses"]
        ],
        "nearby_customers": nearby,
        "area_customers_per_business": ratio("area_ratio", f"{label} per business"),
        "area_population_density": ratio("pop_ratio", "population density"),
        "zoning": lambda rows: [_zone_words(z) for z in rows["zoning"]],
        "road": lambda rows: [
            "no road nearby" if r == "none" else f"on {_article(r)} {r} road" for r in rows["road"]
        ],
    }


def _zone_words(zone: str) -> str:
    if zone == "none":
        return "outside any mapped zone"
    if zone == "other":
        return "in a zone of another kind"
    return f"in {_article(zone)} {zone} zone"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _mean_or_nan(values: pd.Series) -> float:
    finite = values[np.isfinite(values.to_numpy(float))]
    return float(finite.mean()) if len(finite) else float("nan")


# ---------------------------------------------------------------- reading scores


def read_lead_score(conn: Connection, external_id: str) -> dict[str, Any] | None:
    """One lead's score as JSON-ready data: ``external_id``, ``score``, ``percentile``,
    ``reasons`` (``[{"feature", "effect", "text"}]``), ``scored_at`` (ISO 8601) and ``run``
    (``id``, ``model``, ``created_at``, ``backtest``: the figures of
    :func:`backtest_leads`, or None); None when the lead has no score or ``conn`` may not
    see it (row-level security)."""
    row = conn.execute(text(_SQL["lead_score"]), {"external_id": external_id}).mappings().first()
    if row is None:
        return None
    return {
        "external_id": row["external_id"],
        "score": float(row["score"]),
        "percentile": float(row["percentile"]),
        "reasons": list(row["reasons"]),
        "scored_at": row["scored_at"].isoformat(),
        "run": {
            "id": int(row["run_id"]),
            "model": row["model"],
            "created_at": row["created_at"].isoformat(),
            "backtest": row["backtest"],
        },
    }


def read_lead_scores(conn: Connection, external_ids: list[str] | None = None) -> pd.DataFrame:
    """Scores of the leads ``external_ids`` (all when None) that have one: ``external_id``,
    ``score``, ``percentile``, ``reasons`` (a list of ``{"feature", "effect", "text"}``)."""
    frame = pd.read_sql(
        text(_SQL["lead_scores"]),
        conn,
        params={"ids": None if external_ids is None else list(external_ids)},
    )
    return frame
