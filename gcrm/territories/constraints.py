"""What constrains a territory design, computed from the database for
:func:`gcrm.territories.design_territories`: nesting within a coarser level, the territories'
bases (branches or a file of rep homes), the units each base reaches within a drive time,
the start and move budget of a rebalancing, and the workload criterion.

- **Nesting** (``nest=``): each unit's area at a coarser level, by the ``parent_code`` chain
  where every level between them is nested, else by the coarser area holding the unit's
  point on surface.
- **Bases** (``seeds=``): one territory per base; its seed is the unit holding the base.
- **Nesting with bases**: a base fixes its territory's parent, so the nesting is given as
  ``allowed=`` (each territory only in its base's parent), one territory per base.
- **Drive time** (``allowed=``): one Dijkstra per base on the road graph as it is (the rep
  sets out from the base: one-way streets the way they run), bounded by the limit, so only
  the reached part of the network is searched; a unit is reached when its point on surface
  is, access legs at :data:`gcrm.routing.ACCESS_SPEED_KMH` included.
- **Rebalancing** (``start=``, ``max_moves=``): a stored plan's assignment and a budget of
  moves, as a count or a share of the units.
- **Workload**: hours per year of visits, active customers x visits per year x minutes per
  visit by segment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, text

from gcrm.areas import read_area_levels
from gcrm.core import STORAGE_CRS, NotFoundError, ValidationError
from gcrm.geocode import geocode_frame
from gcrm.io import read_table
from gcrm.routing import ACCESS_SPEED_KMH, RoadGraph, read_branch_points, read_road_graph
from gcrm.store import load_queries
from gcrm.territories.design import DESIGN_CRITERIA, parse_balance
from gcrm.territories.plans import Plan, read_plan

__all__ = [
    "BASE_SNAP_M",
    "Bases",
    "DesignConstraints",
    "design_constraints",
    "WORKLOAD",
    "drive_allowed",
    "nest_by",
    "parse_design_balance",
    "parse_max_moves",
    "parse_visits",
    "plan_start",
    "read_bases",
    "read_workload",
]

_SQL = load_queries(__package__, "constraints.sql")

#: A base outside every unit joins the nearest unit within this distance (m): a branch just
#: across the region's edge still anchors a territory; one farther off is a mistake.
BASE_SNAP_M = 5_000.0
#: The workload criterion's name in ``--balance`` (hours of visits per year, see
#: :func:`read_workload`).
WORKLOAD = "workload"
#: How many unit codes an error lists before "and N more".
_LISTED = 5


@dataclass(frozen=True)
class Bases:
    """The territories' bases: territory ``t`` (1..n) is anchored at row ``t - 1``."""

    #: One row per base: ``territory``, ``name``, ``rep`` (may be empty), ``lon``, ``lat``,
    #: ``code`` (the unit holding it).
    table: pd.DataFrame

    @property
    def seeds(self) -> dict[int, str]:
        """Territory -> code of the unit holding its base (``design_territories(seeds=)``)."""
        return {
            int(t): str(c) for t, c in zip(self.table["territory"], self.table["code"], strict=True)
        }

    @property
    def labels(self) -> dict[int, tuple[str, float | None, float | None]]:
        """Territory -> (base name, lon, lat), as :func:`gcrm.territories.save_plan` stores."""
        return {
            int(r.territory): (str(r.name), float(r.lon), float(r.lat))
            for r in self.table.itertuples()
        }

    @property
    def reps(self) -> dict[int, str]:
        """Territory -> rep, for the bases that name one."""
        return {int(r.territory): str(r.rep) for r in self.table.itertuples() if str(r.rep)}

    def __len__(self) -> int:
        return len(self.table)


