"""Forecasts from the cube's own monthly history, with prediction intervals and a backtest.

The model is exponential smoothing in state-space form (statsmodels' ``ETSModel``):
additive errors, a damped additive trend and, with at least two years of history, additive
12-month seasonality, ETS(A,Ad,A); with less it has no seasonal part, ETS(A,Ad,N), and says
so. Prediction intervals are the model's own (analytic for additive errors) at 80% and 95%;
intervals of totals over several months come from simulated paths. Forecasts and bounds are
clipped at 0: none of the measures can be negative.

Every forecast is backtested: the model is fitted on all but the last 12 months and forecasts
them, and so does the seasonal naive forecast (each month's value a year earlier); the two
errors are reported side by side, whichever is smaller.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel, ETSResults

from gcrm.core import ValidationError
from gcrm.cube.ops import MEASURES, select_measure, time_series

__all__ = [
    "BACKTEST_MONTHS",
    "FORECAST_MEASURES",
    "HORIZONS",
    "MIN_MONTHS",
    "MIN_SEASONAL_MONTHS",
    "Backtest",
    "Forecast",
    "forecast",
    "forecast_by_area",
    "forecast_table_by_area",
]

#: Measures that change month by month: flows, stocks and the rates derived from them.
FORECAST_MEASURES = tuple(name for name, m in MEASURES.items() if m.kind in ("flow", "stock")) + (
    "penetration",
    "churn_rate",
)
SEASON_MONTHS = 12
#: A seasonal model starts its 12 seasonal states from two full years.
MIN_SEASONAL_MONTHS = 2 * SEASON_MONTHS
#: The least history for any forecast (statsmodels' heuristic start needs 10 months).
MIN_MONTHS = 12
#: The backtest holds out the last year.
BACKTEST_MONTHS = 12
#: The totals reported: the next 3, 6 and 12 months.
HORIZONS = (3, 6, 12)
#: Coverage of the prediction intervals.
LEVELS = (80, 95)
_MAX_HORIZON = 60
_SIMULATIONS = 2000


@dataclass(frozen=True)
class Backtest:
    """The model against the seasonal naive forecast on the last ``BACKTEST_MONTHS``.

    ``months`` holds, by month, the ``actual`` value, the ``model``'s forecast (fitted on
    the months before) and the ``naive`` one (the value a year earlier). ``pct_metric`` is
    ``"MAPE"``, or ``"sMAPE"`` when an actual value is 0 (a percentage of 0 is undefined;
    sMAPE divides by the mean of forecast and actual, and counts 0 against 0 as no error).
    """

    model: str
    months: pd.DataFrame
    mae_model: float
    mae_naive: float
    pct_metric: str
    pct_model: float
    pct_naive: float

    @property
    def better(self) -> str:
        """``"model"``, ``"naive"`` or ``"tie"``: which had the smaller mean absolute error."""
        if np.isclose(self.mae_model, self.mae_naive, rtol=1e-9, atol=1e-12):
            return "tie"
        return "model" if self.mae_model < self.mae_naive else "naive"

    def describe(self) -> str:
        """One line: both errors and which is smaller, whichever it is."""
        n = len(self.months)
        verdict = {
            "model": "the model was closer",
            "naive": "the naive forecast was closer: trust the model less",
            "tie": "they were as close",
        }[self.better]
        return (
            f"backtest on the last {n} months: model MAE {self.mae_model:,.2f} "
            f"({self.pct_metric} {self.pct_model:.1f}%), same month last year MAE "
            f"{self.mae_naive:,.2f} ({self.pct_metric} {self.pct_naive:.1f}%): {verdict}"
        )


@dataclass(frozen=True)
class Forecast:
    """A forecast of one measure for one area (or a level's total) and segment.

    ``months``: by month, ``forecast`` and the bounds ``lower_80``, ``upper_80``,
    ``lower_95``, ``upper_95``. ``totals``: for each horizon of :data:`HORIZONS` within the
    forecast, the same columns for the next ``months`` months together (flows summed, stocks
    and rates at the horizon's last month). ``backtest`` is None when the history is too
    short for one; ``notes`` then say why, and name any fallback.
    """

    measure: str
    target: str
    segment: str
    model: str
    history_months: int
    months: pd.DataFrame
    totals: pd.DataFrame
    backtest: Backtest | None
    notes: list[str] = field(default_factory=list)


def forecast(
    ds: xr.Dataset,
    measure: str,
    *,
    area: str | None = None,
    level: str | None = None,
    segment: str | None = None,
    horizon: int = 12,
) -> Forecast:
    """Forecast ``measure`` for the next ``horizon`` months from the cube's history.

    Parameters
    ----------
    ds
        The region cube.
    measure
        One of :data:`FORECAST_MEASURES` (e.g. ``"revenue"``, ``"active"``, ``"churned"``).
    area
        An area id (``"district:D01"``) [default: the total of ``level``].
    level
        Without ``area``: the level whose areas are totalled [default: the top level].
    segment
        A segment, or None / ``"all"`` for every segment.
    horizon
        Months to forecast, 1 to 60.

    Returns
    -------
    Forecast

    Raises
    ------
    ValidationError
        When ``measure`` does not change over time, ``horizon`` is out of range, or the cube
        holds fewer than :data:`MIN_MONTHS` months.
    NotFoundError
        When ``area`` is not in the cube.
    """
    _check(ds, measure, horizon)
    raw = time_series(ds, measure, area=area, level=level, segment=segment)
    history = _monthly(raw)
    notes: list[str] = []
    if raw.isna().any():
        notes.append(
            f"{int(raw.isna().sum())} months without a value (nothing to divide by) taken as 0"
        )
    fit = _fit(history)
    if len(history) < MIN_SEASONAL_MONTHS:
        notes.append(
            f"{len(history)} months of history, fewer than {MIN_SEASONAL_MONTHS}: "
            "no seasonal part in the model"
        )
    months = _predict(fit, history, horizon)
    totals = _totals(fit, history, months, kind=MEASURES[measure].kind)
    backtest = None
    if len(history) >= SEASON_MONTHS + BACKTEST_MONTHS:
        backtest = _backtest(history)
    else:
        notes.append(
            f"no backtest: it needs {SEASON_MONTHS + BACKTEST_MONTHS} months (a year to fit "
            f"on and the year after it), the cube has {len(history)}"
        )
    return Forecast(
        measure=measure,
        target=area or f"all areas of {level or 'the top level'}",
        segment=segment or "all",
        model=_describe(history),
        history_months=len(history),
        months=months,
        totals=totals,
        backtest=backtest,
        notes=notes,
    )


def forecast_by_area(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    segment: str | None = None,
    parent: str | None = None,
    horizon: int = 12,
) -> pd.Series:
    """Each area's forecast over the next ``horizon`` months, for a map.

    Flows are summed over the months, stocks and rates taken at the last one. To stay fast
    for hundreds of areas, the smoothing parameters are fitted once, on the total of the
    areas, and each area's own level, trend and seasonal states are started from its own
    history (statsmodels' heuristic start) and run with those parameters; an area with no
    history (all 0) is forecast 0.

    Parameters
    ----------
    ds
        The region cube.
    measure
        One of :data:`FORECAST_MEASURES`.
    level
        The areas' level, e.g. ``"district"``.
    segment
        A segment, or None / ``"all"`` for every segment.
    parent
        An area id: only its children (drill-down).
    horizon
        Months ahead, 1 to 60.

    Returns
    -------
    pandas.Series
        Indexed by area id, named ``measure``.
    """
    _check(ds, measure, horizon)
    runs, _ = _area_runs(ds, measure, level=level, segment=segment, parent=parent)
    kind = MEASURES[measure].kind
    values = [
        0.0 if run is None else _horizon_value(_path(run, horizon), kind=kind)
        for run in runs.to_numpy()
    ]
    return pd.Series(values, index=runs.index, name=measure)


def forecast_table_by_area(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    segment: str | None = None,
    parent: str | None = None,
    horizon: int = 12,
) -> pd.DataFrame:
    """Each area's forecast over the next ``horizon`` months with its prediction intervals,
    for a map's values and tooltips.

    The forecasts are :func:`forecast_by_area`'s; the bounds come from simulated paths, as
    :func:`forecast`'s totals do (paths clipped at 0, then summed for flows). Every area's
    model has the same smoothing parameters and additive errors, so a path's departure from
    the point forecast is the same weighted sum of errors in every area, scaled by the
    area's own error standard deviation: one set of simulated departures serves them all.

    Parameters
    ----------
    ds
        The region cube.
    measure
        One of :data:`FORECAST_MEASURES`.
    level
        The areas' level, e.g. ``"district"``.
    segment
        A segment, or None / ``"all"`` for every segment.
    parent
        An area id: only its children (drill-down).
    horizon
        Months ahead, 1 to 60.

    Returns
    -------
    pandas.DataFrame
        Indexed by area id: ``forecast``, ``lower_80``, ``upper_80``, ``lower_95``,
        ``upper_95`` (flows summed over the months, stocks and rates at the last one).

    Raises
    ------
    ValidationError
        As :func:`forecast_by_area`.
    """
    _check(ds, measure, horizon)
    runs, total = _area_runs(ds, measure, level=level, segment=segment, parent=parent)
    kind = MEASURES[measure].kind
    departures = _unit_departures(total, horizon)
    columns = ["forecast", *(f"{side}_{lv}" for lv in LEVELS for side in ("lower", "upper"))]
    rows = []
    # One area at a time keeps memory at horizon x simulations whatever the level's size.
    for run in runs.to_numpy():
        if run is None:
            rows.append(dict.fromkeys(columns, 0.0))
            continue
        with _quiet():
            unclipped = np.asarray(run.forecast(horizon), dtype=float)
        point = _horizon_value(np.clip(unclipped, 0.0, None), kind=kind)
        sigma = float(np.sqrt(max(float(run.scale), 0.0)))
        paths = np.clip(unclipped[:, None] + sigma * departures, 0.0, None)
        draws = paths.sum(axis=0) if kind == "flow" else paths[-1]
        rows.append({"forecast": point, **_bounds(draws, point)})
    return pd.DataFrame(rows, index=runs.index, columns=columns)


def _area_runs(
    ds: xr.Dataset,
    measure: str,
    *,
    level: str,
    segment: str | None,
    parent: str | None,
) -> tuple[pd.Series, ETSResults]:
    """Each area's model run with the parameters fitted on the areas' total (None for an
    area with no history), and the total's fit."""
    # select_measure per month: the cube's own aggregation (segments, derived rates), one
    # vectorised slice of every area per month.
    labels = [m.strftime("%Y-%m") for m in pd.DatetimeIndex(ds["month"].values)]
    slices = [
        select_measure(ds, measure, level=level, period=m, segment=segment, parent=parent)
        for m in labels
    ]
    table = pd.concat(slices, axis=1, keys=pd.DatetimeIndex(ds["month"].values)).fillna(0.0)
    total = time_series(ds, measure, area=parent, level=None if parent else level, segment=segment)
    fit = _fit(_monthly(total))
    runs: list[ETSResults | None] = []
    # One small state-space run per area (milliseconds each): no array API fits many series.
    for _area, row in table.iterrows():
        history = _monthly(row)
        if not history.any():
            runs.append(None)
            continue
        with _quiet():
            runs.append(_model(history).smooth(fit.params))
    return pd.Series(runs, index=table.index, dtype=object), fit


def _path(run: ETSResults, horizon: int) -> np.ndarray:
    with _quiet():
        return np.clip(np.asarray(run.forecast(horizon), dtype=float), 0.0, None)


def _horizon_value(path: np.ndarray, *, kind: str) -> float:
    """The months together: a flow's sum, a stock's or rate's last value."""
    return float(path.sum() if kind == "flow" else path[-1])


def _unit_departures(fit: ETSResults, horizon: int) -> np.ndarray:
    """Simulated paths of ``fit``'s model less its point forecast, for errors of standard
    deviation 1: ``horizon`` x simulations (additive errors and states make them the same
    for any starting state)."""
    rng = np.random.default_rng(fit.nobs)
    errors = rng.standard_normal((horizon, _SIMULATIONS))
    with _quiet():
        paths = fit.simulate(horizon, anchor="end", repetitions=_SIMULATIONS, random_errors=errors)
        point = fit.simulate(
            horizon, anchor="end", repetitions=1, random_errors=np.zeros((horizon, 1))
        )
    paths = np.asarray(paths, dtype=float).reshape(horizon, -1)
    return paths - np.asarray(point, dtype=float).reshape(horizon, 1)


def _bounds(draws: np.ndarray, point: float) -> dict[str, float]:
    """The prediction intervals of :data:`LEVELS` from simulated ``draws`` of ``point``."""
    bounds = {}
    for level in LEVELS:
        tail = (100 - level) / 2
        low, high = np.percentile(draws, [tail, 100 - tail])
        # Simulation noise must not put the point outside its own interval.
        bounds[f"lower_{level}"] = float(min(low, point))
        bounds[f"upper_{level}"] = float(max(high, point))
    return bounds


def _check(ds: xr.Dataset, measure: str, horizon: int) -> None:
    if measure not in FORECAST_MEASURES:
        msg = f"measure {measure!r} cannot be forecast; use one of {list(FORECAST_MEASURES)}"
        raise ValidationError(msg)
    if not 1 <= horizon <= _MAX_HORIZON:
        msg = f"horizon {horizon!r} is out of range; use 1 to {_MAX_HORIZON} months"
        raise ValidationError(msg)
    n = ds.sizes["month"]
    if n < MIN_MONTHS:
        msg = f"the cube holds {n} months; a forecast needs at least {MIN_MONTHS}: build the cube from an earlier --start"
        raise ValidationError(msg)


def _monthly(series: pd.Series) -> pd.Series:
    """Floats on a month-start index with its frequency set (statsmodels wants it)."""
    out = pd.Series(
        np.nan_to_num(series.to_numpy(dtype=float)), index=pd.DatetimeIndex(series.index)
    )
    return out.asfreq("MS")


def _seasonal(history: pd.Series) -> bool:
    return len(history) >= MIN_SEASONAL_MONTHS


def _describe(history: pd.Series) -> str:
    if _seasonal(history):
        return "ETS(A,Ad,A): additive errors, damped additive trend, additive 12-month seasonality"
    return "ETS(A,Ad,N): additive errors, damped additive trend, no seasonality"


def _model(history: pd.Series) -> ETSModel:
    seasonal = _seasonal(history)
    return ETSModel(
        history,
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=SEASON_MONTHS if seasonal else None,
        initialization_method="heuristic",
    )


@contextmanager
def _quiet() -> Iterator[None]:
    # The optimiser tries parameters at the edges of their range (log of 0, slow
    # convergence); the fit it returns is the best it found, and the backtest judges it.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _fit(history: pd.Series) -> ETSResults:
    with _quiet():
        return _model(history).fit(disp=False)


def _predict(fit: ETSResults, history: pd.Series, horizon: int) -> pd.DataFrame:
    n = len(history)
    with _quiet():
        prediction = fit.get_prediction(start=n, end=n + horizon - 1)
    months = pd.DataFrame({"forecast": prediction.predicted_mean})
    for level in LEVELS:
        bounds = prediction.summary_frame(alpha=1 - level / 100)
        months[f"lower_{level}"] = bounds["pi_lower"]
        months[f"upper_{level}"] = bounds["pi_upper"]
    months.index = pd.DatetimeIndex(months.index, name="month")
    return months.clip(lower=0.0)


def _totals(
    fit: ETSResults, history: pd.Series, months: pd.DataFrame, *, kind: str
) -> pd.DataFrame:
    """Each horizon's total (flows) or last value (stocks, rates), bounds from simulation."""
    horizons = [h for h in HORIZONS if h <= len(months)]
    with _quiet():
        paths = fit.simulate(
            len(months),
            anchor="end",
            repetitions=_SIMULATIONS,
            rng=np.random.default_rng(len(history)),
        )
    paths = np.clip(np.asarray(paths, dtype=float).reshape(len(months), -1), 0.0, None)
    rows = []
    for h in horizons:
        if kind == "flow":
            point, draws = months["forecast"].iloc[:h].sum(), paths[:h].sum(axis=0)
        else:
            point, draws = months["forecast"].iloc[h - 1], paths[h - 1]
        rows.append({"months": h, "forecast": point, **_bounds(draws, float(point))})
    return pd.DataFrame(rows).set_index("months")


def _backtest(history: pd.Series) -> Backtest:
    """Fit on all but the last ``BACKTEST_MONTHS``, forecast them, and compare with naive."""
    train, test = history.iloc[:-BACKTEST_MONTHS], history.iloc[-BACKTEST_MONTHS:]
    fit = _fit(train)
    model = _predict(fit, train, BACKTEST_MONTHS)["forecast"].to_numpy()
    naive = history.iloc[-BACKTEST_MONTHS - SEASON_MONTHS : -SEASON_MONTHS].to_numpy()
    actual = test.to_numpy()
    table = pd.DataFrame(
        {"actual": actual, "model": model, "naive": naive},
        index=pd.DatetimeIndex(test.index, name="month"),
    )
    metric = "MAPE" if (actual != 0).all() else "sMAPE"
    return Backtest(
        model=_describe(train),
        months=table,
        mae_model=float(np.abs(model - actual).mean()),
        mae_naive=float(np.abs(naive - actual).mean()),
        pct_metric=metric,
        pct_model=_percentage_error(actual, model, metric),
        pct_naive=_percentage_error(actual, naive, metric),
    )


def _percentage_error(actual: np.ndarray, forecast: np.ndarray, metric: str) -> float:
    error = np.abs(forecast - actual)
    if metric == "MAPE":
        return float((error / np.abs(actual)).mean() * 100)
    scale = (np.abs(forecast) + np.abs(actual)) / 2
    ratio = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
    return float(ratio.mean() * 100)
