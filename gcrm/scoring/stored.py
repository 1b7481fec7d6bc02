"""A customer score's whole run: backtest, score every active customer, store both.

What ``gcrm customers churn-risk``, ``gcrm customers value`` and the demo run do, in one
place: the backtest's figures are stored with the run that made the scores they judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from gcrm.core import ValidationError
from gcrm.scoring.churn import backtest_churn, save_churn_scores, score_churn
from gcrm.scoring.value import backtest_value, save_value_scores, score_value

__all__ = ["CUSTOMER_SCORE_STAGES", "StoredScores", "score_customers"]

#: The stages of :func:`score_customers`, in order (for a progress bar).
CUSTOMER_SCORE_STAGES = ("backtest", "score", "store")

_KINDS: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., int]]] = {
    "churn": (backtest_churn, score_churn, save_churn_scores),
    "value": (backtest_value, score_value, save_value_scores),
}


@dataclass(frozen=True)
class StoredScores:
    """What a run stored: the scores (``ChurnScores`` or ``ValueScores``), the backtest's
    figures and the run's id."""

    scored: Any
    backtest: dict[str, Any]
    run_id: int


def score_customers(
    conn: Connection,
    kind: str,
    *,
    as_of: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> StoredScores:
    """Backtest the ``kind`` score (``"churn"`` or ``"value"``), score every active customer
    as of ``as_of`` (the data's last day by default) and store scores and run with the
    backtest, on ``conn``'s transaction (the owner's).

    ``progress`` is called with each stage of :data:`CUSTOMER_SCORE_STAGES` once it is done.

    Raises
    ------
    ValidationError
        When ``kind`` is not one of the kinds, or the data cannot be scored.
    """
    if kind not in _KINDS:
        msg = f"kind={kind!r} is not a customer score; pass one of {sorted(_KINDS)}"
        raise ValidationError(msg)
    backtest, score, save = _KINDS[kind]
    done = progress or (lambda _stage: None)
    figures = backtest(conn, as_of=as_of)
    done("backtest")
    scored = score(conn, as_of=as_of)
    done("score")
    run_id = save(conn, scored, backtest=figures)
    done("store")
    return StoredScores(scored=scored, backtest=figures, run_id=run_id)
