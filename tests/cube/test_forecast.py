"""Forecasts from the cube's history: a seasonal series, a short one, hand-checked backtests,
intervals around the point, and the per-area forecast for a map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gcrm.core import ValidationError
from gcrm.cube import forecast, forecast_by_area, select_measure

START = "2021-01-01"


def make_cube(revenue: dict[str, np.ndarray], *, parent: str = "") -> xr.Dataset:
    """A cube of one level ``district`` whose areas have the given monthly revenue (one
    segment), one order per 100 of revenue and a steady 100 active customers."""
    areas = list(revenue)
    n = len(next(iter(revenue.values())))
    months = pd.date_range(START, periods=n, freq="MS")
    values = np.stack([np.asarray(revenue[a], dtype=float) for a in areas])[:, :, None]
    dims = ("area", "month", "segment")

    def like(fill: float) -> tuple[tuple[str, ...], np.ndarray]:
        return dims, np.full(values.shape, fill)

    return xr.Dataset(
        {
            "revenue": (dims, values),
            "orders": (dims, np.round(values / 100)),
            "active": like(100.0),
            "customers": like(100.0),
            "new": like(2.0),
            "churned": like(2.0),
            "households": (("area",), np.full(len(areas), 1000.0)),
        },
        coords={
            "area": _text([f"district:{a}" for a in areas]),
            "month": months,
            "segment": _text(["retail"]),
            "level": ("area", _text(["district"] * len(areas))),
            "code": ("area", _text(areas)),
            "name": ("area", _text(areas)),
            "parent": ("area", _text([parent] * len(areas))),
        },
        attrs={"levels": json.dumps([{"level": "district", "parent_level": None, "rank": 1}])},
    )


def _text(values: list[str]) -> np.ndarray:
    """Strings as objects, as the built cube holds them (Zarr stores them so)."""
    return np.array(values, dtype=object)


def seasonal(n: int, *, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """Revenue with a trend, a strong 12-month season and a little noise."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return scale * (1000 + 5 * t + 300 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20, n))


def test_a_seasonal_series_is_forecast_seasonally_and_beats_naive_or_comes_close() -> None:
    ds = make_cube({"D01": seasonal(48)})
    result = forecast(ds, "revenue", area="district:D01", horizon=12)

    assert "seasonality" in result.model and result.history_months == 48
    assert result.notes == []
    months = result.months
    assert len(months) == 12 and months.index[0] == pd.Timestamp("2025-01-01")
    # The season carries on: the forecast peaks in April (sin's top, month 3 of 12) and
    # bottoms in October, as the history does.
    assert months["forecast"].idxmax().month == 4
    assert months["forecast"].idxmin().month == 10
    backtest = result.backtest
    assert backtest is not None and "seasonality" in backtest.model
    # Trend + season: the model should beat last year's values (which miss a year of trend
    # and carry last year's noise); at worst come close.
    assert backtest.mae_model <= 1.1 * backtest.mae_naive
    assert backtest.pct_metric == "MAPE"


def test_intervals_hold_the_point_and_widen_with_coverage() -> None:
    ds = make_cube({"D01": seasonal(36, seed=3)})
    result = forecast(ds, "revenue", area="district:D01", horizon=12)
    for frame in (result.months, result.totals):
        assert (frame["lower_95"] <= frame["lower_80"]).all()
        assert (frame["lower_80"] <= frame["forecast"]).all()
        assert (frame["forecast"] <= frame["upper_80"]).all()
        assert (frame["upper_80"] <= frame["upper_95"]).all()
        assert (frame["upper_95"] > frame["lower_95"]).all()
    # Revenue is a flow: the 3-month total is the sum of the first three months.
    assert list(result.totals.index) == [3, 6, 12]
    assert result.totals.loc[3, "forecast"] == pytest.approx(
        result.months["forecast"].iloc[:3].sum()
    )
    # Uncertainty grows with the horizon.
    width = result.months["upper_95"] - result.months["lower_95"]
    assert width.iloc[-1] > width.iloc[0]


def test_a_short_series_falls_back_to_a_model_without_season_and_no_backtest() -> None:
    ds = make_cube({"D01": seasonal(18)})
    result = forecast(ds, "revenue", horizon=6)

    assert result.model.startswith("ETS(A,Ad,N)") and "no seasonality" in result.model
    assert result.backtest is None
    assert any("fewer than 24" in note for note in result.notes)
    assert any("no backtest" in note for note in result.notes)
    assert list(result.totals.index) == [3, 6]
    assert result.target == "all areas of the top level"


