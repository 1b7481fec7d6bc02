"""Stored territory plans: save a design as a new version, list, read, mark current, name
territories and their reps, and diff two plans (migration 0022).

A plan is named; saving under a name that exists adds the next version, so nothing is
overwritten. A plan is referred to by its id (``12``), its name (the latest version:
``"2026 plan"``), a name and version (``"2026 plan@2"``), or ``current``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.store import load_queries
from gcrm.territories.design import DesignResult

__all__ = [
    "Plan",
    "PlanDiff",
    "assign_reps",
    "design_figures",
    "diff_plans",
    "list_plans",
    "read_plan",
    "resolve_plan",
    "save_plan",
    "set_current_plan",
]

_SQL = load_queries(__package__, "plans.sql")


@dataclass(frozen=True)
class Plan:
    """One stored version of a territory plan."""

    id: int
    name: str
    version: int
    parent_id: int | None
    level: str
    k: int
    #: Criterion -> weight.
    balance: dict[str, float]
    #: How it was made (method, adjacency, seed, locks, ...), as given.
    settings: dict[str, Any]
    #: Its figures when saved (``max_deviation`` per criterion, ``mean_polsby_popper``, ...).
    figures: dict[str, Any]
    is_current: bool
    created_by: str
    created_at: datetime
    #: One row per territory: ``territory``, ``name``, ``rep``, ``base``, ``lon``, ``lat``.
    territories: pd.DataFrame
    #: Territory by unit code.
    assignment: pd.Series

    @property
    def label(self) -> str:
        """``name@version`` (#id)."""
        return f"{self.name}@{self.version} (#{self.id})"


@dataclass(frozen=True)
class PlanDiff:
    """What changes from plan ``a`` to plan ``b`` (same level)."""

    a: Plan
    b: Plan
    #: One row per unit whose territory differs: ``code``, ``from_territory``,
    #: ``to_territory``, and the weight columns of the units given (``customers``, ...).
    moved: pd.DataFrame
    #: One row per (from, to) pair: ``from_territory``, ``to_territory``, ``units`` and the
    #: weights' totals.
    flows: pd.DataFrame
    #: Units of the level in both plans.
    units: int

    @property
    def moved_share(self) -> float:
        """Share of the units that change territory."""
        return len(self.moved) / self.units if self.units else 0.0


def save_plan(
    conn: Connection,
    *,
    name: str,
    level: str,
    assignment: Mapping[str, int] | pd.Series,
    created_by: str,
    balance: Mapping[str, float] | None = None,
    settings: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    parent_id: int | None = None,
    territory_names: Mapping[int, str] | None = None,
    reps: Mapping[int, str] | None = None,
    bases: Mapping[int, tuple[str, float | None, float | None]] | None = None,
    make_current: bool = False,
) -> int:
    """Store ``assignment`` as the next version of plan ``name``; return its id.

    Parameters
    ----------
    conn
        A connection in a transaction (the caller commits).
    name
        The plan's name; an existing name gets its next version.
    level
        The area level whose codes ``assignment`` maps.
    assignment
        Unit code -> territory number (1..k).
    created_by
        Who saves it (a user name).
    balance, settings, figures
        Stored as JSON (see :class:`Plan`).
    parent_id
        The plan this one was edited or rebalanced from.
    territory_names, reps, bases
        Per territory number: its name [default: ``Territory N``], its rep, its base as
        (label, lon, lat).
    make_current
        Mark this plan current (and no other).

    Raises
    ------
    ValidationError
        When the name is blank or too long, or the assignment is empty or has a territory
        number below 1.
    """
    clean = name.strip()
    if not 1 <= len(clean) <= 100:
        msg = f"plan name {name!r} must have 1 to 100 characters; e.g. --name '2026 plan'"
        raise ValidationError(msg)
    units = {str(code): int(territory) for code, territory in assignment.items()}
    if not units:
        msg = "the plan has no units; design or give at least one unit's territory"
        raise ValidationError(msg)
    if min(units.values()) < 1:
        msg = f"territory {min(units.values())} is not a territory number; use 1..k"
        raise ValidationError(msg)
    k = max(units.values())
    row = conn.execute(
        text(_SQL["insert_plan"]),
        {
            "name": clean,
            "parent_id": parent_id,
            "level": level,
            "k": k,
            "balance": json.dumps(dict(balance or {})),
            "settings": json.dumps(dict(settings or {}), default=str),
            "figures": json.dumps(dict(figures or {}), default=_json_number),
            "created_by": created_by,
        },
    ).one()
    plan_id = int(row.id)
    names = territory_names or {}
    rep_of = reps or {}
    base_of = bases or {}
    conn.execute(
        text(_SQL["insert_territory"]),
        [
            {
                "plan_id": plan_id,
                "territory": t,
                "name": names.get(t) or f"Territory {t}",
                "rep": rep_of.get(t),
                "base": base_of[t][0] if t in base_of else None,
                "lon": base_of[t][1] if t in base_of else None,
                "lat": base_of[t][2] if t in base_of else None,
            }
            for t in range(1, k + 1)
        ],
    )
    conn.execute(
        text(_SQL["insert_unit"]),
        [{"plan_id": plan_id, "code": c, "territory": t} for c, t in units.items()],
    )
    if make_current:
        set_current_plan(conn, plan_id)
    return plan_id


def design_figures(result: DesignResult) -> dict[str, Any]:
    """The figures of a design or evaluation, as a plan stores them."""
    return {
        "max_deviation": result.max_deviation,
        "start_max_deviation": result.start_max_deviation,
        "mean_polsby_popper": result.mean_polsby_popper,
        "mean_moment_of_inertia": result.mean_moment_of_inertia,
        "contiguous": bool(result.territories["contiguous"].all()),
        "islands": result.islands,
        "moves": result.moves,
        "seconds": round(result.seconds, 3),
    }


def list_plans(conn: Connection) -> pd.DataFrame:
    """Every stored plan, newest first: ``id``, ``name``, ``version``, ``level``, ``k``,
    ``balance``, ``is_current``, ``parent_id``, ``created_by``, ``created_at``, ``units``,
    ``reps`` (territories with a rep), ``max_deviation``, ``mean_polsby_popper``."""
    rows = conn.execute(text(_SQL["list_plans"])).mappings().all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "name",
            "version",
            "level",
            "k",
            "balance",
            "is_current",
            "parent_id",
            "created_by",
            "created_at",
            "units",
            "reps",
            "figures",
        ],
    )
    figures = frame.pop("figures")
    frame["max_deviation"] = [f.get("max_deviation", {}) if f else {} for f in figures]
    frame["mean_polsby_popper"] = [
        f.get("mean_polsby_popper", np.nan) if f else np.nan for f in figures
    ]
    return frame


