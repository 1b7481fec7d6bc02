"""What the Planning page reads and writes, all through :mod:`gcrm.territories` under the
request's principal (row-level security decides which customers, orders and leads weigh
the units): the stored plans, the units of a level with their weights (kept per level and
scope, :class:`UnitsByScope`), a new design saved as a plan, an edited plan saved as its
next version, the diff of two plans; a plan published (on the owner's engine) and the
report by territory of the published plan."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from sqlalchemy import Engine

from gcrm.areas import read_area_levels
from gcrm.core import ValidationError
from gcrm.territories import (
    DESIGN_CRITERIA,
    LevelUnits,
    Plan,
    PlanDiff,
    Publication,
    build_territory_report,
    design_figures,
    design_territories,
    diff_plans,
    list_plans,
    publish_plan,
    read_design_units,
    read_plan,
    read_publications,
    rebuild_cube,
    save_plan,
)

__all__ = [
    "REPORT_FORMATS",
    "Designed",
    "Published",
    "UnitsByScope",
    "design_plan",
    "level_options",
    "plan_options",
    "publications",
    "publish",
    "read_stored_plan",
    "territory_report",
    "save_version",
    "compare_plans",
]

#: Units (and their weights) are read again after this long: new customers and orders count.
UNITS_TTL_S = 600.0


class UnitsByScope:
    """The units of each level with their adjacency (:class:`LevelUnits`), read once per
    level and scope (a scoped user's units weigh only the customers they may read) and kept
    :data:`UNITS_TTL_S` seconds."""

    def __init__(self, ttl_s: float = UNITS_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._kept: dict[tuple[str, str, str], tuple[float, LevelUnits]] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(
        self, engine: Engine, *, scope: str, level: str, adjacency: str = "queen"
    ) -> LevelUnits:
        """The units of ``level`` as ``engine``'s principal (of scope ``scope``) sees them,
        with their ``adjacency`` (queen or rook, as the plan was designed).

        Raises
        ------
        NotFoundError
            When ``level`` has no areas.
        """
        key = (scope, level, adjacency)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one read per level and scope, however many clicks wait for it
            kept = self._kept.get(key)
            if kept is not None and time.monotonic() - kept[0] < self.ttl_s:
                return kept[1]
            with engine.connect() as conn:
                units = read_design_units(conn, level=level, criteria=list(DESIGN_CRITERIA))
            found = LevelUnits(units, adjacency=adjacency)
            self._kept[key] = (time.monotonic(), found)
            return found


def plan_options(engine: Engine) -> list[dict[str, Any]]:
    """The stored plans, newest first, as dropdown options (``name@version · level, k``)."""
    with engine.connect() as conn:
        plans = list_plans(conn)
    return [
        {
            "label": f"{r.name}@{r.version} · {r.level}, {r.k} territories"
            + (" · current" if r.is_current else ""),
            "value": int(r.id),
        }
        for r in plans.itertuples()
    ]


def level_options(engine: Engine) -> list[dict[str, str]]:
    """The area levels, coarsest first, as dropdown options."""
    with engine.connect() as conn:
        levels = read_area_levels(conn)
    return [{"label": f"{lv.label} ({lv.level})", "value": lv.level} for lv in levels]


def read_stored_plan(engine: Engine, plan_id: int) -> Plan:
    """Plan ``plan_id`` with its territories and units.

    Raises
    ------
    NotFoundError
        When there is no such plan (the message lists the stored ones).
    """
    with engine.connect() as conn:
        return read_plan(conn, int(plan_id))


@dataclass(frozen=True)
class Designed:
    """A design saved as a plan: its id and how long the design took (seconds)."""

    plan_id: int
    seconds: float
    max_deviation: dict[str, float]


def design_plan(
    engine: Engine,
    units: LevelUnits,
    design: Mapping[str, Any],
    *,
    created_by: str,
) -> Designed:
    """Design ``design`` (:func:`model.design_of_controls`) on ``units`` with
    :func:`gcrm.territories.design_territories` and save it as the next version of its name.

    Raises
    ------
    ValidationError
        When k or the balance do not fit the units (the message names the fix).
    """
    started = time.perf_counter()
    result = design_territories(
        units.units, k=int(design["k"]), balance=design["balance"], seed=int(design["seed"])
    )
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        plan_id = save_plan(
            conn,
            name=str(design["name"]),
            level=str(design["level"]),
            assignment=result.assignment,
            created_by=created_by,
            balance=result.balance,
            settings={"method": "design", "seed": int(design["seed"]), "source": "dashboard"},
            figures=design_figures(result),
        )
    return Designed(plan_id=plan_id, seconds=seconds, max_deviation=result.max_deviation)


def save_version(
    engine: Engine,
    plan: Plan,
    assignment: Mapping[str, int],
    *,
    moves: Sequence[Sequence[Any]],
    name: str | None,
    created_by: str,
    figures: Mapping[str, Any] | None = None,
) -> int:
    """Save ``assignment`` (``plan`` edited by ``moves``) as the next version of ``name``
    [default: the plan's name], with ``plan`` as its parent; keep the territories' names
    and reps. Return the new plan's id.

    Raises
    ------
    ValidationError
        When there are no moves to save, or the name is too long.
    """
    if not moves:
        msg = "no moves to save: click units on the map to move them first"
        raise ValidationError(msg)
    territories = plan.territories.set_index("territory")
    with engine.begin() as conn:
        return save_plan(
            conn,
            name=(name or "").strip() or plan.name,
            level=plan.level,
            assignment=dict(assignment),
            created_by=created_by,
            balance=plan.balance,
            settings={
                **plan.settings,
                "method": "edit",
                "moves": [[str(c), int(t)] for c, t in moves],
                "source": "dashboard",
            },
            figures=dict(figures or {}),
            parent_id=plan.id,
            territory_names={int(t): str(n) for t, n in territories["name"].dropna().items()},
            reps={int(t): str(r) for t, r in territories["rep"].dropna().items()},
        )


def compare_plans(engine: Engine, a: int, b: int, units: LevelUnits) -> PlanDiff:
    """Which units move from plan ``a`` to plan ``b``, with their customers and revenue.

    Raises
    ------
    ValidationError
        When the plans divide different levels.
    """
    with engine.connect() as conn:
        first, second = read_plan(conn, int(a)), read_plan(conn, int(b))
    weights = pd.DataFrame(units.units[["code", "name", "customers", "revenue"]])
    return diff_plans(first, second, weights=weights)


#: The report files the page offers (formats of :func:`gcrm.territories.build_territory_report`).
REPORT_FORMATS = ("pdf", "xlsx")


def publications(engine: Engine) -> list[dict[str, Any]]:
    """The plans published now, one per level (:func:`gcrm.territories.read_publications`),
    as plain rows."""
    with engine.connect() as conn:
        found = read_publications(conn)
    return [dict(r) for r in found.to_dict("records")]


@dataclass(frozen=True)
class Published:
    """A plan published and the cube rebuilt: the publication, the cube's size and how long
    each took (seconds)."""

    publication: Publication
    publish_s: float
    cube_s: float
    cube_areas: int


def publish(owner: Engine, cube_path: Path, plan_id: int, *, published_by: str) -> Published:
    """Publish plan ``plan_id`` as the level ``territory`` in one transaction on ``owner``
    (the owner's engine: publishing rewrites areas and every point's area codes, which the
    application role may not), then rebuild the region's cube at ``cube_path``.

    Raises
    ------
    NotFoundError
        When there is no such plan, or none of its units is an area of its level.
    """
    started = time.perf_counter()
    with owner.begin() as conn:
        publication = publish_plan(conn, int(plan_id), published_by=published_by)
    published = time.perf_counter()
    cube = rebuild_cube(owner, cube_path)
    return Published(
        publication=publication,
        publish_s=published - started,
        cube_s=time.perf_counter() - published,
        cube_areas=int(cube.sizes["area"]),
    )


def territory_report(
    engine: Engine, cube: xr.Dataset, *, level: str, fmt: str
) -> tuple[bytes, str]:
    """The report by territory of ``level`` (a published plan's) in format ``fmt`` (a key of
    :data:`REPORT_FORMATS`), from ``cube`` (the user's scope cube) and ``engine`` (under
    the request's principal, whose top customers it lists): the file's bytes and name. The
    report is recorded in the audit log (the transaction commits).

    Raises
    ------
    ValidationError
        When ``fmt`` is not offered, or the level has too many areas for a PDF.
    NotFoundError
        When the cube has no areas of ``level`` (rebuild it: ``gcrm cube build``).
    """
    if fmt not in REPORT_FORMATS:
        msg = (
            f"fmt={fmt!r} is not a report format the page offers; use one of {list(REPORT_FORMATS)}"
        )
        raise ValidationError(msg)
    with tempfile.TemporaryDirectory(prefix="gcrm-report-") as folder:
        with engine.begin() as conn:
            report = build_territory_report(
                conn, cube=cube, level=level, out_dir=Path(folder), formats=[fmt]
            )
        path = report.paths[fmt]
        return path.read_bytes(), path.name
