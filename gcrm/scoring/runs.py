"""The record of model runs (``gcrm.score_runs``): what each score's model was and how well
it ranked in its backtest, so every place that shows a score can say how far to trust it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from gcrm.access import current_principal, operator
from gcrm.core import ValidationError
from gcrm.store import load_queries

__all__ = ["RUN_KINDS", "latest_run", "record_run"]

_SQL = load_queries(__package__, "runs.sql")

#: The kinds of score a run may be (the table's check constraint).
RUN_KINDS = ("lead", "churn", "value")


def _check_kind(kind: str) -> None:
    if kind not in RUN_KINDS:
        msg = f"kind={kind!r} is not a kind of score; use one of {list(RUN_KINDS)}"
        raise ValidationError(msg)


def record_run(
    conn: Connection,
    *,
    kind: str,
    model: str,
    features: Sequence[str],
    rows_scored: int,
    backtest: Mapping[str, Any] | None,
) -> int:
    """Record a model run in ``gcrm.score_runs`` (on ``conn``'s transaction).

    Parameters
    ----------
    kind
        ``lead``, ``churn`` or ``value``.
    model
        The model in words, e.g. ``"LogisticRegression(C=0.5, balanced, seed 0)"``.
    features
        The features it read, in order.
    rows_scored
        Rows the run scored (0 for a backtest alone).
    backtest
        :func:`gcrm.scoring.backtest_json`, or None when the run had none.

    Returns
    -------
    int
        The run's id.

    Raises
    ------
    ValidationError
        When ``kind`` is not one of :data:`RUN_KINDS` or ``rows_scored`` is negative.
    """
    _check_kind(kind)
    if rows_scored < 0:
        msg = f"rows_scored={rows_scored!r} is negative; pass the number of rows scored"
        raise ValidationError(msg)
    who = current_principal() or operator()
    run_id = conn.execute(
        text(_SQL["insert_run"]),
        {
            "kind": kind,
            "created_by": who.name,
            "model": model,
            "features": json.dumps(list(features)),
            "rows_scored": int(rows_scored),
            "backtest": None if backtest is None else json.dumps(backtest),
        },
    ).scalar_one()
    return int(run_id)


def latest_run(
    conn: Connection, kind: str, *, with_backtest: bool = False
) -> dict[str, Any] | None:
    """The newest run of ``kind``: ``id``, ``kind``, ``created_at``, ``created_by``,
    ``model``, ``features``, ``rows_scored`` and ``backtest`` (a dict or None); None when
    there is none. With ``with_backtest``, the newest run that has a backtest.

    Raises
    ------
    ValidationError
        When ``kind`` is not one of :data:`RUN_KINDS`.
    """
    _check_kind(kind)
    row = (
        conn.execute(text(_SQL["latest_run"]), {"kind": kind, "with_backtest": with_backtest})
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
