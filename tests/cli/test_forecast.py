"""``gcrm cube forecast`` on a saved cube: the forecast with its intervals, the backtest
stated whichever way it goes, the per-area table, and the written file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gcrm.cli import main
from gcrm.core import Settings
from gcrm.cube import save_cube
from tests.cube.test_forecast import make_cube, seasonal


@pytest.fixture
def saved(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GCRM_DATABASE_URL", settings.database_url)
    save_cube(
        make_cube({"D01": seasonal(36), "D02": seasonal(36, seed=1, scale=2)}), settings.cube_path
    )
    return settings


def gcrm(settings: Settings, *args: str) -> int:
    return main(["--data-dir", str(settings.data_dir), *args])


def test_forecast_prints_intervals_totals_and_the_backtest(
    saved: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "forecast.csv"
    code = gcrm(
        saved, "cube", "forecast", "--measure", "revenue", "--area", "district:D02", "-o", str(out)
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    # The tiny region has no currency (gcrm region set): revenue is a bare number.
    assert "Revenue for district:D02, segment all: ETS(A,Ad,A)" in printed
    assert "from 36 months of history" in printed
    assert "2024-01" in printed and "2024-12" in printed and "upper_95" in printed
    assert "backtest on the last 12 months: model MAE" in printed
    assert "same month last year MAE" in printed
    table = pd.read_csv(out)
    assert list(table["month"]) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert (table["lower_95"] <= table["forecast"]).all()
    assert (table["forecast"] <= table["upper_95"]).all()
    assert table["backtest_model_mae"].nunique() == 1


def test_forecast_by_area_and_the_refusals(
    saved: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "areas.csv"
    assert gcrm(saved, "cube", "forecast", "--by-area", "--level", "district", "-o", str(out)) == 0
    assert "next 12 months, each area of district" in capsys.readouterr().out
    table = pd.read_csv(out).set_index("area")
    assert list(table.index) == ["district:D01", "district:D02"]
    # D02 is twice D01's size and forecast so.
    assert table.loc["district:D02", "forecast"] / table.loc[
        "district:D01", "forecast"
    ] == pytest.approx(2, rel=0.1)

    assert gcrm(saved, "cube", "forecast", "--by-area") == 2
    assert "--by-area forecasts every area of a level" in capsys.readouterr().err
    assert gcrm(saved, "cube", "forecast", "--horizon", "99") == 2
    assert "horizon 99 is out of range; use 1 to 60" in capsys.readouterr().err


def test_a_short_cube_is_forecast_without_season_and_says_so(
    saved: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    save_cube(make_cube({"D01": np.linspace(100, 200, 15)}), saved.cube_path)
    assert gcrm(saved, "cube", "forecast", "--measure", "revenue", "--horizon", "3") == 0
    printed = capsys.readouterr().out
    assert "ETS(A,Ad,N)" in printed
    assert "note: 15 months of history, fewer than 24: no seasonal part" in printed
    assert "note: no backtest" in printed