def resolve_plan(conn: Connection, ref: int | str) -> int:
    """The id of plan ``ref``: an id, ``current``, a name (latest version) or ``name@version``.

    Raises
    ------
    NotFoundError
        When no plan matches, naming the plans there are.
    """
    text_ref = str(ref).strip()
    found: Any = None
    if text_ref.isdigit():
        found = conn.execute(text(_SQL["plan_by_id"]), {"id": int(text_ref)}).scalar()
    elif text_ref.lower() == "current":
        found = conn.execute(text(_SQL["current_plan"])).scalar()
    else:
        name, _, version = text_ref.rpartition("@") if "@" in text_ref else (text_ref, "", "")
        if version and not version.isdigit():
            name, version = text_ref, ""
        found = conn.execute(
            text(_SQL["plan_by_name"]),
            {"name": name, "version": int(version) if version else None},
        ).scalar()
    if found is None:
        known = conn.execute(text(_SQL["plan_labels"])).scalars().all()
        hint = f"stored plans: {', '.join(known)}" if known else "no plan is stored yet"
        msg = (
            f"plan {str(ref)!r} not found; give an id, a name, name@version or 'current' "
            f"({hint}; `gcrm territories plans` lists them)"
        )
        raise NotFoundError(msg)
    return int(found)


def read_plan(conn: Connection, ref: int | str) -> Plan:
    """Plan ``ref`` (see :func:`resolve_plan`) with its territories and units."""
    plan_id = resolve_plan(conn, ref)
    row = conn.execute(text(_SQL["read_plan"]), {"id": plan_id}).mappings().one()
    territories = pd.DataFrame(
        conn.execute(text(_SQL["read_territories"]), {"id": plan_id}).mappings().all(),
        columns=["territory", "name", "rep", "base", "lon", "lat"],
    )
    units = conn.execute(text(_SQL["read_units"]), {"id": plan_id}).all()
    assignment = pd.Series(
        [int(u.territory) for u in units],
        index=pd.Index([str(u.code) for u in units], name="code"),
        name="territory",
        dtype=int,
    )
    return Plan(
        id=plan_id,
        name=row["name"],
        version=int(row["version"]),
        parent_id=row["parent_id"],
        level=row["level"],
        k=int(row["k"]),
        balance={str(k): float(v) for k, v in (row["balance"] or {}).items()},
        settings=dict(row["settings"] or {}),
        figures=dict(row["figures"] or {}),
        is_current=bool(row["is_current"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        territories=territories,
        assignment=assignment,
    )


def set_current_plan(conn: Connection, plan_id: int) -> None:
    """Mark plan ``plan_id`` current, and no other."""
    conn.execute(text(_SQL["clear_current"]))
    conn.execute(text(_SQL["set_current"]), {"id": plan_id})


def assign_reps(
    conn: Connection,
    plan_id: int,
    reps: Mapping[int, str | None],
    *,
    names: Mapping[int, str] | None = None,
) -> None:
    """Set the rep (and optionally the name) of territories of plan ``plan_id``.

    Raises
    ------
    ValidationError
        When a territory number is not one of the plan's.
    """
    k = conn.execute(text(_SQL["plan_k"]), {"id": plan_id}).scalar_one()
    for territory in [*reps, *(names or {})]:
        if not 1 <= int(territory) <= k:
            msg = f"territory {territory!r} is not in plan #{plan_id}; use 1..{k}"
            raise ValidationError(msg)
    for territory, rep in reps.items():
        conn.execute(
            text(_SQL["set_rep"]),
            {"id": plan_id, "territory": int(territory), "rep": (rep or "").strip() or None},
        )
    for territory, name in (names or {}).items():
        conn.execute(
            text(_SQL["set_territory_name"]),
            {"id": plan_id, "territory": int(territory), "name": name.strip()},
        )


def diff_plans(a: Plan, b: Plan, *, weights: pd.DataFrame | None = None) -> PlanDiff:
    """Which units move from plan ``a``'s territories to plan ``b``'s.

    Parameters
    ----------
    a, b
        Two plans of the same level.
    weights
        Optional ``code`` and weight columns (e.g. :func:`read_design_units`' ``customers``,
        ``revenue``): summed per move.

    Raises
    ------
    ValidationError
        When the plans are of different levels.
    """
    if a.level != b.level:
        msg = (
            f"plans {a.label} and {b.label} divide different levels ({a.level!r}, {b.level!r}); "
            "diff two plans of the same level"
        )
        raise ValidationError(msg)
    both = pd.concat(
        [a.assignment.rename("from_territory"), b.assignment.rename("to_territory")],
        axis=1,
        join="inner",
    )
    moved = both[both["from_territory"] != both["to_territory"]].rename_axis("code").reset_index()
    columns: list[str] = []
    if weights is not None:
        columns = [c for c in weights.columns if c not in ("code", "name", "geometry")]
        keep = ["code", *(["name"] if "name" in weights.columns else []), *columns]
        table = pd.DataFrame(weights[keep]).assign(code=lambda f: f["code"].astype(str))
        moved = moved.merge(table, on="code", how="left")
        moved[columns] = moved[columns].fillna(0.0)
    flows = (
        moved.groupby(["from_territory", "to_territory"], as_index=False)
        .agg(units=("code", "size"), **{c: (c, "sum") for c in columns})
        .sort_values(["from_territory", "to_territory"], ignore_index=True)
    )
    return PlanDiff(a=a, b=b, moved=moved, flows=flows, units=len(both))


def _json_number(value: object) -> object:
    """numpy numbers and other non-JSON values as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