@dataclass(frozen=True)
class DesignConstraints:
    """What :func:`design_constraints` computed for one design, and the number of territories."""

    k: int
    #: Unit code -> parent code at the ``within`` level (None with bases: then ``allowed``
    #: keeps each territory in its base's parent).
    nest: dict[str, str] | None = None
    bases: Bases | None = None
    #: Units x k booleans: which territory may hold which unit (drive time from its base,
    #: and with bases and ``within``, its base's parent only).
    allowed: np.ndarray | None = None
    #: The stored plan a rebalancing starts from, and its assignment.
    start_plan: Plan | None = None
    start: dict[str, int] | None = None
    max_moves: int | None = None

    def design_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`gcrm.territories.design_territories` they set,
        only those given (``nest``, ``allowed``, ``seeds``, ``start``, ``max_moves``)."""
        options: dict[str, Any] = {
            "nest": self.nest,
            "allowed": self.allowed,
            "seeds": None if self.bases is None else self.bases.seeds,
            "start": self.start,
            "max_moves": self.max_moves,
        }
        return {name: value for name, value in options.items() if value is not None}

    def territory_labels(
        self,
    ) -> tuple[dict[int, str], dict[int, str], dict[int, tuple[str, float | None, float | None]]]:
        """Names, reps and bases of the territories for :func:`gcrm.territories.save_plan`:
        from the bases (a territory is named after its base), else kept from the plan a
        rebalancing starts from."""
        if self.bases is not None:
            names = {
                int(t): str(n)
                for t, n in zip(
                    self.bases.table["territory"], self.bases.table["name"], strict=True
                )
            }
            return names, self.bases.reps, self.bases.labels
        if self.start_plan is None:
            return {}, {}, {}
        table = self.start_plan.territories
        names = {int(r.territory): str(r.name) for r in table.itertuples() if r.name}
        reps = {int(r.territory): str(r.rep) for r in table.itertuples() if _given(r.rep)}
        bases = {
            int(r.territory): (str(r.base), _number(r.lon), _number(r.lat))
            for r in table.itertuples()
            if _given(r.base)
        }
        return names, reps, bases


def _given(value: object) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and str(value) != ""
    )


def _number(value: object) -> float | None:
    return float(value) if _given(value) else None  # type: ignore[arg-type]


def design_constraints(
    conn: Connection,
    *,
    units: gpd.GeoDataFrame,
    level: str,
    k: int | None = None,
    within: str | None = None,
    base: str | Path | None = None,
    max_drive_min: float | None = None,
    from_plan: str | None = None,
    max_moves: str | None = None,
    store_graph: bool = False,
) -> DesignConstraints:
    """Compute every constraint a design asks for, as ``gcrm territories design`` takes them.

    Parameters
    ----------
    conn
        A connection in a transaction (bases geocoded, a road graph built and stored).
    units
        The design units of ``level`` (:func:`gcrm.territories.read_design_units`).
    level
        Their level.
    k
        The number of territories [default: the number of bases, else the plan's].
    within
        A coarser level no territory crosses (:func:`nest_by`).
    base
        ``"branches"`` or a file of bases (:func:`read_bases`).
    max_drive_min
        Most minutes from a territory's base to its units (:func:`drive_allowed`); needs
        ``base``.
    from_plan
        A stored plan to rebalance (id, name, name@version or ``current``).
    max_moves
        Most units moved from ``from_plan``: ``"5%"`` or a count (:func:`parse_max_moves`).
    store_graph
        Store a road graph built afresh (the operator's transaction; not under a scope).

    Returns
    -------
    DesignConstraints

    Raises
    ------
    ValidationError
        When ``k`` is missing and nothing gives it, an option needs another, or a
        constraint does not fit the units (see the functions named above).
    """
    if max_drive_min is not None and base is None:
        msg = (
            f"--max-drive-min {max_drive_min:g} needs --base branches or --base FILE: the drive "
            "time is counted from each territory's base"
        )
        raise ValidationError(msg)
    if max_moves is not None and from_plan is None:
        msg = (
            f"--max-moves {max_moves} needs --from-plan PLAN: it limits the units moved from "
            "that plan (e.g. --from-plan current --max-moves 5%)"
        )
        raise ValidationError(msg)
    plan = read_plan(conn, from_plan) if from_plan is not None else None
    start = plan_start(plan, units=units, level=level) if plan is not None else None
    bases = read_bases(conn, base, units=units) if base is not None else None
    k = k or (len(bases) if bases is not None else None) or (plan.k if plan is not None else None)
    if k is None:
        msg = "--k is missing; give the number of territories, e.g. --k 20 (or --base branches: one per branch)"
        raise ValidationError(msg)
    if bases is not None and k < len(bases):
        msg = f"--k {k} is below the {len(bases)} bases; use --k {len(bases)} or more (one territory per base)"
        raise ValidationError(msg)
    allowed = None
    if max_drive_min is not None and bases is not None:
        graph = read_road_graph(conn, store=store_graph)
        allowed = drive_allowed(graph, units=units, bases=bases, k=k, max_drive_min=max_drive_min)
    nest = nest_by(conn, level=level, within=within) if within is not None else None
    if nest is not None and bases is not None:
        # The design shares territories between parents by their load and numbers them
        # parent by parent; a base fixes its territory's parent instead, so the nesting is
        # given as which territory may hold which unit.
        assert within is not None
        allowed = _nest_at_bases(
            nest, units=units, bases=bases, k=k, within=within, allowed=allowed
        )
        nest = None
    return DesignConstraints(
        k=k,
        nest=nest,
        bases=bases,
        allowed=allowed,
        start_plan=plan,
        start=start,
        max_moves=parse_max_moves(max_moves, units=len(units)) if max_moves is not None else None,
    )


def _nest_at_bases(
    nest: Mapping[str, str],
    *,
    units: gpd.GeoDataFrame,
    bases: Bases,
    k: int,
    within: str,
    allowed: np.ndarray | None,
) -> np.ndarray:
    """``allowed`` narrowed so that each territory holds only units of its base's parent."""
    if k != len(bases):
        msg = (
            f"--within {within} with --base: each territory lies in its base's {within}, so "
            f"--k {k} must be the number of bases; use --k {len(bases)} or add bases"
        )
        raise ValidationError(msg)
    parents = np.array([nest.get(code, "") for code in units["code"].astype(str)], dtype=object)
    base_parents = np.array([nest.get(code, "") for code in bases.table["code"]], dtype=object)
    bare = sorted(set(parents) - set(base_parents))
    if bare:
        msg = (
            f"--within {within}: {len(bare)} {within} area(s) have no base ({', '.join(bare[:_LISTED])}"
            f"{' ...' if len(bare) > _LISTED else ''}); add a base in each or drop --within"
        )
        raise ValidationError(msg)
    mask = parents[:, None] == base_parents[None, :]
    narrowed = mask if allowed is None else allowed & mask
    unreached = np.flatnonzero(~narrowed.any(axis=1))
    if len(unreached):
        codes = units["code"].astype(str).to_numpy()
        msg = (
            f"--within {within} with --max-drive-min: {len(unreached)} unit(s) are out of reach "
            f"of every base of their {within} ({', '.join(codes[unreached[:_LISTED]])}"
            f"{' ...' if len(unreached) > _LISTED else ''}); raise --max-drive-min or add a base "
            "near them"
        )
        raise ValidationError(msg)
    return narrowed


def nest_by(conn: Connection, *, level: str, within: str) -> dict[str, str]:
    """Each unit of ``level`` -> the code of its area at the coarser level ``within``.

    Where ``within`` is an ancestor of ``level`` through ``parent_level`` and every level on
    the way is nested (each area inside its parent), the ``parent_code`` chain is followed;
    otherwise each unit goes to the area of ``within`` holding its point on surface (or the
    nearest one, for areas clipped differently at the region's edge).

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    level
        The level of the units.
    within
        A coarser level (lower rank), e.g. ``county`` for zones.

    Returns
    -------
    dict
        Unit code -> parent code, for every area of ``level``.

    Raises
    ------
    NotFoundError
        When either level is not an area level or ``within`` has no areas.
    ValidationError
        When ``within`` is not coarser than ``level``.
    """
    levels = {lv.level: lv for lv in read_area_levels(conn)}
    for name, value in (("--level", level), ("--within", within)):
        if value not in levels:
            msg = f"{name} {value!r} is not an area level; use one of {sorted(levels)}"
            raise NotFoundError(msg)
    if levels[within].rank >= levels[level].rank:
        coarser = sorted(n for n, lv in levels.items() if lv.rank < levels[level].rank)
        msg = (
            f"--within {within!r} (rank {levels[within].rank}) is not coarser than --level "
            f"{level!r} (rank {levels[level].rank}); use a coarser level: "
            f"{coarser or 'none exists, import one with `gcrm import areas`'}"
        )
        raise ValidationError(msg)
    chain = _nested_chain(conn, level=level, within=within)
    if chain is None:
        rows = conn.execute(text(_SQL["containing_codes"]), {"level": level, "within": within})
        nest = {str(code): str(parent) for code, parent in rows}
    else:
        nest = _follow_parents(conn, chain)
    if not nest:
        msg = f"--within {within!r} has no areas; import them with `gcrm import areas`"
        raise NotFoundError(msg)
    return nest


def _nested_chain(conn: Connection, *, level: str, within: str) -> list[str] | None:
    """The levels from ``level`` up to (not including) ``within`` when each is nested in the
    next by ``parent_level``; None when ``within`` is not such an ancestor."""
    rows = conn.execute(text("SELECT level, parent_level, nested FROM gcrm.area_levels")).all()
    parent = {r.level: (r.parent_level, bool(r.nested)) for r in rows}
    chain: list[str] = []
    at = level
    while at != within:
        up, nested = parent.get(at, (None, False))
        if up is None or not nested or at in chain:
            return None
        chain.append(at)
        at = up
    return chain


def _follow_parents(conn: Connection, chain: list[str]) -> dict[str, str]:
    """Unit code -> code ``len(chain)`` levels up, composing each level's parent codes."""
    nest: dict[str, str] | None = None
    for step in chain:
        rows = conn.execute(text(_SQL["parent_codes"]), {"level": step}).all()
        parents = {str(code): parent for code, parent in rows}
        if nest is None:
            nest = {code: str(parent) for code, parent in parents.items() if parent is not None}
        else:
            nest = {
                code: str(parents[up]) for code, up in nest.items() if parents.get(up) is not None
            }
    return nest or {}


def read_bases(conn: Connection, source: str | Path, *, units: gpd.GeoDataFrame) -> Bases:
    """The territories' bases: ``"branches"`` (one per branch, by code) or a CSV/XLSX file.

    A file has a ``name`` column, an optional ``rep`` column, and either ``lon`` and ``lat``
    or an ``address`` (geocoded with :func:`gcrm.geocode.geocode_frame`). Each base anchors
    one territory, in the order given; its seed is the unit holding it (or the nearest unit
    within :data:`BASE_SNAP_M`).

    Parameters
    ----------
    conn
        A connection in a transaction (geocoding uses a temporary table).
    source
        ``"branches"`` or the path of the file.
    units
        The design units (``code``, ``geometry`` EPSG:4326), as
        :func:`gcrm.territories.read_design_units` returns.

    Returns
    -------
    Bases

    Raises
    ------
    NotFoundError
        When ``"branches"`` is given and there are no branches.
    ValidationError
        When the file lacks a column, an address cannot be geocoded, a coordinate is not a
        number, two bases fall in one unit, or a base is far from every unit.
    """
    if str(source) == "branches":
        branches = read_branch_points(conn)
        table = pd.DataFrame(
            {
                "name": branches["name"].astype(str),
                "rep": "",
                "lon": branches["lon"].astype(float),
                "lat": branches["lat"].astype(float),
            }
        )
        label = "branch"
    else:
        table = _base_file(conn, Path(source))
        label = f"base file {str(source)!r}:"
    table.insert(0, "territory", np.arange(1, len(table) + 1))
    table["code"] = _holding_units(table, units, label=label)
    return Bases(table=table.reset_index(drop=True))


def _base_file(conn: Connection, path: Path) -> pd.DataFrame:
    """``name``, ``rep``, ``lon``, ``lat`` of a base file, addresses geocoded."""
    frame = read_table(path, argument="--base file")
    has_xy = {"lon", "lat"} <= set(frame.columns)
    if "name" not in frame.columns or not (has_xy or "address" in frame.columns):
        msg = (
            f"--base file {str(path)!r} has columns {list(frame.columns)}; it needs name and "
            "either lon,lat or address (rep is optional), e.g. name,rep,lon,lat"
        )
        raise ValidationError(msg)
    if frame.empty:
        msg = f"--base file {str(path)!r} has no rows; write one row per base"
        raise ValidationError(msg)
    out = pd.DataFrame({"name": frame["name"].str.strip(), "rep": ""}, index=frame.index)
    if "rep" in frame.columns:
        out["rep"] = frame["rep"].str.strip()
    lon = pd.to_numeric(frame["lon"], errors="coerce") if has_xy else pd.Series(np.nan, frame.index)
    lat = pd.to_numeric(frame["lat"], errors="coerce") if has_xy else pd.Series(np.nan, frame.index)
    if "address" in frame.columns:
        wanted = lon.isna() | lat.isna()
        wanted &= frame["address"].str.strip() != ""
        if wanted.any():
            found = geocode_frame(conn, frame.loc[wanted, ["address"]])
            lon = lon.fillna(found["lon"])
            lat = lat.fillna(found["lat"])
    bad = lon.isna() | lat.isna() | ~lon.between(-180, 180) | ~lat.between(-90, 90)
    if bad.any():
        row = int(bad.idxmax())
        what = {c: frame.at[row, c] for c in ("name", "lon", "lat", "address") if c in frame}
        msg = (
            f"--base file {str(path)!r} row {row + 2} {what} has no location: give lon and lat "
            "in degrees (EPSG:4326) or an address the geocoder finds"
        )
        raise ValidationError(msg)
    out["lon"], out["lat"] = lon.astype(float), lat.astype(float)
    return out.reset_index(drop=True)


def _holding_units(table: pd.DataFrame, units: gpd.GeoDataFrame, *, label: str) -> list[str]:
    """The code of the unit holding each base (or the nearest within BASE_SNAP_M)."""
    # Distances in metres: the units' UTM zone, not degrees.
    metric = units.to_crs(units.estimate_utm_crs())
    points = gpd.GeoSeries(
        shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy()), crs=STORAGE_CRS
    ).to_crs(metric.crs)
    tree = shapely.STRtree(np.asarray(metric.geometry))
    found = tree.query_nearest(np.asarray(points), max_distance=BASE_SNAP_M, all_matches=False)
    codes = units["code"].astype(str).to_numpy()
    by_base = dict(zip(found[0].tolist(), codes[found[1]].tolist(), strict=True))
    far = [i for i in range(len(table)) if i not in by_base]
    if far:
        row = table.iloc[far[0]]
        msg = (
            f"{label} base {row['name']!r} at ({row['lon']:.5f}, {row['lat']:.5f}) is more than "
            f"{BASE_SNAP_M / 1000:g} km from every unit; check its coordinates or leave it out"
        )
        raise ValidationError(msg)
    seeds = [by_base[i] for i in range(len(table))]
    shared = pd.Series(seeds).duplicated(keep=False)
    if shared.any():
        names = table.loc[shared.to_numpy(), "name"].tolist()
        msg = (
            f"{label} bases {names} all fall in unit {seeds[int(shared.idxmax())]!r}; a unit "
            "seeds one territory: merge those bases or design on a finer --level"
        )
        raise ValidationError(msg)
    return seeds


def drive_allowed(
    graph: RoadGraph,
    *,
    units: gpd.GeoDataFrame,
    bases: Bases,
    k: int,
    max_drive_min: float,
) -> np.ndarray:
    """Which units each territory may hold: those within ``max_drive_min`` of its base.

    One Dijkstra per base on the road graph as it is (from the base out), bounded by the
    limit; a unit's time is that of its point on surface, access legs at
    :data:`gcrm.routing.ACCESS_SPEED_KMH` included. Territories beyond the bases (``k`` more
    than the bases) have no base, so no limit. A base's own unit is always allowed to its
    territory (it seeds it), even when the unit's point is farther than the limit.

    Parameters
    ----------
    graph
        The road graph (:func:`gcrm.routing.read_road_graph`).
    units
        The design units (``code``, ``geometry`` EPSG:4326), in the order given to the design.
    bases
        As :func:`read_bases` returns; territory ``j + 1`` is column ``j``.
    k
        The number of territories, at least the number of bases.
    max_drive_min
        The limit in minutes.

    Returns
    -------
    numpy.ndarray
        Booleans, units x k (``design_territories(allowed=)``).

    Raises
    ------
    ValidationError
        When the limit is not positive, ``k`` is below the number of bases, or some unit is
        reached from no base (the message lists a few, with their quickest time).
    """
    if not (math.isfinite(max_drive_min) and max_drive_min > 0):
        msg = f"--max-drive-min {max_drive_min!r} must be a positive number of minutes, e.g. 45"
        raise ValidationError(msg)
    if k < len(bases):
        msg = f"--k {k} is below the {len(bases)} bases; use --k {len(bases)} or more"
        raise ValidationError(msg)
    seconds = _drive_seconds(graph, units=units, bases=bases, limit_s=60.0 * max_drive_min)
    allowed = np.ones((len(units), k), dtype=bool)
    allowed[:, : len(bases)] = seconds <= 60.0 * max_drive_min
    position = {str(c): i for i, c in enumerate(units["code"].astype(str))}
    for territory, code in bases.seeds.items():
        allowed[position[code], territory - 1] = True
    if k == len(bases):
        _check_reached(
            graph, units=units, bases=bases, allowed=allowed, max_drive_min=max_drive_min
        )
    return allowed


def _drive_seconds(
    graph: RoadGraph, *, units: gpd.GeoDataFrame, bases: Bases, limit_s: float
) -> np.ndarray:
    """Seconds from each base to each unit's point on surface, inf beyond ``limit_s``."""
    speed = ACCESS_SPEED_KMH / 3.6
    unit_xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(units.geometry)))
    unit_nodes, unit_m = graph.snap(unit_xy)
    base_nodes, base_m = graph.snap(bases.table[["lon", "lat"]].to_numpy(dtype=float))
    out = np.full((len(units), len(bases)), np.inf)
    # One bounded search per base (not per unit): each reaches only its part of the network.
    for j, (node, access_m) in enumerate(zip(base_nodes, base_m, strict=True)):
        remaining = limit_s - access_m / speed
        if remaining < 0:
            continue
        times = dijkstra(graph.matrix, directed=True, indices=int(node), limit=remaining)
        out[:, j] = times[unit_nodes] + access_m / speed + unit_m / speed
    return out


