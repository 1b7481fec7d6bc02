from __future__ import annotations

import pytest
from sqlalchemy import Connection

from gcrm.core import ValidationError
from gcrm.scoring import backtest_json, latest_run, ranking_figures, record_run


def test_record_and_read_the_latest_run(conn: Connection) -> None:
    assert latest_run(conn, "lead") is None
    figures = ranking_figures([0, 0, 1], [0.1, 0.2, 0.9])
    backtest = backtest_json(figures, {"random": figures})
    first = record_run(
        conn, kind="lead", model="m1", features=["a", "b"], rows_scored=0, backtest=backtest
    )
    second = record_run(
        conn, kind="lead", model="m2", features=["a"], rows_scored=10, backtest=None
    )
    assert second > first
    record_run(conn, kind="churn", model="c", features=[], rows_scored=1, backtest=None)
    run = latest_run(conn, "lead")
    assert run is not None
    assert (run["id"], run["model"], run["features"], run["rows_scored"]) == (
        second,
        "m2",
        ["a"],
        10,
    )
    assert run["backtest"] is None
    assert run["created_at"] is not None and run["created_by"].startswith("cli:")
    with_bt = latest_run(conn, "lead", with_backtest=True)
    assert with_bt is not None and with_bt["id"] == first
    assert with_bt["backtest"] == backtest


def test_bad_kind(conn: Connection) -> None:
    with pytest.raises(ValidationError, match="kind='leads'"):
        record_run(conn, kind="leads", model="m", features=[], rows_scored=0, backtest=None)
    with pytest.raises(ValidationError, match="rows_scored=-1"):
        record_run(conn, kind="lead", model="m", features=[], rows_scored=-1, backtest=None)
