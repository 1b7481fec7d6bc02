"""How well a score ranks: AUC, recall and precision in the top share, and the backtest's JSON.

Every score of gcrm (lead score, churn risk, customer value) is judged the same way: rank the
rows by score, highest first, and ask where the rows that turned out positive landed. The
figures of the model and of its baselines (random order, distance, recency...) are computed
in the same run and written in one JSON shape (:func:`backtest_json`), the one that
``--backtest -o FILE`` writes and ``gcrm.score_runs.backtest`` keeps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

from gcrm.core import ValidationError

__all__ = ["FIGURES", "backtest_json", "format_backtest", "random_baseline", "ranking_figures"]

#: The figures of :func:`ranking_figures`, in the order they are printed.
FIGURES = ("auc", "recall_top10", "precision_top10", "n", "positives")

ArrayLike = Sequence[float] | npt.NDArray[Any]


def ranking_figures(y_true: ArrayLike, score: ArrayLike, *, top: float = 0.10) -> dict[str, Any]:
    """AUC, and recall and precision among the ``top`` share of rows ranked by ``score``.

    Parameters
    ----------
    y_true
        1 (or True) where a row is positive, 0 elsewhere.
    score
        Higher ranks first. Ties are fair: AUC counts a tied pair as half
        (``sklearn.metrics.roc_auc_score``), and rows tied at the cut-off of the top share
        each count for the part of the tie that falls inside it (the expected value over
        every order of the tie), so a constant score gets recall ``top``.
    top
        The share of rows in the top, in (0, 1]; the top holds ``round(top * n)`` rows, at
        least one. The keys keep the name ``*_top10`` whatever the share.

    Returns
    -------
    dict
        ``auc``, ``recall_top10`` (positives in the top / positives), ``precision_top10``
        (positives in the top / rows in the top), ``n`` (rows) and ``positives``.

    Raises
    ------
    ValidationError
        When the lengths differ, ``top`` is outside (0, 1], a score is not finite, or
        ``y_true`` holds only one class (no ranking to judge).
    """
    y = np.asarray(y_true).astype(float)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        msg = (
            f"y_true has shape {y.shape} and score {s.shape}; pass two 1-d arrays of the same "
            "length, one value per row"
        )
        raise ValidationError(msg)
    if not 0 < top <= 1:
        msg = f"top={top!r} is not a share in (0, 1]; pass e.g. 0.10 for the top 10 %"
        raise ValidationError(msg)
    if not np.isfinite(s).all():
        msg = (
            f"score has {int((~np.isfinite(s)).sum())} missing or infinite values; fill them "
            "(e.g. with the lowest score) before ranking"
        )
        raise ValidationError(msg)
    if not np.isin(y, (0.0, 1.0)).all():
        msg = f"y_true holds values other than 0 and 1 ({sorted(set(y.tolist()) - {0.0, 1.0})[:5]})"
        raise ValidationError(msg)
    positives = int(y.sum())
    if positives in (0, len(y)):
        msg = (
            f"y_true has {positives} positives among {len(y)} rows; a ranking needs both "
            "positives and negatives (is the hold-out period empty?)"
        )
        raise ValidationError(msg)
    k = max(1, round(top * len(y)))
    hits = _hits_in_top(y, s, k)
    return {
        "auc": float(roc_auc_score(y, s)),
        "recall_top10": hits / positives,
        "precision_top10": hits / k,
        "n": len(y),
        "positives": positives,
    }


def _hits_in_top(y: npt.NDArray[np.float64], s: npt.NDArray[np.float64], k: int) -> float:
    """Positives among the ``k`` highest scores, a tie at the cut-off shared pro rata."""
    threshold = np.sort(s)[::-1][k - 1]
    above = s > threshold
    tied = s == threshold
    room = k - int(above.sum())
    return float(y[above].sum() + y[tied].sum() * room / int(tied.sum()))


def random_baseline(y_true: ArrayLike, *, top: float = 0.10, seed: int = 0) -> dict[str, Any]:
    """:func:`ranking_figures` of a random order drawn with ``seed`` (AUC near 0.5, recall
    near ``top``): the baseline any score must beat, drawn in the same run."""
    y = np.asarray(y_true)
    rng = np.random.default_rng(seed)
    return ranking_figures(y, rng.random(len(y)), top=top)


def backtest_json(
    model_figures: Mapping[str, Any], baselines: Mapping[str, Mapping[str, Any]], **extra: Any
) -> dict[str, Any]:
    """The backtest as JSON: the model's figures at the top level, each baseline's under
    ``baselines``, then ``extra`` (e.g. ``cutoff``, ``train_rows``, ``model``).

    Parameters
    ----------
    model_figures
        :func:`ranking_figures` of the model.
    baselines
        Name -> :func:`ranking_figures` of that baseline (e.g. ``random``, ``distance``).
    **extra
        More keys; they may not repeat a figure's name or ``baselines``.

    Returns
    -------
    dict
        ``{"auc": .., "recall_top10": .., "precision_top10": .., "n": .., "positives": ..,
        "baselines": {"random": {..}, ...}, **extra}``; non-finite floats become None so the
        result is valid JSON.

    Raises
    ------
    ValidationError
        When a figure is missing from ``model_figures`` or a baseline, or ``extra`` repeats
        a key.
    """
    for name, figures in [("model_figures", model_figures)] + [
        (f"baselines[{b!r}]", f) for b, f in baselines.items()
    ]:
        missing = [f for f in FIGURES if f not in figures]
        if missing:
            msg = f"{name} lacks {missing}; pass the dict of gcrm.scoring.ranking_figures"
            raise ValidationError(msg)
    clash = sorted(set(extra) & {*FIGURES, "baselines"})
    if clash:
        msg = f"extra keys {clash} repeat the backtest's own keys; rename them"
        raise ValidationError(msg)
    out: dict[str, Any] = {f: _plain(model_figures[f]) for f in FIGURES}
    out["baselines"] = {
        name: {f: _plain(figures[f]) for f in FIGURES} for name, figures in baselines.items()
    }
    out.update({key: _plain(value) for key, value in extra.items()})
    return out


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python numbers, NaN and infinity as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def format_backtest(backtest: Mapping[str, Any]) -> str:
    """The figures of :func:`backtest_json` as a small table for a terminal: one row for the
    model and one per baseline (AUC, recall and precision in the top 10 %), then the
    positives among the rows ranked."""
    rows = [("model", backtest), *backtest.get("baselines", {}).items()]
    width = max(len(name) for name, _ in rows)

    def cell(value: Any) -> str:
        return "   n/a" if value is None else f"{value:6.3f}"

    lines = [f"{'':{width}}     AUC  recall@10%  precision@10%"]
    lines += [
        f"{name:{width}}  {cell(f.get('auc'))}  {cell(f.get('recall_top10')):>10}  "
        f"{cell(f.get('precision_top10')):>13}"
        for name, f in rows
    ]
    lines.append(f"({backtest.get('positives')} positives among {backtest.get('n')} rows ranked)")
    return "\n".join(lines)
