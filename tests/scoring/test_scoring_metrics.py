from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from gcrm.core import ValidationError
from gcrm.scoring import backtest_json, random_baseline, ranking_figures


def test_perfect_ranking() -> None:
    y = [0] * 18 + [1, 1]
    score = list(range(20))
    figures = ranking_figures(y, score)
    assert figures == {
        "auc": 1.0,
        "recall_top10": 1.0,
        "precision_top10": 1.0,
        "n": 20,
        "positives": 2,
    }


def test_reversed_ranking_finds_nothing_in_the_top() -> None:
    figures = ranking_figures([1, 1] + [0] * 18, list(range(20)))
    assert figures["auc"] == 0.0
    assert figures["recall_top10"] == 0.0
    assert figures["precision_top10"] == 0.0


def test_hand_counted_top_share() -> None:
    # 10 rows, top 30 % = 3 rows: scores 9, 8, 7 -> rows 9 (pos), 8 (neg), 7 (pos).
    y = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 1])
    score = np.arange(10.0)
    figures = ranking_figures(y, score, top=0.3)
    assert figures["recall_top10"] == pytest.approx(2 / 4)
    assert figures["precision_top10"] == pytest.approx(2 / 3)
    assert figures["auc"] == pytest.approx(roc_auc_score(y, score))


def test_ties_at_the_cut_off_are_shared() -> None:
    # A constant score: every order of the tie is as likely, recall is the top share.
    y = [1] * 10 + [0] * 90
    figures = ranking_figures(y, [0.5] * 100)
    assert figures["auc"] == 0.5
    assert figures["recall_top10"] == pytest.approx(0.10)
    assert figures["precision_top10"] == pytest.approx(0.10)
    # One clear winner, then a tie of 4 for the remaining slot, one positive among the 4.
    y = [1, 1, 0, 0, 0] + [0] * 5
    score = [9, 5, 5, 5, 5] + [1] * 5
    figures = ranking_figures(y, score, top=0.2)
    assert figures["recall_top10"] == pytest.approx((1 + 1 / 4) / 2)


def test_random_baseline_is_seeded_and_near_chance() -> None:
    y = np.r_[np.ones(500), np.zeros(4500)]
    a = random_baseline(y, seed=3)
    assert a == random_baseline(y, seed=3)
    assert a != random_baseline(y, seed=4)
    assert abs(a["auc"] - 0.5) < 0.05
    assert abs(a["recall_top10"] - 0.10) < 0.05


@pytest.mark.parametrize(
    ("y", "score", "top", "match"),
    [
        ([0, 1], [0.1], 0.1, "same length"),
        ([0, 1], [0.1, 0.2], 0.0, "top=0.0"),
        ([0, 1], [0.1, np.nan], 0.1, "missing or infinite"),
        ([0, 0], [0.1, 0.2], 0.1, "0 positives"),
        ([0, 2], [0.1, 0.2], 0.1, "other than 0 and 1"),
    ],
)
def test_bad_input_names_the_fix(y: list[int], score: list[float], top: float, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        ranking_figures(y, score, top=top)


def test_backtest_json_shape() -> None:
    model = ranking_figures([0] * 18 + [1, 1], list(range(20)))
    base = {"random": random_baseline([0] * 18 + [1, 1], seed=0), "distance": model}
    out = backtest_json(model, base, cutoff="2025-01-01", train_rows=np.int64(5), note=np.nan)
    assert list(out)[:6] == [
        "auc",
        "recall_top10",
        "precision_top10",
        "n",
        "positives",
        "baselines",
    ]
    assert set(out["baselines"]) == {"random", "distance"}
    assert out["baselines"]["distance"]["auc"] == 1.0
    assert out["train_rows"] == 5 and isinstance(out["train_rows"], int)
    assert out["note"] is None
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_backtest_json_refuses_missing_figures_and_clashes() -> None:
    model = ranking_figures([0, 1], [0, 1])
    with pytest.raises(ValidationError, match=r"baselines\['random'\] lacks \['auc'\]"):
        backtest_json(model, {"random": {k: v for k, v in model.items() if k != "auc"}})
    with pytest.raises(ValidationError, match="repeat"):
        backtest_json(model, {}, auc=0.3)