def _check_reached(
    graph: RoadGraph,
    *,
    units: gpd.GeoDataFrame,
    bases: Bases,
    allowed: np.ndarray,
    max_drive_min: float,
) -> None:
    unreached = np.flatnonzero(~allowed.any(axis=1))
    if not len(unreached):
        return
    # Unbounded searches, on the way to an error only: how far the unreached units are.
    seconds = _drive_seconds(graph, units=units, bases=bases, limit_s=np.inf)
    # The farthest first: those are the ones a new base or a higher limit must reach.
    quickest = seconds[unreached].min(axis=1)
    order = unreached[np.argsort(-quickest, kind="stable")]
    codes = units["code"].astype(str).to_numpy()
    listed = ", ".join(f"{codes[i]} ({_minutes(seconds[i].min())})" for i in order[:_LISTED])
    more = f" and {len(unreached) - _LISTED} more" if len(unreached) > _LISTED else ""
    msg = (
        f"--max-drive-min {max_drive_min:g}: {len(unreached)} unit(s) are farther than that "
        f"from every base ({listed}{more}); raise --max-drive-min or add a base near them"
    )
    raise ValidationError(msg)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if math.isfinite(seconds) else "no road"


def plan_start(plan: Plan, *, units: gpd.GeoDataFrame, level: str) -> dict[str, int]:
    """A stored plan's assignment as the start of a rebalancing of ``units``.

    Raises
    ------
    ValidationError
        When the plan is of another level, or the plan and the level's areas differ.
    """
    if plan.level != level:
        msg = (
            f"--from-plan {plan.label} is a plan of level {plan.level!r}, not {level!r}; "
            f"use --level {plan.level} or a plan of level {level!r}"
        )
        raise ValidationError(msg)
    codes = set(units["code"].astype(str))
    start = {str(c): int(t) for c, t in plan.assignment.items()}
    missing = sorted(codes - set(start))
    gone = sorted(set(start) - codes)
    if missing or gone:
        what = f"units {missing[:_LISTED]} have no territory" if missing else ""
        what += "; " if missing and gone else ""
        what += f"units {gone[:_LISTED]} are no longer areas" if gone else ""
        msg = (
            f"--from-plan {plan.label} does not cover the level's areas ({what}); "
            "design afresh without --from-plan, or save a plan of the current areas first"
        )
        raise ValidationError(msg)
    return start