def test_backtest_figures_are_the_hand_computed_naive_errors() -> None:
    # A straight line 100 + 10 t: a year earlier is always 120 lower.
    t = np.arange(36)
    line = 100.0 + 10 * t
    result = forecast(make_cube({"D01": line}), "revenue", area="district:D01")
    backtest = result.backtest
    assert backtest is not None
    held_out = line[24:]
    np.testing.assert_allclose(backtest.months["actual"], held_out)
    np.testing.assert_allclose(backtest.months["naive"], held_out - 120)
    assert backtest.mae_naive == pytest.approx(120.0)
    assert backtest.pct_naive == pytest.approx(np.mean(120 / held_out) * 100)
    # Trained on 24 months (two years): the backtest's model is seasonal too.
    assert "seasonality" in backtest.model
    # A damped trend follows a straight line closely: far closer than a year-old value.
    assert backtest.better == "model"
    assert "the model was closer" in backtest.describe()


def test_zeros_in_the_held_out_year_switch_to_smape_and_naive_can_win() -> None:
    # Two years of 100 a month, then nothing: last year's value (100) is off by 100 each
    # month, 200% sMAPE (|100 - 0| / ((100 + 0) / 2)).
    values = np.r_[np.full(24, 100.0), np.zeros(12)]
    backtest = forecast(make_cube({"D01": values}), "revenue").backtest
    assert backtest is not None
    assert backtest.pct_metric == "sMAPE"
    assert backtest.mae_naive == pytest.approx(100.0)
    assert backtest.pct_naive == pytest.approx(200.0)
    # The model, fitted on a flat 100, forecasts about 100 too: a tie or close to it.
    assert backtest.mae_model == pytest.approx(100.0, rel=0.05)

    # A repeating season without trend or noise: last year's value is exact, and the
    # backtest says the naive forecast was closer (or as close), in so many words.
    season = np.tile(np.r_[np.full(6, 50.0), np.full(6, 150.0)], 4)
    exact = forecast(make_cube({"D01": season}), "revenue").backtest
    assert exact is not None and exact.mae_naive == 0.0
    assert exact.better in ("naive", "tie")
    assert exact.better == "tie" or "naive forecast was closer" in exact.describe()


def test_per_area_forecasts_are_each_areas_own_and_add_up_to_about_the_total() -> None:
    rng = np.random.default_rng(7)
    scales = rng.uniform(0.2, 3.0, 40)
    revenue = {f"D{i:02d}": seasonal(36, seed=i, scale=s) for i, s in enumerate(scales)}
    revenue["D99"] = np.zeros(36)
    ds = make_cube(revenue)

    per_area = forecast_by_area(ds, "revenue", level="district", horizon=12)
    total = forecast(ds, "revenue", level="district", horizon=12)

    assert per_area.name == "revenue" and len(per_area) == 41
    assert per_area["district:D99"] == 0.0
    assert per_area.sum() == pytest.approx(total.totals.loc[12, "forecast"], rel=0.05)
    # Each area keeps its own size: its forecast follows its own last year.
    last_year = select_measure(ds, "revenue", level="district", period="2023")
    ratio = (per_area / last_year).drop("district:D99")
    assert ratio.between(0.9, 1.3).all()

    active = forecast_by_area(ds, "active", level="district", horizon=6)
    np.testing.assert_allclose(active.to_numpy(), 100.0, rtol=1e-6)


def test_what_cannot_be_forecast_is_refused_with_the_fix() -> None:
    ds = make_cube({"D01": seasonal(36)})
    with pytest.raises(ValidationError, match="measure 'population' cannot be forecast"):
        forecast(ds, "population")
    with pytest.raises(ValidationError, match="horizon 0 is out of range"):
        forecast(ds, "revenue", horizon=0)
    with pytest.raises(ValidationError, match="holds 8 months.*earlier --start"):
        forecast(make_cube({"D01": seasonal(8)}), "revenue")


def test_months_without_a_rate_are_counted_and_said() -> None:
    ds = make_cube({"D01": seasonal(30)})
    # No active customers before month 6: no churn rate to take (nothing to divide by).
    for name in ("active", "new", "churned"):
        ds[name][:, :6, :] = 0.0
    result = forecast(ds, "churn_rate", area="district:D01", horizon=3)
    assert any(note.startswith("6 months without a value") for note in result.notes)
    assert (result.months["forecast"] >= 0).all()
