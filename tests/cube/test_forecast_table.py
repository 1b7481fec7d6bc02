"""Each area's forecast with its prediction intervals (forecast_table_by_area), for a map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gcrm.core import ValidationError
from gcrm.cube import forecast, forecast_by_area, forecast_table_by_area
from tests.cube.test_forecast import make_cube, seasonal

BOUNDS = ["lower_95", "lower_80", "forecast", "upper_80", "upper_95"]


@pytest.mark.parametrize("measure", ["revenue", "orders"])
def test_one_area_has_the_forecast_totals_of_its_own_forecast(measure: str) -> None:
    # One area: its history is the level's total, so its model is the total's fit and
    # the shared simulated departures are forecast()'s own paths (the same seeded errors):
    # the map's figures for it are forecast()'s 12-month totals.
    ds = make_cube({"D01": seasonal(36, seed=3)})
    table = forecast_table_by_area(ds, measure, level="district", horizon=12)
    totals = forecast(ds, measure, area="district:D01", horizon=12).totals.loc[12]
    assert list(table.columns) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    pd.testing.assert_series_equal(
        table.loc["district:D01"], totals[table.columns], check_names=False, rtol=1e-6
    )


def test_forecasts_are_forecast_by_areas_and_inside_their_intervals() -> None:
    ds = make_cube(
        {
            "D01": seasonal(36, seed=1),
            "D02": seasonal(36, seed=2, scale=0.2),
            "D03": np.zeros(36),
        }
    )
    table = forecast_table_by_area(ds, "revenue", level="district", horizon=12)
    pd.testing.assert_series_equal(
        table["forecast"],
        forecast_by_area(ds, "revenue", level="district", horizon=12),
        check_names=False,
    )
    # An area with no history is forecast 0 with no spread; the others in nested intervals.
    assert (table.loc["district:D03"] == 0).all()
    live = table.drop("district:D03")[BOUNDS].to_numpy()
    assert (np.diff(live, axis=1) >= 0).all()
    assert (live[:, 0] < live[:, -1]).all()
    # A smaller, as noisy area has the narrower interval in money: each area its own spread.
    width = table["upper_95"] - table["lower_95"]
    assert width["district:D02"] < width["district:D01"]


def test_a_stock_takes_its_last_month_and_a_bad_measure_is_refused() -> None:
    ds = make_cube({"D01": seasonal(30), "D02": seasonal(30, seed=5)})
    table = forecast_table_by_area(ds, "active", level="district", horizon=6)
    # A steady 100 active customers stays near 100 at the sixth month (not summed).
    assert table["forecast"].to_numpy() == pytest.approx([100.0, 100.0], rel=0.05)
    with pytest.raises(ValidationError, match="population"):
        forecast_table_by_area(ds, "population", level="district")