_MOVES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_max_moves(spec: str, *, units: int) -> int:
    """``"5%"`` -> 5 % of ``units`` (rounded down); ``"70"`` -> 70 units.

    Raises
    ------
    ValidationError
        When ``spec`` is not a whole count or a percentage of 0-100.
    """
    match = _MOVES.match(spec)
    if match is None or (not match.group(2) and "." in match.group(1)):
        msg = f"--max-moves {spec!r} is neither a count nor a percentage; write e.g. 5% or 70"
        raise ValidationError(msg)
    number = float(match.group(1))
    if match.group(2):
        if number > 100:
            msg = f"--max-moves {spec!r} is more than 100 % of the units; write e.g. 5%"
            raise ValidationError(msg)
        return int(units * number / 100)
    return int(number)


def parse_design_balance(spec: str) -> dict[str, float]:
    """:func:`gcrm.territories.parse_balance`, plus ``workload`` (:data:`WORKLOAD`) as a
    criterion: ``"customers:1,workload:2"`` -> ``{"customers": 1.0, "workload": 2.0}``.

    Raises
    ------
    ValidationError
        When a criterion is unknown or a weight is not a positive number.
    """
    balance: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        name, _, weight_text = part.partition(":")
        name = name.strip()
        if name == WORKLOAD:
            try:
                weight = float(weight_text) if weight_text.strip() else 1.0
            except ValueError:
                weight = float("nan")
            if not (math.isfinite(weight) and weight > 0):
                msg = (
                    f"balance weight {weight_text!r} of {WORKLOAD!r} is not a positive number; "
                    f"write e.g. {WORKLOAD}:1"
                )
                raise ValidationError(msg)
            balance[WORKLOAD] = weight
        elif name and name not in DESIGN_CRITERIA:
            msg = (
                f"balance criterion {name!r} is unknown; use one of "
                f"{sorted([*DESIGN_CRITERIA, WORKLOAD])}, e.g. --balance customers:1,revenue:1"
            )
            raise ValidationError(msg)
        elif name:
            balance.update(parse_balance(part))
    if not balance:
        balance = parse_balance(spec)  # raises: the spec names no criterion
    return balance


