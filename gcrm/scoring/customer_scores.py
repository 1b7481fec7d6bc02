"""The customers' scores as stored (``gcrm.customer_scores``): churn risk and expected value
written each in its own columns, read back as a table (exports) or a ranked list (the API).

Reads go through the views and tables under row-level security: a reader limited to some
areas sees the scores of their customers only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.scoring.reasons import reasons_text
from gcrm.store import load_queries

__all__ = [
    "ChurnList",
    "history_range",
    "read_churn_list",
    "read_customer_scores",
    "store_customer_scores",
]

_SQL = load_queries(__package__, "customer_scores.sql")
#: The columns each kind of score writes, by ``kind``.
_KINDS = ("churn", "value")


def history_range(conn: Connection) -> tuple[date, date]:
    """The last day the data speaks of (latest order or churn: the scoring date) and the
    first order's day.

    Raises
    ------
    NotFoundError
        When there are no orders (``gcrm import orders FILE`` first).
    """
    row = conn.execute(text(_SQL["history_range"])).one()
    if row.last_day is None or row.first_order is None:
        msg = "the database has no orders to score customers from; run `gcrm import orders FILE` first"
        raise NotFoundError(msg)
    return row.last_day, row.first_order


def store_customer_scores(conn: Connection, *, kind: str, run_id: int, scores: pd.DataFrame) -> int:
    """Replace every stored score of ``kind`` by ``scores`` (on ``conn``'s transaction, the
    owner's): customers not in ``scores`` lose theirs; a row left with no score goes.

    Parameters
    ----------
    kind
        ``"churn"`` (columns ``external_id``, ``churn_risk``, ``revenue_12m``, ``reasons``)
        or ``"value"`` (``external_id``, ``expected_value_12m``, ``expected_orders_12m``,
        ``reasons``); ``reasons`` a list of ``{"feature", "effect", "text"}`` per row.
    run_id
        The run that computed them (:func:`gcrm.scoring.record_run`).

    Returns
    -------
    int
        Rows written.
    """
    if kind not in _KINDS:
        msg = f"kind={kind!r} is not a kind of customer score; use one of {list(_KINDS)}"
        raise ValidationError(msg)
    score, extra = (
        ("churn_risk", "revenue_12m")
        if kind == "churn"
        else ("expected_value_12m", "expected_orders_12m")
    )
    conn.execute(text(_SQL[f"clear_{kind}"]))
    conn.execute(text(_SQL["stage"]))
    rows = [
        {"external_id": str(i), "score": float(s), "extra": float(e), "reasons": json.dumps(r)}
        for i, s, e, r in zip(
            scores["external_id"], scores[score], scores[extra], scores["reasons"], strict=True
        )
    ]
    if rows:
        conn.execute(
            text(
                "INSERT INTO customer_scores_stage (external_id, score, extra, reasons) "
                "VALUES (:external_id, :score, :extra, :reasons)"
            ),
            rows,
        )
        conn.execute(text(_SQL[f"upsert_{kind}"]), {"run_id": run_id})
    conn.execute(text(_SQL["drop_stage"]))
    conn.execute(text(_SQL["drop_empty"]))
    return len(rows)


def read_customer_scores(conn: Connection, *, kind: str) -> gpd.GeoDataFrame:
    """The stored scores of ``kind`` the reader may see, one row per customer with
    ``customer_id``, ``segment``, the score's columns, ``reasons`` (the texts joined) and
    ``area_<level>`` for each level; the customer's location as geometry (EPSG:4326; None
    where not placed).

    Raises
    ------
    NotFoundError
        When no customer has a score of ``kind`` (the message names the command).
    """
    frame = pd.read_sql_query(text(_SQL["scores_table"]), conn)
    column = "churn_risk" if kind == "churn" else "expected_value_12m"
    frame = frame[frame[column].notna()].reset_index(drop=True)
    if frame.empty:
        command = "churn-risk" if kind == "churn" else "value"
        msg = f"no customer has a {kind} score yet; run `gcrm customers {command}` first"
        raise NotFoundError(msg)
    reasons = frame["churn_reasons" if kind == "churn" else "value_reasons"]
    keep = (
        ["customer_id", "segment", "churn_risk", "revenue_12m"]
        if kind == "churn"
        else ["customer_id", "segment", "expected_value_12m", "expected_orders_12m"]
    )
    out = frame[keep].copy()
    out["reasons"] = [reasons_text(r) for r in reasons]
    codes = pd.DataFrame(list(frame["area_codes"].map(lambda c: c or {})), index=frame.index)
    for level in codes.columns:
        out[f"area_{level}"] = codes[level].fillna("")
    located = frame["lon"].notna() & frame["lat"].notna()
    points = gpd.points_from_xy(frame["lon"], frame["lat"])
    return gpd.GeoDataFrame(out, geometry=np.where(located, points, None), crs="EPSG:4326")


@dataclass(frozen=True)
class ChurnList:
    """Customers by churn risk as a JSON array text, and how many."""

    body: str
    rows: int


def read_churn_list(
    conn: Connection,
    *,
    area: tuple[str, str] | None = None,
    limit: int = 100,
    min_risk: float = 0.0,
    names: bool = False,
) -> ChurnList:
    """The scored customers the reader may see, riskiest first: ``id``, ``churn_risk``,
    ``revenue_12m``, ``segment``, ``reasons``, ``area_codes``, and ``name`` when ``names``.

    Parameters
    ----------
    area
        (level, code): only customers in that area.
    limit
        At most this many.
    min_risk
        Only customers whose risk is at least this.
    names
        Include names (the caller may read customers one by one).
    """
    level, code = area if area is not None else (None, None)
    params: Mapping[str, Any] = {
        "level": level,
        "code": code,
        "limit": limit,
        "min_risk": min_risk,
        "names": names,
    }
    row = conn.execute(text(_SQL["churn_list"]), params).one()
    return ChurnList(body=str(row.body), rows=int(row.n))
