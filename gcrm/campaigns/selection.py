"""Making a campaign: select customers or leads, rank, cap, hold out a control group, store.

The control group is a random share of the selected members, drawn with NumPy's PCG64 from
the campaign's seed over the members in id order: the same criteria, data and seed give the
same groups. A cap keeps the best-scored members when ranking by score, otherwise a random
sample (the same draw), so that a cap never favours one end of the id range.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access import current_principal, operator
from gcrm.areas import level_names
from gcrm.core import NotFoundError, ValidationError, parse_area_id
from gcrm.store import copy_frame, load_queries

__all__ = [
    "KINDS",
    "MAX_NAME_LENGTH",
    "Campaign",
    "create_campaign",
    "list_campaigns",
    "read_campaign",
]

_SQL = load_queries(__package__, "campaigns.sql")

#: What a campaign lists.
KINDS = ("customers", "leads")
MAX_NAME_LENGTH = 100
#: The customer score a campaign ranks by, when migration 0019 made it: (table, column).
CUSTOMER_SCORE = ("customer_scores", "churn_risk")


@dataclass(frozen=True)
class Campaign:
    """A stored campaign; ``targets``, ``controls`` and ``responders`` are the members the
    caller may see (its scope)."""

    id: int
    name: str
    kind: str
    criteria: dict[str, Any]
    size_cap: int | None
    control_share: float
    seed: int
    starts_on: dt.date
    status: str
    created_by: str
    created_at: dt.datetime
    targets: int = 0
    controls: int = 0
    responders: int = 0
    notes: tuple[str, ...] = field(default=(), compare=False)


def _check_name(name: str) -> str:
    clean = str(name).strip()
    if not clean or len(clean) > MAX_NAME_LENGTH or any(ord(ch) < 32 for ch in clean):
        msg = (
            f"name={name!r} is not a campaign name; use 1 to {MAX_NAME_LENGTH} characters "
            "without control characters, e.g. 'spring-winback'"
        )
        raise ValidationError(msg)
    if clean.isdigit():
        msg = f"name={name!r} is only digits, which reads as a campaign id; add a letter"
        raise ValidationError(msg)
    return clean


def _check_options(
    *, kind: str, cap: int | None, control_share: float, seed: int, min_score: float | None
) -> None:
    if kind not in KINDS:
        msg = f"kind={kind!r} unknown; use one of {list(KINDS)}"
        raise ValidationError(msg)
    if cap is not None and cap < 1:
        msg = f"cap={cap!r} must be at least 1 (or None for no cap)"
        raise ValidationError(msg)
    if not (isinstance(control_share, (int, float)) and 0 <= control_share < 1):
        msg = f"control_share={control_share!r} must be at least 0 and below 1, e.g. 0.1"
        raise ValidationError(msg)
    if not 0 <= seed < 2**63:
        msg = f"seed={seed!r} must be a whole number from 0 to 2**63 - 1"
        raise ValidationError(msg)
    if min_score is not None and not math.isfinite(min_score):
        msg = f"min_score={min_score!r} must be a finite number, e.g. 0.5"
        raise ValidationError(msg)


def _lower(values: Sequence[str]) -> list[str] | None:
    clean = [str(v).strip().lower() for v in values if str(v).strip()]
    return clean or None


def _column_exists(conn: Connection, table: str, column: str) -> bool:
    return bool(
        conn.execute(text(_SQL["column_exists"]), {"table": table, "column": column}).scalar()
    )


def _customer_query(conn: Connection, *, wants_score: bool, categories: bool) -> str:
    """The customer selection, with the churn score and the category where they exist."""
    table, column = CUSTOMER_SCORE
    scored = _column_exists(conn, table, column)
    if wants_score and not scored:
        msg = (
            "min_score and rank_by_score need customer scores (gcrm.customer_scores), which "
            "this database does not have yet; run `gcrm customers churn-risk` first, or drop "
            "--min-score/--rank-by-score"
        )
        raise ValidationError(msg)
    if categories and not _column_exists(conn, "customers", "category"):
        msg = "category: customers have no business category in this database; drop --category"
        raise ValidationError(msg)
    return _SQL["select_customers"].format(
        score=f"s.{column}" if scored else "CAST(NULL AS float8)",
        score_join=f"LEFT JOIN gcrm.{table} s ON s.external_id = c.external_id" if scored else "",
        category=(
            "AND (CAST(:categories AS text[]) IS NULL "
            "OR lower(c.category) = ANY (CAST(:categories AS text[])))"
            if categories
            else ""
        ),
    )


def _select(
    conn: Connection,
    *,
    kind: str,
    areas: list[str],
    segments: list[str] | None,
    statuses: list[str] | None,
    categories: list[str] | None,
    min_score: float | None,
    rank_by_score: bool,
) -> pd.DataFrame:
    params: dict[str, Any] = {
        "areas": areas or None,
        "segments": segments,
        "statuses": statuses,
        "categories": categories,
        "min_score": min_score,
    }
    if kind == "leads":
        if segments or statuses:
            msg = "segment and status select customers; a leads campaign selects by area, category or score"
            raise ValidationError(msg)
        sql = _SQL["select_leads"]
    else:
        sql = _customer_query(
            conn, wants_score=min_score is not None or rank_by_score, categories=bool(categories)
        )
    result = conn.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=["external_id", "area_codes", "score"])


def _draw(
    selected: pd.DataFrame, *, cap: int | None, control_share: float, seed: int, rank_by_score: bool
) -> pd.DataFrame:
    """Cap, rank and split ``selected`` (in id order) into target and control groups."""
    rng = np.random.Generator(np.random.PCG64(seed))
    order = rng.permutation(len(selected))
    shuffled = selected.iloc[order].reset_index(drop=True)
    if rank_by_score:
        # Unscored members last; ties keep the random order (stable sort).
        score = shuffled["score"].astype(float).fillna(-np.inf)
        shuffled = shuffled.iloc[np.argsort(-score.to_numpy(), kind="stable")]
    kept = shuffled.head(cap) if cap is not None else shuffled
    kept = kept.reset_index(drop=True)
    controls = int(round(control_share * len(kept)))
    held = np.zeros(len(kept), dtype=bool)
    held[rng.permutation(len(kept))[:controls]] = True
    return kept.assign(
        member_group=np.where(held, "control", "target"),
        rank=np.arange(1, len(kept) + 1, dtype=np.int32),
        score=kept["score"].astype(float),
    )


def create_campaign(
    conn: Connection,
    *,
    name: str,
    kind: str,
    area: Sequence[str] | None = None,
    segment: Sequence[str] = (),
    status: Sequence[str] = (),
    category: Sequence[str] = (),
    min_score: float | None = None,
    rank_by_score: bool = False,
    cap: int | None = None,
    control_share: float = 0.1,
    seed: int = 0,
    starts_on: dt.date | None = None,
) -> Campaign:
    """Select customers or leads, cap them, hold out a random control group, and store it.

    Parameters
    ----------
    conn
        A connection to the gcrm database; the campaign and its members are written on its
        transaction (commit it), so a campaign is stored whole or not at all.
    name
        A name not used by another campaign (1-100 characters, not only digits).
    kind
        ``"customers"`` or ``"leads"``.
    area
        ``LEVEL:CODE`` ids: members stand in one of these areas (by their enriched area
        codes) [default: anywhere].
    segment, status
        Customers only: keep these segments, statuses (any case).
    category
        Keep these categories (leads; customers once they carry one).
    min_score
        Keep members scored at least this: the lead score (``gcrm leads score``) or a
        customer's churn risk (``gcrm customers churn-risk``); unscored ones are left out.
    rank_by_score
        With ``cap``, keep the highest scored; otherwise a random sample. Ranks follow.
    cap
        At most this many members (targets and controls together) [default: all].
    control_share
        The share of members held out as the control group, in [0, 1).
    seed
        The seed of the random draw (cap sample and control group).
    starts_on
        The day the campaign starts: orders from then count as its revenue [default: today].

    Returns
    -------
    Campaign
        The stored campaign with its group sizes.

    Raises
    ------
    ValidationError
        When an option is out of range, the name is taken, an area id is not
        ``LEVEL:CODE`` of a known level, a filter does not apply to ``kind``, a score is asked
        for that does not exist, or nothing matches.

    Examples
    --------
    >>> create_campaign(conn, name="smb-winback", kind="customers", area=["district:D03"],
    ...                 segment=["smb"], cap=500, control_share=0.2, seed=1)  # doctest: +SKIP
    """
    name = _check_name(name)
    _check_options(kind=kind, cap=cap, control_share=control_share, seed=seed, min_score=min_score)
    if conn.execute(text(_SQL["campaign"]), {"id": None, "name": name}).first() is not None:
        msg = f"name={name!r} is taken by another campaign; choose another name (see `gcrm campaigns list`)"
        raise ValidationError(msg)
    levels = level_names(conn)
    areas = [dict([parse_area_id(a, levels=levels)]) for a in area or ()]
    criteria: dict[str, Any] = {
        "area": list(area or []),
        "segment": _lower(segment),
        "status": _lower(status),
        "category": _lower(category),
        "min_score": min_score,
        "rank_by_score": rank_by_score,
    }
    selected = _select(
        conn,
        kind=kind,
        areas=[json.dumps(a) for a in areas],
        segments=criteria["segment"],
        statuses=criteria["status"],
        categories=criteria["category"],
        min_score=min_score,
        rank_by_score=rank_by_score,
    )
    if selected.empty:
        given = {k: v for k, v in criteria.items() if v}
        msg = (
            f"no {kind} match the criteria {given}; widen them (see `gcrm campaigns create --help`)"
        )
        raise ValidationError(msg)
    members = _draw(
        selected, cap=cap, control_share=control_share, seed=seed, rank_by_score=rank_by_score
    )
    campaign_id = conn.execute(
        text(_SQL["insert_campaign"]),
        {
            "name": name,
            "kind": kind,
            "criteria": json.dumps(
                {k: v for k, v in criteria.items() if v is not None and v is not False and v != []}
            ),
            "size_cap": cap,
            "control_share": float(control_share),
            "seed": int(seed),
            "starts_on": starts_on,
            "created_by": (current_principal() or operator()).name,
        },
    ).scalar_one()
    copy_frame(
        conn,
        "gcrm.campaign_members",
        members[["external_id", "member_group", "rank", "area_codes", "score"]].assign(
            campaign_id=np.int32(campaign_id)
        ),
    )
    return read_campaign(conn, campaign_id)


def read_campaign(conn: Connection, campaign: str | int) -> Campaign:
    """The campaign of id or name ``campaign``, its groups counted in the caller's scope.

    Raises
    ------
    NotFoundError
        When no campaign has that id or name.
    """
    key = str(campaign).strip()
    row = conn.execute(
        text(_SQL["campaign"]),
        {"id": int(key) if key.isdigit() and len(key) < 10 else None, "name": key},
    ).first()
    if row is None:
        names = [r[0] for r in conn.execute(text(_SQL["campaign_names"]))]
        known = f"; campaigns are {names[:20]}" if names else "; there is none yet"
        msg = f"campaign {campaign!r} not found{known} (`gcrm campaigns create` makes one)"
        raise NotFoundError(msg)
    return Campaign(**row._asdict())


def list_campaigns(conn: Connection) -> pd.DataFrame:
    """Every campaign, newest first: id, name, kind, status, starts_on, size_cap,
    control_share, seed, created_by, created_at, and its targets and controls in the
    caller's scope."""
    result = conn.execute(text(_SQL["campaigns"]))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