_VISIT = re.compile(r"^\s*([^:]+?)\s*:\s*(\d+(?:\.\d+)?)\s*[x*]\s*(\d+(?:\.\d+)?)\s*$")


def parse_visits(spec: str) -> dict[str, tuple[float, float]]:
    """``"retail:2x30,smb:6x45"`` -> segment -> (visits per year, minutes per visit).

    Raises
    ------
    ValidationError
        When a part is not ``segment:VISITSxMINUTES`` or names a segment twice.
    """
    visits: dict[str, tuple[float, float]] = {}
    for part in filter(str.strip, spec.split(",")):
        match = _VISIT.match(part)
        if match is None:
            msg = (
                f"--visits part {part.strip()!r} is not segment:VISITSxMINUTES; write e.g. "
                "--visits retail:2x30,smb:6x45 (2 visits a year of 30 minutes)"
            )
            raise ValidationError(msg)
        segment = match.group(1)
        if segment in visits:
            msg = f"--visits names segment {segment!r} twice; give each segment once"
            raise ValidationError(msg)
        visits[segment] = (float(match.group(2)), float(match.group(3)))
    if not visits:
        msg = f"--visits {spec!r} names no segment; write e.g. --visits retail:2x30,smb:6x45"
        raise ValidationError(msg)
    return visits


def read_workload(
    conn: Connection, *, level: str, visits: Mapping[str, tuple[float, float]]
) -> pd.Series:
    """Hours of visits per year in each unit of ``level``: active customers of each segment
    x visits per year x minutes per visit / 60. Segments not in ``visits`` weigh nothing.

    Returns
    -------
    pandas.Series
        Hours by unit code (units without active customers are absent: 0).

    Raises
    ------
    ValidationError
        When a segment of ``visits`` has no active customer (a misspelt segment); the
        message lists the segments there are.
    """
    rows = pd.DataFrame(
        conn.execute(text(_SQL["segment_customers"]), {"level": level}).all(),
        columns=["code", "segment", "customers"],
    )
    present = sorted(set(rows["segment"]))
    unknown = sorted(set(visits) - set(present))
    if unknown:
        msg = (
            f"--visits segment(s) {unknown} have no active customer; use the segments "
            f"there are: {present}"
        )
        raise ValidationError(msg)
    hours = {s: v * minutes / 60.0 for s, (v, minutes) in visits.items()}
    rows["hours"] = rows["customers"] * rows["segment"].map(hours).fillna(0.0)
    return rows.groupby("code")["hours"].sum().rename("workload")
