"""The customers' scores as cube measures: expected churn, revenue at risk, value at stake."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.cube import (
    SCORE_MEASURES,
    build_region_cube,
    measure_unit,
    refresh_region_cube,
    rollup_period,
    select_measure,
    time_series,
)
from gcrm.scoring import save_churn_scores, save_value_scores, score_churn, score_value
from tests.scoring.history import seed_history


@pytest.fixture
def history(conn: Connection) -> Connection:
    seed_history(conn)
    return conn


def _expected(conn: Connection, expression: str) -> pd.Series:
    rows = conn.execute(
        text(
            f"SELECT 'district:' || (c.area_codes ->> 'district') AS area, sum({expression}) "
            "FROM gcrm.customer_scores s JOIN gcrm.customers c USING (external_id) "
            "WHERE c.area_codes ? 'district' GROUP BY 1"
        )
    ).all()
    return pd.Series({r[0]: float(r[1]) for r in rows})


def test_no_scores_no_figures(history: Connection) -> None:
    ds = build_region_cube(history)
    for name in SCORE_MEASURES:
        assert ds[name].dims == ("area", "segment")
        assert select_measure(ds, name, level="district").isna().all()


def test_measures_sum_the_scores(history: Connection) -> None:
    save_churn_scores(history, score_churn(history))
    ds = build_region_cube(history)
    churn = select_measure(ds, "expected_churn", level="district")
    pd.testing.assert_series_equal(
        churn.sort_index(), _expected(history, "s.churn_risk").sort_index(), check_names=False
    )
    at_risk = select_measure(ds, "revenue_at_risk", level="district")
    expected = _expected(history, "s.churn_risk * s.revenue_12m")
    assert np.allclose(at_risk.sort_index(), expected.sort_index())
    assert measure_unit(ds, "revenue_at_risk") == ds.attrs["currency"]
    # Value was never computed: no figure rather than zero.
    assert select_measure(ds, "value_at_stake", level="district").isna().all()
    # By segment, and the same whatever the period (as of the scoring, not by month).
    parts = sum(
        select_measure(ds, "expected_churn", level="district", segment=s)
        for s in ds["segment"].values
    )
    assert np.allclose(parts, churn)
    assert np.allclose(select_measure(ds, "expected_churn", level="district", period="2024"), churn)
    assert "expected_churn" in rollup_period(ds, "year")
    series = time_series(ds, "expected_churn", level="district")
    assert np.allclose(series, churn.sum())


def test_refresh_follows_new_scores(history: Connection) -> None:
    ds = build_region_cube(history)
    save_value_scores(history, score_value(history))
    fresh, report = refresh_region_cube(history, ds)
    assert report.scores and not report.full
    assert "scores" in report.summary()
    value = select_measure(fresh, "value_at_stake", level="district")
    assert np.allclose(value.sort_index(), _expected(history, "s.expected_value_12m").sort_index())
    _again, unchanged = refresh_region_cube(history, fresh)
    assert not unchanged.changed


def test_old_cube_says_to_rebuild(history: Connection) -> None:
    ds = build_region_cube(history).drop_vars(list(SCORE_MEASURES))
    with pytest.raises(ValidationError, match="gcrm cube build"):
        select_measure(ds, "expected_churn", level="district")


def test_a_scope_cube_sums_its_own_customers(history: Connection) -> None:
    save_churn_scores(history, score_churn(history))
    full = select_measure(build_region_cube(history), "expected_churn", level="district")
    user = history.execute(
        text("INSERT INTO gcrm.users (name, role) VALUES ('d01', 'manager') RETURNING id")
    ).scalar_one()
    history.execute(
        text("INSERT INTO gcrm.user_scopes (user_id, level, code) VALUES (:u, 'district', 'D01')"),
        {"u": user},
    )
    # Built as the application builds a user's cube: row-level security, the user's id set.
    history.execute(text("SET LOCAL ROLE gcrm_app"))
    history.execute(text("SELECT set_config('gcrm.user_id', :u, true)"), {"u": str(user)})
    mine = select_measure(build_region_cube(history), "expected_churn", level="district")
    history.execute(text("RESET ROLE"))
    assert list(mine.index) == ["district:D01"]
    assert mine["district:D01"] == pytest.approx(full["district:D01"])
    assert mine.sum() < full.sum()
