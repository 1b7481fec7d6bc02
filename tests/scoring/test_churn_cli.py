"""`gcrm customers churn-risk` and `gcrm customers value` as a user runs them: files out by
suffix, backtests as JSON, scores stored, the built cube refreshed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from gcrm.core import Settings
from gcrm.cube import build_region_cube, load_cube, save_cube, select_measure
from gcrm.io import read_features
from gcrm.store import create_db_engine
from tests.cli.test_cli import run_gcrm
from tests.databases import new_database
from tests.scoring.history import seed_history


@pytest.fixture(scope="module")
def history_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A committed database with the history of tests/scoring/history.py and its cube."""
    with new_database() as url:
        settings = Settings(database_url=url, data_dir=tmp_path_factory.mktemp("history"))
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                seed_history(conn)
                save_cube(build_region_cube(conn), settings.cube_path)
        finally:
            engine.dispose()
        yield settings


def test_churn_risk_backtest_json(history_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "churn_backtest.json"
    printed = run_gcrm(
        history_settings, "customers", "churn-risk", "--backtest", "-o", str(out)
    ).stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"auc", "recall_top10", "precision_top10", "baselines"} <= set(result)
    assert set(result["baselines"]) == {"recency", "random"}
    assert f"auc {result['auc']:.3f}" in printed and "recency" in printed
    engine = create_db_engine(history_settings.database_url)
    try:
        with engine.connect() as conn:
            scores = conn.execute(text("SELECT count(*) FROM gcrm.customer_scores")).scalar_one()
    finally:
        engine.dispose()
    assert scores == 0  # a backtest alone stores no score


def test_churn_risk_scores_export_and_cube(history_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "churn.gpkg"
    printed = run_gcrm(history_settings, "customers", "churn-risk", "-o", str(out)).stdout
    assert "cube refreshed: scores" in printed, printed
    table = read_features(out)
    assert {"customer_id", "churn_risk", "reasons", "area_district"} <= set(table.columns)
    assert table["churn_risk"].between(0, 1).all() and (table["reasons"].str.len() > 0).all()
    cube = load_cube(history_settings.cube_path)
    expected = select_measure(cube, "expected_churn", level="district")
    assert expected.sum() == pytest.approx(table["churn_risk"][table["area_district"] != ""].sum())


def test_value_csv_and_backtest(history_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "value.csv"
    run_gcrm(history_settings, "customers", "value", "-o", str(out))
    table = pd.read_csv(out, dtype={"customer_id": str})
    assert {"expected_value_12m", "expected_orders_12m", "reasons", "lon", "lat"} <= set(table)
    assert (table["expected_value_12m"] >= 0).all()
    backtest = tmp_path / "value_backtest.json"
    printed = run_gcrm(
        history_settings, "customers", "value", "--backtest", "-o", str(backtest)
    ).stdout
    assert "last_12_months" in printed
    assert "last_12_months" in json.loads(backtest.read_text(encoding="utf-8"))["baselines"]


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (("--backtest", "-o", "scores.csv"), "JSON"),
        (("-o", "scores.txt"), ".txt"),
        (("--as-of", "31.12.2025"), "--as-of"),
    ],
)
def test_bad_options_name_the_fix(
    history_settings: Settings, tmp_path: Path, args: tuple[str, ...], word: str
) -> None:
    proc = run_gcrm(history_settings, "customers", "churn-risk", *args, check=False)
    assert proc.returncode != 0
    assert word in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
