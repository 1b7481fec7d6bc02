"""Territory design: divide the areas of one level into k contiguous, balanced territories.

The units are the areas of a level with their weights (customers, active customers, revenue,
orders, leads from SQL; population from the area statistics). Adjacency is queen (or rook)
contiguity of the outlines (libpysal); a unit or group of units with no contiguous neighbour
is joined to its nearest unit, so every unit can be reached. Starts: k territories grown
from spread seeds (seeds and locked units seed their territories; ``allowed`` bounds the
growth), and, where nothing ties a territory to a place, recursive bisection on random
spanning trees balancing every criterion at once (gerrychain's idea; within each parent
when nested); or an existing plan (``start``) to rebalance. Each start is searched and the
plan with the smallest weighted largest deviations is kept. The search keeps every territory
in one piece: single boundary moves; moves of a unit with weight together with the empty
units between it and another territory; exchanges of two units between neighbouring
territories (balancing two criteria needs them); then rounds of merge-split (ReCom: two
neighbouring territories merged and cut again along the best edge of a random spanning
tree), each kept when the objective improves. The objective is per criterion the largest
deviation, the squared deviations and a steep cost beyond :data:`TOLERANCE`, only beyond
the floor a unit heavier than a territory's mean sets; compactness (Polsby-Popper) and,
when rebalancing, the units and load moved weigh little. Locked units and bases never move.
The same seed gives the same plan.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree
from sqlalchemy import Connection, text

from gcrm.areas import read_area_stats, read_areas
from gcrm.core import ValidationError
from gcrm.io import write_frame
from gcrm.store import load_queries

__all__ = [
    "ADJACENCY",
    "COMPACTNESS_WEIGHT",
    "DESIGN_CRITERIA",
    "DesignResult",
    "design_territories",
    "normalised_inertia",
    "parse_balance",
    "polygon_moments",
    "read_design_units",
    "read_locks",
    "unit_adjacency",
    "write_design",
]

_SQL = load_queries(__package__, "design.sql")

#: Weights a unit can be balanced on, by the name ``--balance`` takes.
DESIGN_CRITERIA: dict[str, str] = {
    "customers": "customers placed in the unit",
    "active": "customers not churned (churn date empty or in the future)",
    "revenue": "revenue of all orders of the unit's customers",
    "orders": "number of orders of the unit's customers",
    "leads": "leads placed in the unit",
    "population": "population (area statistics, latest vintage)",
}
#: Contiguity rules: units that share an edge or a corner (queen), or an edge (rook).
ADJACENCY: tuple[str, ...] = ("queen", "rook")
#: Default weight of the compactness tie-breaker (1 - mean Polsby-Popper) in the objective.
COMPACTNESS_WEIGHT = 0.001

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DesignResult:
    """A territory plan: the assignment of units and the figures of each territory."""

    #: Territory (1..k) by unit code.
    assignment: pd.Series
    #: One row per territory: ``territory``, ``units``, each criterion's total and
    #: ``<criterion>_deviation`` (share above or below the mean), ``polsby_popper``,
    #: ``moment_of_inertia`` (normalised: 1 is a disc), ``contiguous``.
    territories: pd.DataFrame
    #: The units (``code``, ``name``, criteria, ``territory``, ``geometry`` EPSG:4326).
    units: gpd.GeoDataFrame
    #: Criterion -> weight, as balanced.
    balance: dict[str, float]
    #: Largest absolute deviation from the mean per criterion, of the start and of the plan.
    start_max_deviation: dict[str, float]
    max_deviation: dict[str, float]
    #: Units joined to their nearest unit because they touched no other unit.
    islands: list[str] = field(default_factory=list)
    moves: int = 0
    seconds: float = 0.0
    #: Units that end in another territory than the start plan's (0 without a start).
    moved_units: int = 0

    @property
    def mean_polsby_popper(self) -> float:
        """Mean Polsby-Popper compactness of the territories (1 is a disc)."""
        return float(self.territories["polsby_popper"].mean())

    @property
    def mean_moment_of_inertia(self) -> float:
        """Mean normalised moment of inertia of the territories (1 is a disc)."""
        return float(self.territories["moment_of_inertia"].mean())

    def territory_polygons(self) -> gpd.GeoDataFrame:
        """The territories dissolved into one (multi)polygon each, with their figures."""
        dissolved = self.units[["territory", "geometry"]].dissolve(by="territory")
        return gpd.GeoDataFrame(
            self.territories.merge(dissolved, left_on="territory", right_index=True),
            geometry="geometry",
            crs=self.units.crs,
        )


def parse_balance(spec: str) -> dict[str, float]:
    """``"customers:1,revenue:0.5"`` -> ``{"customers": 1.0, "revenue": 0.5}``.

    A criterion without ``:weight`` weighs 1.

    Raises
    ------
    ValidationError
        When a criterion is unknown or a weight is not a positive number.
    """
    balance: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, weight_text = part.partition(":")
        name = name.strip()
        if name not in DESIGN_CRITERIA:
            msg = (
                f"balance criterion {name!r} is unknown; use one of "
                f"{sorted(DESIGN_CRITERIA)}, e.g. --balance customers:1,revenue:1"
            )
            raise ValidationError(msg)
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            weight = float("nan")
        if not weight > 0 or not math.isfinite(weight):
            msg = (
                f"balance weight {weight_text!r} of {name!r} is not a positive number; "
                f"write e.g. {name}:1"
            )
            raise ValidationError(msg)
        balance[name] = weight
    if not balance:
        msg = f"balance {spec!r} names no criterion; write e.g. customers:1,revenue:1"
        raise ValidationError(msg)
    return balance


def read_design_units(
    conn: Connection, *, level: str, criteria: list[str] | None = None
) -> gpd.GeoDataFrame:
    """The areas of ``level`` with their design weights (see :data:`DESIGN_CRITERIA`).

    Parameters
    ----------
    conn
        A connection to the gcrm database (row-level security applies).
    level
        The area level whose areas are the units.
    criteria
        The weights to read [default: all of :data:`DESIGN_CRITERIA`].

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name``, one float column per criterion, ``geometry`` (EPSG:4326), by code.

    Raises
    ------
    NotFoundError
        When ``level`` has no areas.
    """
    wanted = list(criteria or DESIGN_CRITERIA)
    areas = read_areas(conn, level=level)[["code", "name", "geometry"]]
    weights = pd.DataFrame(conn.execute(text(_SQL["unit_weights"]), {"level": level}).mappings())
    units = areas.merge(weights, on="code", how="left")
    if "population" in wanted:
        stats = read_area_stats(conn, levels=[level], measures=["population"])
        population = stats.set_index("code")["value"]
        units["population"] = units["code"].map(population).astype(float)
    keep = ["code", "name", *wanted, "geometry"]
    out = units[keep].copy()
    out[wanted] = out[wanted].fillna(0.0).astype(float)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=areas.crs)


def read_locks(path: Path) -> dict[str, int]:
    """Locks from a table with columns ``code`` and ``territory`` (CSV or XLSX).

    Raises
    ------
    ValidationError
        When a column is missing or a territory is not a whole number.
    """
    from gcrm.io import read_table

    frame = read_table(path)
    missing = {"code", "territory"} - set(frame.columns)
    if missing:
        msg = (
            f"locks file {str(path)!r} lacks column(s) {sorted(missing)}; "
            "write one row per locked unit with columns code,territory"
        )
        raise ValidationError(msg)
    territory = pd.to_numeric(frame["territory"], errors="coerce")
    bad = frame.loc[territory.isna() | (territory % 1 != 0), "territory"]
    if not bad.empty:
        msg = (
            f"locks file {str(path)!r}: territory {bad.iloc[0]!r} is not a whole number; "
            "use territory numbers 1..k"
        )
        raise ValidationError(msg)
    return dict(zip(frame["code"].astype(str), territory.astype(int), strict=True))


def design_territories(
    units: gpd.GeoDataFrame,
    *,
    k: int,
    balance: Mapping[str, float],
    locks: Mapping[str, int] | None = None,
    adjacency: str = "queen",
    seed: int = 0,
    compactness: float = COMPACTNESS_WEIGHT,
    max_sweeps: int = 200,
    progress: Progress | None = None,
    start: Mapping[str, int] | None = None,
    max_moves: int | None = None,
    nest: Mapping[str, str] | None = None,
    allowed: np.ndarray | None = None,
    seeds: Mapping[int, str] | None = None,
    iterations: int | None = None,
) -> DesignResult:
    """Divide ``units`` into ``k`` contiguous territories balanced on ``balance``.

    Parameters
    ----------
    units
        ``code``, one float column per criterion of ``balance``, ``geometry`` (EPSG:4326),
        as :func:`read_design_units` returns.
    k
        The number of territories, 1 <= k <= number of units.
    balance
        Criterion -> weight (see :func:`parse_balance`).
    locks
        Unit code -> territory (1..k): these units stay in that territory.
    adjacency
        ``"queen"`` or ``"rook"`` contiguity.
    seed
        Seed of the spread seeds and the order of the search; the same seed, the same plan.
    compactness
        Weight of compactness (1 - mean Polsby-Popper) against balance (per criterion the
        largest deviation, not below 1 %, plus squared deviations and a steep cost beyond
        2.5 %); larger values give rounder, less balanced territories. Without ``start``,
        the search ends with a compactness phase weighing it 8,000 times more, where no
        criterion's largest deviation may grow beyond the larger of its current one and
        2 % (0 skips the phase). When, with two or more criteria, one stays beyond 2.5 %,
        a phase before it trades the criteria against each other to lower the larger of
        their largest deviations (e.g. fewer customers where revenue per customer is high).
    max_sweeps
        Bounds each descent of the local search to ``max_sweeps`` x units examined.
    progress
        Called with (stage, done, total) as the design goes; stages ``adjacency``,
        ``start``, ``search``.
    start
        Unit code -> territory (1..k) of an existing plan: rebalance it instead of designing
        afresh. The search then also counts a small cost per unit that ends outside its
        start territory and per share of the balanced load it carries (customers, when
        balancing customers), so it moves as few as balance allows.
    max_moves
        With ``start``: at most this many units may end in another territory than their
        start's.
    nest
        Unit code -> parent code (e.g. the county of each zone): no territory mixes parents.
        Units of different parents are never adjacent (islands are joined within their
        parent); the k territories are shared between the parents by the highest-averages
        (D'Hondt) rule on their load, every parent getting at least one; territories are
        numbered parent by parent, in the parents' code order.
    allowed
        Units x k booleans (units in the order of ``units``): unit i may belong to
        territory j only where ``allowed[i, j]`` (e.g. within a drive time of the base).
    seeds
        Territory (1..k) -> unit code where its base stands: the territory grows from there
        and keeps that unit.
    iterations
        Rounds of merge-split perturbation after the first search [default: 10 x k, at
        most 300].

    Returns
    -------
    DesignResult

    Raises
    ------
    ValidationError
        When ``k``, ``balance``, ``locks``, ``adjacency``, ``start``, ``max_moves``,
        ``nest``, ``allowed`` or ``seeds`` do not fit the units, or a unit is allowed in no
        territory or cannot be reached from one it is allowed in.
    """
    started = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    lock_index = _check_design(units, k=k, balance=balance, locks=locks or {}, adjacency=adjacency)
    frame = units.reset_index(drop=True)
    codes = frame["code"].astype(str)
    names = list(balance)
    values = _normalised(frame, names, k=k)
    weights = np.array([balance[n] for n in names], dtype=float)
    load = values @ weights / weights.sum()
    # Lengths and areas in metres: the UTM zone of the units, not degrees.
    metric = frame.geometry.to_crs(frame.estimate_utm_crs())
    report("adjacency", 0, 1)
    groups, home = _nesting(codes, nest, load=load, k=k)
    graph, islands = unit_adjacency(metric, rule=adjacency, groups=groups)
    shared = _shared_lengths(metric, graph)
    report("adjacency", 1, 1)
    allow = _allowed(allowed, codes, k=k, groups=groups, home=home, locks=lock_index)
    seed_index = _check_seeds(seeds, codes, k=k, allow=allow, locks=lock_index)
    start_index = _check_start(start, codes, k=k, allow=allow, max_moves=max_moves)
    rng = np.random.default_rng(seed)
    starts = _starts(
        metric,
        graph,
        values,
        weights,
        k=k,
        locks=lock_index,
        seeds=seed_index,
        allow=allow,
        groups=groups,
        home=home,
        start=start_index,
        rng=rng,
        seed=seed,
        codes=codes,
    )
    report("start", 1, 1)
    # A territory keeps the unit its base stands in, like a lock.
    fixed = np.isin(np.arange(len(frame)), [*lock_index, *seed_index.values()])
    best: _Search | None = None
    moves, chosen = 0, starts[0]
    limit = max_sweeps * len(frame)
    for assign in starts:
        search = _Search(
            graph=graph,
            shared=shared,
            values=values,
            weights=weights,
            area=np.asarray(metric.area),
            perimeter=np.asarray(metric.length),
            assign=assign,
            fixed=fixed,
            allowed=allow,
            k=k,
            compactness=compactness,
            start=start_index,
            max_moves=max_moves,
            move_load=load,
        )
        found = search.polish(rng.permutation(len(frame)).tolist(), rng=rng, limit=limit)
        # The plans are compared on what is reported: the weighted largest deviations.
        if best is None or (search.worst(), search.f) < (best.worst(), best.f):
            best, moves, chosen = search, found, assign
    assert best is not None
    rounds = min(10 * k, 300) if iterations is None else iterations
    # The compactness phase (below) takes half of the rounds.
    rounding = rounds // 2 if start_index is None and compactness > 0 else 0
    moves += best.improve(rng=rng, iterations=rounds - rounding, limit=limit, progress=report)
    if len(names) > 1 and best.largest() > TOLERANCE:
        # Some criterion is beyond tolerance: trade the criteria against each other until
        # the larger of their largest deviations is as small as the search finds (when
        # rebalancing, within ``max_moves``).
        best.lw = LARGEST_WEIGHT
        best.refresh()
        moves += best.improve(rng=rng, iterations=rounds // 4, limit=limit, progress=report)
    if start_index is None and compactness > 0:
        # Rounder territories within the balance reached (not when rebalancing: there the
        # fewest moves count more than roundness).
        best.cap = [max(best.top_raw[j][0][0], COMPACT_SLACK) + 1e-9 for j in range(len(names))]
        best.cw = compactness * COMPACT_BOOST
        best.refresh()
        moves += best.improve(rng=rng, iterations=rounding, limit=limit, progress=report)
    plan = best.assignment()
    territories = _territory_table(frame, metric, graph, plan, names, k=k)
    out = frame.copy()
    out["territory"] = plan + 1
    return DesignResult(
        assignment=pd.Series(plan + 1, index=codes, name="territory"),
        territories=territories,
        units=gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs),
        balance=dict(balance),
        start_max_deviation=_largest(names, _deviations(values, chosen, k)),
        max_deviation=_largest(names, _deviations(values, plan, k)),
        islands=[str(codes.iloc[i]) for i in islands],
        moves=moves,
        seconds=time.perf_counter() - started,
        moved_units=0 if start_index is None else int((plan != start_index).sum()),
    )


def _starts(
    metric: gpd.GeoSeries,
    graph: csr_array,
    values: np.ndarray,
    weights: np.ndarray,
    *,
    k: int,
    locks: dict[int, int],
    seeds: dict[int, int],
    allow: np.ndarray | None,
    groups: np.ndarray | None,
    home: np.ndarray | None,
    start: np.ndarray | None,
    rng: np.random.Generator,
    seed: int,
    codes: pd.Series,
) -> list[np.ndarray]:
    """The plans the search starts from: the given start; else growth from spread seeds
    (which honours locks, seeds and ``allow``) and, where nothing ties a territory to a
    place, recursive bisection on random spanning trees (within each parent when nested).
    Growth does well on even weights, bisection where a few units hold much of the weight."""
    if start is not None:
        out = start.copy()
        for unit, territory in locks.items():
            out[unit] = territory
        return [out]
    load = values @ weights / weights.sum()
    try:
        starts = [_grow(metric, graph, load, k=k, locks=locks, seeds=seeds, allow=allow, rng=rng)]
    except _Unreached as stuck:
        shown = ", ".join(repr(str(codes.iloc[u])) for u in stuck.units[:5])
        msg = (
            f"{len(stuck.units)} unit(s) ({shown}) cannot be reached through their neighbours "
            "by any territory they may join; allow them in a territory next to them (e.g. a "
            "longer --max-drive-min, or a base near them)"
        )
        raise ValidationError(msg) from None
    if not locks and not seeds and (allow is None or groups is not None):
        # Its own generator: the growth's plan stays what it is without the other starts.
        bisect_rng = np.random.default_rng([seed, 1])
        scaled = values * weights / weights.sum()
        if groups is None or home is None:
            for _ in range(BISECT_STARTS):
                try:
                    starts.append(_bisect(graph, scaled, k=k, rng=bisect_rng))
                except _NoCut:
                    continue
        else:
            assign = np.zeros(len(load), dtype=int)
            try:
                for group in range(int(groups.max()) + 1):
                    members = np.flatnonzero(groups == group)
                    mine = np.flatnonzero(home == group)
                    sub = csr_array(graph[members][:, members])
                    cut = _bisect(sub, scaled[members], k=mine.size, rng=bisect_rng)
                    assign[members] = mine[cut]
            except _NoCut:
                return starts
            if allow is None or allow[np.arange(len(load)), assign].all():
                starts.append(assign)
    return starts


def write_design(result: DesignResult, path: Path) -> Path:
    """Write a plan: GeoPackage (``territories`` dissolved with figures, ``units`` code and
    territory), or the unit table as CSV or XLSX; return ``path``.

    Raises
    ------
    ValidationError
        When the suffix is none of .gpkg, .csv, .xlsx.
    """
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".csv", ".xlsx"):
        msg = f"output {str(path)!r} has suffix {suffix!r}; use .gpkg, .csv or .xlsx"
        raise ValidationError(msg)
    if suffix != ".gpkg":
        table = pd.DataFrame(result.units.drop(columns="geometry"))
        return write_frame(table, path, layer="units", formats=(suffix,), argument="-o")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    result.territory_polygons().to_file(path, layer="territories", driver="GPKG")
    result.units[["code", "territory", "geometry"]].to_file(path, layer="units", driver="GPKG")
    return path


def _check_design(
    units: gpd.GeoDataFrame,
    *,
    k: int,
    balance: Mapping[str, float],
    locks: Mapping[str, int],
    adjacency: str,
) -> dict[int, int]:
    """Validate the call; return the locks as unit position -> territory index (0-based)."""
    n = len(units)
    if not 1 <= k <= n:
        msg = f"k {k!r} is not between 1 and the {n} units of the level; use --k 1..{n}"
        raise ValidationError(msg)
    if adjacency not in ADJACENCY:
        msg = f"adjacency {adjacency!r} is unknown; use one of {list(ADJACENCY)}"
        raise ValidationError(msg)
    for name in balance:
        if name not in units.columns:
            msg = (
                f"balance criterion {name!r} is not a column of the units; use one of "
                f"{sorted(c for c in DESIGN_CRITERIA if c in units.columns)}"
            )
            raise ValidationError(msg)
        if not float(units[name].sum()) > 0:
            msg = (
                f"balance criterion {name!r} totals {float(units[name].sum())} over the units; "
                "nothing to balance, drop it from --balance"
            )
            raise ValidationError(msg)
    position = {str(c): i for i, c in enumerate(units["code"].astype(str))}
    out: dict[int, int] = {}
    for code, territory in locks.items():
        if str(code) not in position:
            msg = f"lock on unit {code!r}: no such unit in the level; use a code of the level"
            raise ValidationError(msg)
        if not 1 <= int(territory) <= k:
            msg = f"lock of unit {code!r} to territory {territory!r}: use a territory in 1..{k}"
            raise ValidationError(msg)
        out[position[str(code)]] = int(territory) - 1
    return out


def _nesting(
    codes: pd.Series, nest: Mapping[str, str] | None, *, load: np.ndarray, k: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Each unit's parent (index in code order) and each territory's parent: the k
    territories shared by the highest-averages (D'Hondt) rule on the parents' loads, each
    parent getting one first. (None, None) without ``nest``."""
    if nest is None:
        return None, None
    given = {str(c): str(p) for c, p in nest.items()}
    missing = [c for c in codes if c not in given]
    if missing:
        msg = (
            f"nest gives unit {missing[0]!r} no parent ({len(missing)} units lack one); "
            "give every unit of the level its parent code"
        )
        raise ValidationError(msg)
    parents = sorted({given[c] for c in codes})
    if k < len(parents):
        msg = (
            f"k {k} is less than the {len(parents)} parents the territories nest in; every "
            f"parent needs a territory: use --k {len(parents)} or more, or a coarser parent level"
        )
        raise ValidationError(msg)
    index = {p: i for i, p in enumerate(parents)}
    groups = np.array([index[given[c]] for c in codes])
    loads = np.bincount(groups, weights=load, minlength=len(parents))
    counts = np.ones(len(parents), dtype=int)
    for _ in range(k - len(parents)):
        counts[int(np.argmax(loads / counts))] += 1
    return groups, np.repeat(np.arange(len(parents)), counts)


def _allowed(
    allowed: np.ndarray | None,
    codes: pd.Series,
    *,
    k: int,
    groups: np.ndarray | None,
    home: np.ndarray | None,
    locks: dict[int, int],
) -> np.ndarray | None:
    """Units x k: where each unit may go (``allowed`` and the nesting), checked."""
    n = len(codes)
    out: np.ndarray | None = None
    if allowed is not None:
        out = np.asarray(allowed, dtype=bool)
        if out.shape != (n, k):
            msg = (
                f"allowed has shape {out.shape}; it needs one row per unit and one column per "
                f"territory: shape ({n}, {k})"
            )
            raise ValidationError(msg)
    if groups is not None and home is not None:
        nested = groups[:, None] == home[None, :]
        out = nested if out is None else out & nested
    if out is None:
        return None
    nowhere = codes[~out.any(axis=1)].tolist()
    if nowhere:
        shown = ", ".join(repr(c) for c in nowhere[:5])
        msg = (
            f"{len(nowhere)} unit(s) may join no territory ({shown}); allow each unit in at "
            "least one territory (e.g. a longer --max-drive-min, or a base near them)"
        )
        raise ValidationError(msg)
    for unit, territory in locks.items():
        if not out[unit, territory]:
            msg = (
                f"lock of unit {codes.iloc[unit]!r} to territory {territory + 1}: the unit may "
                "not join that territory (nesting or allowed); lock it to a territory it may join"
            )
            raise ValidationError(msg)
    return out


def _check_seeds(
    seeds: Mapping[int, str] | None,
    codes: pd.Series,
    *,
    k: int,
    allow: np.ndarray | None,
    locks: dict[int, int],
) -> dict[int, int]:
    """Seeds as territory index -> unit position, checked."""
    position = {c: i for i, c in enumerate(codes)}
    out: dict[int, int] = {}
    for territory, code in (seeds or {}).items():
        if not 1 <= int(territory) <= k:
            msg = f"seed of territory {territory!r} at {code!r}: use a territory in 1..{k}"
            raise ValidationError(msg)
        unit = position.get(str(code))
        if unit is None:
            msg = f"seed of territory {territory} at unit {code!r}: no such unit; use a code of the level"
            raise ValidationError(msg)
        t = int(territory) - 1
        if (allow is not None and not allow[unit, t]) or locks.get(unit, t) != t:
            msg = (
                f"seed of territory {territory} at unit {code!r}: the unit may not join that "
                "territory (a lock, nesting or allowed); seed it in a unit it may hold"
            )
            raise ValidationError(msg)
        out[t] = unit
    return out


def _check_start(
    start: Mapping[str, int] | None,
    codes: pd.Series,
    *,
    k: int,
    allow: np.ndarray | None,
    max_moves: int | None,
) -> np.ndarray | None:
    """The start plan as territory index per unit, checked."""
    if max_moves is not None and (start is None or max_moves < 0):
        msg = (
            f"max_moves {max_moves!r} needs a start plan and a count of 0 or more; "
            "give start (--from-plan) and e.g. --max-moves 5%"
        )
        raise ValidationError(msg)
    if start is None:
        return None
    given = {str(c): int(t) for c, t in start.items()}
    missing = [c for c in codes if c not in given]
    if missing:
        msg = (
            f"start plan gives unit {missing[0]!r} no territory ({len(missing)} units lack one); "
            "rebalance a plan of the same level"
        )
        raise ValidationError(msg)
    out = np.array([given[c] for c in codes]) - 1
    bad = np.flatnonzero((out < 0) | (out >= k))
    if bad.size:
        msg = (
            f"start plan puts unit {codes.iloc[bad[0]]!r} in territory {out[bad[0]] + 1}; "
            f"with k {k} use territories 1..{k} (or the plan's k)"
        )
        raise ValidationError(msg)
    if allow is not None and not allow[np.arange(len(out)), out].all():
        unit = int(np.flatnonzero(~allow[np.arange(len(out)), out])[0])
        msg = (
            f"start plan puts unit {codes.iloc[unit]!r} in territory {out[unit] + 1}, which it "
            "may not join (nesting or allowed); relax the constraint or design afresh"
        )
        raise ValidationError(msg)
    return out


def _normalised(frame: pd.DataFrame, names: list[str], *, k: int) -> np.ndarray:
    """Units x criteria, each criterion divided by its mean per territory (total / k)."""
    raw = frame[names].to_numpy(dtype=float)
    return raw / (raw.sum(axis=0) / k)


def _deviations(values: np.ndarray, assign: np.ndarray, k: int) -> np.ndarray:
    """Territories x criteria: each total's deviation from the mean (0.05 = 5 % above)."""
    totals = np.zeros((k, values.shape[1]))
    np.add.at(totals, assign, values)
    return totals - 1.0


def _largest(names: list[str], deviations: np.ndarray) -> dict[str, float]:
    """Criterion -> the largest absolute deviation of any territory."""
    return {n: float(v) for n, v in zip(names, np.abs(deviations).max(axis=0), strict=True)}


def unit_adjacency(
    metric: gpd.GeoSeries, *, rule: str, groups: np.ndarray | None = None
) -> tuple[csr_array, list[int]]:
    """Symmetric unit adjacency; every group of units that touches no other is linked to the
    nearest unit outside it, so the graph is connected. With ``groups`` (each unit's
    parent), units of different parents are never adjacent and a piece is joined to the
    nearest unit of its own parent: each parent's units are connected, the whole is not.
    Returns the graph and the islands."""
    from libpysal.weights import Queen, Rook  # libpysal takes seconds to import

    cls = Queen if rule == "queen" else Rook
    frame = gpd.GeoDataFrame(geometry=metric.reset_index(drop=True))
    w = cls.from_dataframe(frame, use_index=True, silence_warnings=True)
    n = len(frame)
    rows = np.array([i for i in range(n) for _ in w.neighbors[i]], dtype=int)
    cols = np.array([int(j) for i in range(n) for j in w.neighbors[i]], dtype=int)
    islands = [i for i in range(n) if not w.neighbors[i]]
    part_of = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    keep = part_of[rows] == part_of[cols]
    graph = csr_array((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    geoms = metric.to_numpy()
    # A few pieces at most (islands, exclaves): join each but the largest of its parent
    # to the nearest unit of the parent outside it.
    while True:
        _, labels = connected_components(graph, directed=False)
        pieces = pd.DataFrame({"label": labels, "group": part_of}).drop_duplicates()
        split = pieces[pieces.duplicated("group", keep=False)]
        if split.empty:
            break
        group = int(split["group"].iloc[0])
        sizes = np.bincount(labels[part_of == group])
        options = split.loc[split["group"] == group, "label"].to_numpy()
        piece = int(options[np.argmin(sizes[options])])
        inside = np.flatnonzero(labels == piece)
        outside = np.flatnonzero((labels != piece) & (part_of == group))
        tree = shapely.STRtree(geoms[outside])
        pairs, distance = tree.query_nearest(geoms[inside], return_distance=True)
        best = int(np.argmin(distance))
        a, b = int(inside[pairs[0][best]]), int(outside[pairs[1][best]])
        extra = csr_array(([1.0, 1.0], ([a, b], [b, a])), shape=(n, n))
        graph = csr_array((graph + extra).tocsr())
    graph.data[:] = 1.0
    return csr_array(graph), islands


def _shared_lengths(metric: gpd.GeoSeries, graph: csr_array) -> csr_array:
    """Length in metres of the boundary each pair of adjacent units shares."""
    coo = graph.tocoo()
    geoms = metric.to_numpy()
    boundaries = shapely.boundary(geoms)
    length = shapely.length(shapely.intersection(boundaries[coo.row], boundaries[coo.col]))
    return csr_array((length, (coo.row, coo.col)), shape=graph.shape)


#: Starts by recursive bisection (each searched; the best plan is kept).
BISECT_STARTS = 5
#: Random spanning trees tried for each cut of the recursive bisection.
BISECT_TRIES = 40


def _bisect(graph: csr_array, load: np.ndarray, *, k: int, rng: np.random.Generator) -> np.ndarray:
    """The start without locks: recursive bisection on random spanning trees.

    The units are cut in two along the one edge of a random spanning tree that best splits
    their load in the ratio of the territories each side is to hold (``k // 2`` to the rest),
    the best of :data:`BISECT_TRIES` trees; each side is cut again until every part is one
    territory. A subtree is connected, so every territory starts in one piece (the idea of
    gerrychain's ``recursive_tree_part``, on every criterion at once: ``load`` is units x
    weighted normalised criteria, and a cut's gap the sum of its criteria's gaps).
    """
    assign = np.zeros(len(load), dtype=int)
    parts: list[tuple[np.ndarray, int, int]] = [(np.arange(len(load)), k, 0)]
    while parts:
        members, count, first = parts.pop()
        if count == 1:
            assign[members] = first
            continue
        left = count // 2
        inside = _best_cut(
            graph[members][:, members],
            load[members],
            left / count,
            sides=(left, count - left),
            rng=rng,
        )
        parts.append((members[inside], left, first))
        parts.append((members[~inside], count - left, first + left))
    return assign


def _best_cut(
    sub: csr_array,
    load: np.ndarray,
    share: float,
    *,
    sides: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """Which units fall on the ``share`` side of the best cut of a random spanning tree that
    leaves each side at least as many units as it is to hold territories (``sides``): where
    most units weigh nothing, the cut nearest the load's share may leave one unit for two."""
    n = len(load)
    target = load.sum(axis=0) * share
    best: tuple[float, np.ndarray] | None = None
    coo = sub.tocoo()
    for _ in range(BISECT_TRIES):
        weights = csr_array((rng.random(len(coo.data)) + 1e-9, (coo.row, coo.col)), shape=sub.shape)
        tree = minimum_spanning_tree(weights)
        tree = tree + tree.T
        root = int(rng.integers(n))
        order, parent = breadth_first_order(tree, root, directed=False)
        below = load.astype(float).copy()
        size = np.ones(n, dtype=int)
        for node in order[:0:-1]:  # leaves first; the root has no parent
            below[parent[node]] += below[node]
            size[parent[node]] += size[node]
        # A cut needs units on both sides, enough for the territories each is to hold.
        candidates = order[1:]
        candidates = candidates[(size[candidates] >= sides[0]) & (n - size[candidates] >= sides[1])]
        if not len(candidates):
            continue
        gaps = np.abs(below[candidates] - target).sum(axis=1)
        cut = int(candidates[np.argmin(gaps)])
        gap = float(gaps.min())
        if best is None or gap < best[0]:
            side = np.zeros(n, dtype=bool)
            side[cut] = True
            for node in order:  # parents come before their children in a BFS order
                if node != cut and parent[node] >= 0 and side[parent[node]]:
                    side[node] = True
            best = (gap, side)
    if best is None:
        raise _NoCut
    return best[1]


class _NoCut(Exception):
    """No spanning tree tried had an edge leaving each side enough units (a bisection start
    is then left out; the growth start remains)."""


def _grow(
    metric: gpd.GeoSeries,
    graph: csr_array,
    load: np.ndarray,
    *,
    k: int,
    locks: dict[int, int],
    seeds: dict[int, int],
    allow: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """The start: k territories grown from spread seeds, the lightest territory taking its
    nearest free neighbour it may hold each step. Seeds, then locked units, seed their
    territories; ``allow`` (units x k) bounds where each territory may grow."""
    n = len(metric)
    centroids = shapely.get_coordinates(metric.centroid.to_numpy())
    may = np.ones((n, k), dtype=bool) if allow is None else allow
    assign = np.full(n, -1)
    for unit, territory in locks.items():
        assign[unit] = territory
    chosen: dict[int, int] = dict(seeds)
    for unit in seeds.values():
        assign[unit] = next(t for t, u in seeds.items() if u == unit)
    for unit, territory in sorted(locks.items()):
        chosen.setdefault(territory, unit)
    # Farthest-point seeds for the territories without one: spread over the region.
    nearest = np.full(n, np.inf)
    for unit in chosen.values():
        nearest = np.minimum(nearest, np.hypot(*(centroids - centroids[unit]).T))
    for territory in range(k):
        if territory in chosen:
            continue
        candidates = np.flatnonzero((assign < 0) & may[:, territory])
        if candidates.size == 0:
            msg = (
                f"territory {territory + 1} may hold no unit left free; allow it more units "
                "or design fewer territories"
            )
            raise ValidationError(msg)
        if not np.isfinite(nearest[candidates]).any():
            unit = int(rng.choice(candidates))
        else:
            unit = int(candidates[np.argmax(nearest[candidates])])
        chosen[territory] = unit
        assign[unit] = territory
        nearest = np.minimum(nearest, np.hypot(*(centroids - centroids[unit]).T))
    _grow_from(assign, graph, load, centroids, chosen, may, k=k)
    return assign


class _Unreached(Exception):
    """Units the growth could not reach (the caller names them)."""

    def __init__(self, units: list[int]) -> None:
        super().__init__(units)
        self.units = units


def _grow_from(
    assign: np.ndarray,
    graph: csr_array,
    load: np.ndarray,
    centroids: np.ndarray,
    chosen: dict[int, int],
    may: np.ndarray,
    *,
    k: int,
) -> None:
    """Fill ``assign`` in place: the lightest territory with a free neighbour it may hold
    takes the one nearest its seed, until every unit has a territory."""
    totals = np.zeros(k)
    np.add.at(totals, assign[assign >= 0], load[assign >= 0])
    indptr, indices = graph.indptr, graph.indices
    centre = np.array([centroids[chosen[t]] for t in range(k)])
    frontier: list[set[int]] = [set() for _ in range(k)]

    def reach(unit: int, territory: int) -> None:
        frontier[territory].update(
            int(o)
            for o in indices[indptr[unit] : indptr[unit + 1]]
            if assign[o] < 0 and may[o, territory]
        )

    for placed in np.flatnonzero(assign >= 0):
        reach(int(placed), int(assign[placed]))
    # A Python loop over units: each step depends on the loads the last one left.
    while (assign < 0).any():
        open_ = [t for t in range(k) if frontier[t]]
        if not open_:
            raise _Unreached(np.flatnonzero(assign < 0).tolist())
        territory = min(open_, key=lambda t: (totals[t], t))
        options = np.array(sorted(frontier[territory]))
        pick = int(options[np.argmin(np.hypot(*(centroids[options] - centre[territory]).T))])
        assign[pick] = territory
        totals[territory] += load[pick]
        for other in frontier:
            other.discard(pick)
        reach(pick, territory)


#: Rebalancing: cost of each unit that ends in another territory than its start's, and of
#: each moved unit's share of a territory's mean load (small: balance comes first, then
#: the fewest units and customers moved).
MOVE_COST_UNIT = 2e-4
MOVE_COST_LOAD = 2e-3
#: Random spanning trees drawn for each merge-split (ReCom) perturbation.
RECOM_TREES = 3
#: Deviations within this share of the mean count only through the largest and squared
#: deviations; beyond it, each territory's excess weighs :data:`EXCESS_WEIGHT` times
#: more, so the search brings every territory within it where the units allow.
TOLERANCE = 0.025
EXCESS_WEIGHT = 10.0
#: A largest deviation below this counts as this: balance finer than 1 % is not worth
#: rounder territories given up for it, so compactness decides there.
BALANCE_SLACK = 0.01
#: With two or more criteria: weight of the largest raw deviation over all criteria
#: (weighted; not below :data:`TOLERANCE`). Where the units do not allow every criterion
#: within tolerance (a territory whose revenue per customer is far above the region's), it
#: makes the search trade one criterion for the other until the larger of the two is as
#: small as it can be, rather than keep one near the mean and leave the other far off.
LARGEST_WEIGHT = 40.0
#: The compactness phase: once balance is as good as the search finds, ``compactness`` x
#: this weighs roundness, while no criterion's largest deviation may exceed the larger of
#: its current one and :data:`COMPACT_SLACK` (each bit beyond costs :data:`CAP_PENALTY`).
COMPACT_BOOST = 8000.0
#: In the compactness phase a criterion's largest deviation may grow up to this (when it
#: is below): rounder territories for balance still well within :data:`TOLERANCE`.
COMPACT_SLACK = 0.02
CAP_PENALTY = 1e3


class _Search:
    """Local search over single-unit boundary moves that keep every territory in one piece,
    and merge-split perturbations (ReCom: two neighbouring territories merged and cut again
    along the best edge of a random spanning tree), kept when the objective improves.

    The objective, lower is better: per criterion (weighted) the largest absolute deviation
    from the mean, plus per territory the squared deviation / k and :data:`EXCESS_WEIGHT`
    x the deviation beyond :data:`TOLERANCE`; plus ``compactness`` x (1 - mean
    Polsby-Popper); plus the moving costs against ``start``. A territory holding a unit
    heavier than the mean cannot come closer than that unit's excess (its floor): only the
    deviation beyond the floor counts, and the largest deviation is taken per criterion, so
    a criterion stuck at its floor does not stall the others. Two later phases add to it:
    ``lw`` x the largest raw deviation over the criteria (trading one criterion for another),
    and ``cap``: per criterion the largest deviation allowed, each bit beyond costing
    :data:`CAP_PENALTY` (with a larger ``cw``, for roundness). The state is kept in Python
    lists: the hot loop touches single units, where list indexing is far cheaper than numpy's.
    """

    def __init__(
        self,
        *,
        graph: csr_array,
        shared: csr_array,
        values: np.ndarray,
        weights: np.ndarray,
        area: np.ndarray,
        perimeter: np.ndarray,
        assign: np.ndarray,
        fixed: np.ndarray,
        allowed: np.ndarray | None,
        k: int,
        compactness: float,
        start: np.ndarray | None,
        max_moves: int | None,
        move_load: np.ndarray,
    ) -> None:
        n = len(assign)
        self.graph, self.values, self.k, self.n = graph, values, k, n
        self.c = values.shape[1]
        self.nbrs = [
            graph.indices[graph.indptr[u] : graph.indptr[u + 1]].tolist() for u in range(n)
        ]
        links = graph.tocoo()
        self.edge_rows, self.edge_cols = links.row, links.col
        coo = shared.tocoo()
        self.edge: list[dict[int, float]] = [{} for _ in range(n)]
        for r, col, length in zip(
            coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True
        ):
            self.edge[r][col] = length
        self.val = values.tolist()
        self.w = [float(x) for x in weights]
        self.area, self.perim = area.tolist(), perimeter.tolist()
        self.fixed = fixed.tolist()
        self.allowed = allowed
        self.allowed_rows = allowed.tolist() if allowed is not None else None
        self.cw = compactness
        # The weight of the largest deviation over the criteria: off until a second phase.
        self.lw = 0.0
        # Per criterion the largest deviation allowed (the compactness phase), or None.
        self.cap: list[float] | None = None
        self.start = start
        self.start_list = start.tolist() if start is not None else None
        self.max_moves = max_moves
        self.mload = move_load.tolist()
        self.empty = (values.sum(axis=1) == 0).tolist()
        # Units heavier than a territory's mean on some criterion: few, so kept in a dict.
        excess = np.maximum(values - 1.0, 0.0)
        self.heavy = {int(u): excess[u].tolist() for u in np.flatnonzero(excess.sum(axis=1) > 0)}
        self._rebuild(assign.tolist())

    # -- state -------------------------------------------------------------------------
    def _rebuild(self, assign: list[int]) -> None:
        """Every total from the assignment (after a merge-split, or to restore a plan)."""
        k, c = self.k, self.c
        self.a = list(assign)
        self.tot = [[0.0] * c for _ in range(k)]
        self.size = [0] * k
        self.t_area = [0.0] * k
        self.t_per = [0.0] * k
        for u, t in enumerate(self.a):
            row, v = self.tot[t], self.val[u]
            for j in range(c):
                row[j] += v[j]
            self.size[t] += 1
            self.t_area[t] += self.area[u]
            self.t_per[t] += self.perim[u] - sum(
                length for o, length in self.edge[u].items() if self.a[o] == t
            )
        self.pp = [self._polsby(self.t_area[t], self.t_per[t]) for t in range(k)]
        self.floor = [self._floor_of(t) for t in range(k)]
        self._sums()
        self.p_sum = sum(self.pp)
        self.moved, self.moved_load = 0, 0.0
        if self.start_list is not None:
            for u, t in enumerate(self.a):
                if t != self.start_list[u]:
                    self.moved += 1
                    self.moved_load += self.mload[u]
        self._top()
        self.f = self._objective()

    @staticmethod
    def _polsby(area: float, perimeter: float) -> float:
        return 4 * math.pi * area / perimeter**2 if perimeter > 0 else 0.0

    def _floor_of(self, t: int, *, without: int = -1, plus: int = -1) -> list[float]:
        """Per criterion the largest excess of a heavy unit of ``t`` (minus or plus one)."""
        out = [0.0] * self.c
        for u, excess in self.heavy.items():
            if (self.a[u] == t and u != without) or u == plus:
                out = [max(x, y) for x, y in zip(out, excess, strict=True)]
        return out

    @staticmethod
    def _beyond(deviation: float, floor: float) -> float:
        """The deviation that counts: above the mean, only what exceeds the floor."""
        if deviation > floor:
            return deviation - floor
        return deviation if deviation < 0 else 0.0

    def _term(self, e: float) -> float:
        over = abs(e) - TOLERANCE
        return e * e / self.k + (EXCESS_WEIGHT * over if over > 0 else 0.0)

    def _terms(self, e: np.ndarray) -> np.ndarray:
        return e * e / self.k + EXCESS_WEIGHT * np.maximum(np.abs(e) - TOLERANCE, 0.0)

    def _sums(self) -> None:
        """The counted deviations, their per-criterion sums of terms and the top three."""
        self.e = [
            [self._beyond(self.tot[t][j] - 1.0, self.floor[t][j]) for j in range(self.c)]
            for t in range(self.k)
        ]
        self.q = [sum(self._term(self.e[t][j]) for t in range(self.k)) for j in range(self.c)]
        self._top()

    def _top(self) -> None:
        """Per criterion the three largest counted deviations with their territories."""
        self.top = [
            sorted(((abs(self.e[t][j]), t) for t in range(self.k)), reverse=True)[:3]
            for j in range(self.c)
        ]
        self.top_raw = [
            sorted(((abs(self.tot[t][j] - 1.0), t) for t in range(self.k)), reverse=True)[:3]
            for j in range(self.c)
        ]

    def _raw_without(self, j: int, s: int, t: int) -> float:
        """The largest raw deviation on criterion j of a territory other than s and t."""
        for value, territory in self.top_raw[j]:
            if territory != s and territory != t:
                return value
        return 0.0

    def _largest(self, raw: list[float]) -> float:
        """The objective's term of the largest (weighted) raw deviation over the criteria
        (``raw``: per criterion its largest); nothing with one criterion."""
        out = 0.0
        if self.lw:
            out = self.lw * max(TOLERANCE, *(w * x for w, x in zip(self.w, raw, strict=True)))
        if self.cap is not None:
            out += CAP_PENALTY * sum(
                max(x - cap, 0.0) for x, cap in zip(raw, self.cap, strict=True)
            )
        return out

    def _largest_all(self, raw: list[np.ndarray]) -> np.ndarray | float:
        out: np.ndarray | float = 0.0
        if self.lw:
            top = np.maximum.reduce([w * x for w, x in zip(self.w, raw, strict=True)])
            out = self.lw * np.maximum(top, TOLERANCE)
        if self.cap is not None:
            for x, cap in zip(raw, self.cap, strict=True):
                out = out + CAP_PENALTY * np.maximum(x - cap, 0.0)
        return out

    def _max_without(self, j: int, s: int, t: int) -> float:
        """The largest counted deviation of a territory other than s and t (at least
        :data:`BALANCE_SLACK`)."""
        for value, territory in self.top[j]:
            if territory != s and territory != t:
                return max(value, BALANCE_SLACK)
        return BALANCE_SLACK

    def _objective(self) -> float:
        return (
            self._balance()
            + self.cw * (1 - self.p_sum / self.k)
            + self._move_cost(self.moved, self.moved_load)
        )

    def _balance(self) -> float:
        return sum(
            self.w[j] * (max(self.top[j][0][0], BALANCE_SLACK) + self.q[j]) for j in range(self.c)
        ) + self._largest([self.top_raw[j][0][0] for j in range(self.c)])

    @staticmethod
    def _move_cost(moved: int, load: float) -> float:
        return MOVE_COST_UNIT * moved + MOVE_COST_LOAD * load

    def largest(self) -> float:
        """The largest (weighted) absolute deviation from the mean over the criteria."""
        return max(self.w[j] * self.top_raw[j][0][0] for j in range(self.c))

    def refresh(self) -> None:
        """The objective again, after a change of its weights."""
        self._rebuild(list(self.a))

    def worst(self) -> float:
        """The weighted sum over criteria of the largest absolute deviation from the mean."""
        return sum(self.w[j] * max(abs(row[j] - 1.0) for row in self.tot) for j in range(self.c))

    def assignment(self) -> np.ndarray:
        return np.array(self.a)

    # -- single-unit moves ---------------------------------------------------------------
    def _evaluate(
        self, u: int, s: int, t: int, by: dict[int, float]
    ) -> tuple[float, float, float, int, float]:
        """The objective after moving ``u`` from ``s`` to ``t`` (``by``: shared boundary of
        ``u`` per territory); with the two perimeters and the moving figures after it."""
        v, ts, tt, k = self.val[u], self.tot[s], self.tot[t], self.k
        fs, ft = self.floor[s], self.floor[t]
        if u in self.heavy:
            fs, ft = self._floor_of(s, without=u), self._floor_of(t, plus=u)
        f = 0.0
        raw = []
        for j in range(self.c):
            rs, rt = ts[j] - v[j] - 1.0, tt[j] + v[j] - 1.0
            ns = self._beyond(rs, fs[j])
            nt = self._beyond(rt, ft[j])
            big = max(self._max_without(j, s, t), abs(ns), abs(nt))
            raw.append(max(self._raw_without(j, s, t), abs(rs), abs(rt)))
            old = self._term(self.e[s][j]) + self._term(self.e[t][j])
            f += self.w[j] * (big + self.q[j] - old + self._term(ns) + self._term(nt))
        f += self._largest(raw)
        per_s = self.t_per[s] - self.perim[u] + 2 * by.get(s, 0.0)
        per_t = self.t_per[t] + self.perim[u] - 2 * by.get(t, 0.0)
        p_sum = (
            self.p_sum
            - self.pp[s]
            - self.pp[t]
            + self._polsby(self.t_area[s] - self.area[u], per_s)
            + self._polsby(self.t_area[t] + self.area[u], per_t)
        )
        moved, load = self.moved, self.moved_load
        if self.start_list is not None:
            home = self.start_list[u]
            step = (t != home) - (s != home)
            moved += step
            load += step * self.mload[u]
        f += self.cw * (1 - p_sum / k) + self._move_cost(moved, load)
        return f, per_s, per_t, moved, load

    def _keeps_connected(self, u: int, s: int) -> bool:
        """Whether territory ``s`` stays in as many pieces without ``u``: the neighbours of
        ``u`` in ``s`` still reach each other (a search of ``s`` that stops once they do)."""
        a = self.a
        near = [o for o in self.nbrs[u] if a[o] == s]
        if len(near) <= 1:
            return True
        wanted = set(near[1:])
        seen = {u, near[0]}
        stack = [near[0]]
        # A Python search: it stops after a few units in the usual case, numpy would not.
        while stack:
            x = stack.pop()
            for o in self.nbrs[x]:
                if o not in seen and a[o] == s:
                    if o in wanted:
                        wanted.discard(o)
                        if not wanted:
                            return True
                    seen.add(o)
                    stack.append(o)
        return False

    def _apply(
        self, u: int, s: int, t: int, result: tuple[float, float, float, int, float]
    ) -> None:
        f, per_s, per_t, moved, load = result
        v = self.val[u]
        self.a[u] = t
        if u in self.heavy:
            self.floor[s], self.floor[t] = self._floor_of(s), self._floor_of(t)
        for j in range(self.c):
            self.tot[s][j] -= v[j]
            self.tot[t][j] += v[j]
            for x in (s, t):
                e = self._beyond(self.tot[x][j] - 1.0, self.floor[x][j])
                self.q[j] += self._term(e) - self._term(self.e[x][j])
                self.e[x][j] = e
        self.size[s] -= 1
        self.size[t] += 1
        self.t_area[s] -= self.area[u]
        self.t_area[t] += self.area[u]
        self.t_per[s], self.t_per[t] = per_s, per_t
        old = self.pp[s] + self.pp[t]
        self.pp[s] = self._polsby(self.t_area[s], per_s)
        self.pp[t] = self._polsby(self.t_area[t], per_t)
        self.p_sum += self.pp[s] + self.pp[t] - old
        self.moved, self.moved_load = moved, load
        self._top()
        self.f = f

    def descend(self, units: list[int], *, limit: int) -> int:
        """Best-improving boundary moves from a queue of units (a moved unit's neighbours
        join it) until no unit improves or ``limit`` units were examined; return the moves."""
        a, queued = self.a, [False] * self.n
        queue: deque[int] = deque()
        for u in units:
            if not queued[u]:
                queued[u] = True
                queue.append(u)
        moves = 0
        # A Python loop over units: each move changes the totals the next one is scored on.
        while queue and limit > 0:
            limit -= 1
            u = queue.popleft()
            queued[u] = False
            s = a[u]
            if self.fixed[u] or self.size[s] == 1:
                continue
            by: dict[int, float] = {}
            for o in self.nbrs[u]:
                by[a[o]] = by.get(a[o], 0.0) + self.edge[u].get(o, 0.0)
            best: tuple[float, int, tuple[float, float, float, int, float]] | None = None
            for t in sorted(by):
                if t == s or (self.allowed_rows is not None and not self.allowed_rows[u][t]):
                    continue
                result = self._evaluate(u, s, t, by)
                if self.max_moves is not None and result[3] > max(self.max_moves, self.moved):
                    continue
                if result[0] < self.f - 1e-12 and (best is None or result[0] < best[0]):
                    best = (result[0], t, result)
            if best is None or not self._keeps_connected(u, s):
                continue
            self._apply(u, s, best[1], best[2])
            moves += 1
            for o in self.nbrs[u]:
                if not queued[o]:
                    queued[o] = True
                    queue.append(o)
        return moves

    # -- moves through empty units ------------------------------------------------------------
    def _holds_together(self, t: int, gone: list[int]) -> bool:
        """Whether territory ``t`` is in no more pieces now that ``gone`` left it: the units
        of ``t`` next to them still reach each other (every piece of what is left touches
        a unit that left, as ``t`` was in one piece)."""
        a = self.a
        near = {o for x in gone for o in self.nbrs[x] if a[o] == t}
        if len(near) <= 1:
            return True
        first = near.pop()
        seen, stack = {first}, [first]
        # A Python search: it stops once the few units it looks for are found.
        while stack and near:
            x = stack.pop()
            for o in self.nbrs[x]:
                if a[o] == t and o not in seen:
                    seen.add(o)
                    near.discard(o)
                    stack.append(o)
        return not near

    def _paths_from(self, u: int, depth: int) -> dict[int, list[int]]:
        """Per other territory, the shortest path of empty units of ``u``'s territory that
        leads from ``u`` to a unit next to it (at most ``depth`` units; [] when adjacent)."""
        a, s = self.a, self.a[u]
        found: dict[int, list[int]] = {}
        back: dict[int, int] = {u: -1}
        layer = [u]
        for _ in range(depth + 1):
            ahead: list[int] = []
            for x in layer:
                for o in self.nbrs[x]:
                    t = a[o]
                    if t != s:
                        if t not in found:
                            path, y = [], x
                            while y != u:
                                path.append(y)
                                y = back[y]
                            found[t] = path
                    elif o not in back and self.empty[o] and not self.fixed[o]:
                        back[o] = x
                        ahead.append(o)
            layer = ahead
        return found

    def bridge(self, units: list[int], *, depth: int = 4) -> int:
        """Moves of a unit with weight to a territory it does not touch, together with the
        empty units between them (a single-unit move cannot cross a band of units with no
        weight, whose own moves change no balance); each kept when the objective improves
        and its old territory does not fall apart. Returns the moves kept."""
        moves = 0
        # A Python loop over units: each move changes the totals the next one is scored on.
        for u in units:
            s = self.a[u]
            if self.empty[u] or self.fixed[u] or self.size[s] == 1:
                continue
            for t, path in sorted(self._paths_from(u, depth).items()):
                if not path or self.size[s] <= len(path) + 1:
                    continue
                if self.allowed_rows is not None and not all(
                    self.allowed_rows[x][t] for x in [*path, u]
                ):
                    continue
                gain = self._balance_after(s, t, self.values[[u]])[0]
                if gain >= self._balance() - 1e-12:
                    continue
                before = self._snapshot()
                moved_before, f_before = self.moved, self.f
                for x in [*path, u]:  # from the unit next to t back to u: t stays in one piece
                    self._move(x, t)
                capped = self.max_moves is not None and self.moved > max(
                    self.max_moves,
                    moved_before,
                )
                if self.f < f_before - 1e-12 and not capped and self._holds_together(s, [*path, u]):
                    moves += 1
                    break
                self._restore(before)
        return moves

    def _move(self, u: int, t: int) -> None:
        s, a = self.a[u], self.a
        by: dict[int, float] = {}
        for o in self.nbrs[u]:
            by[a[o]] = by.get(a[o], 0.0) + self.edge[u].get(o, 0.0)
        self._apply(u, s, t, self._evaluate(u, s, t, by))

    def _balance_after(self, s: int, t: int, moved: np.ndarray) -> np.ndarray:
        """The objective's balance terms after ``moved`` (rows: criteria moved from s to
        t, negative rows t to s) for many candidate exchanges at once."""
        out = np.zeros(len(moved))
        raw = []
        for j in range(self.c):
            rs, rt = self.tot[s][j] - 1.0 - moved[:, j], self.tot[t][j] - 1.0 + moved[:, j]
            ns = self._beyond_all(rs, self.floor[s][j])
            nt = self._beyond_all(rt, self.floor[t][j])
            big = np.maximum(self._max_without(j, s, t), np.maximum(np.abs(ns), np.abs(nt)))
            raw.append(np.maximum(self._raw_without(j, s, t), np.maximum(np.abs(rs), np.abs(rt))))
            old = self._term(self.e[s][j]) + self._term(self.e[t][j])
            out += self.w[j] * (big + self.q[j] - old + self._terms(ns) + self._terms(nt))
        return out + self._largest_all(raw)

    @staticmethod
    def _beyond_all(deviation: np.ndarray, floor: np.ndarray | float) -> np.ndarray:
        return np.where(deviation > floor, deviation - floor, np.minimum(deviation, 0.0))

    def swap(
        self, rng: np.random.Generator, *, tries: int = 4, among: set[int] | None = None
    ) -> int:
        """Exchanges between neighbouring territories: a unit with weight from s to t and
        one from t to s at once (each with the empty units between it and the other
        territory). Balancing two criteria at once needs them: one territory may want a
        unit with many customers and little revenue for one with the reverse, where each
        move alone makes things worse. The best exchanges by balance are tried, each kept
        when the whole objective improves and neither territory falls apart."""
        a = np.array(self.a)
        left, right = a[self.edge_rows], a[self.edge_cols]
        cross = left < right
        pairs = np.unique(np.column_stack([left[cross], right[cross]]), axis=0)
        if among is not None:
            pairs = pairs[np.isin(pairs, list(among)).any(axis=1)]
        heavy = [u for u in range(self.n) if not self.empty[u] and not self.fixed[u]]
        moves = 0
        paths: dict[int, dict[int, list[int]]] = {}
        for s, t in pairs[rng.permutation(len(pairs))].tolist():
            give = self._movable(heavy, s, t, paths)
            take = self._movable(heavy, t, s, paths)
            if not give or not take:
                continue
            gv = self.values[[u for u, _ in give]]
            tv = self.values[[v for v, _ in take]]
            moved = (gv[:, None, :] - tv[None, :, :]).reshape(-1, self.c)
            score = self._balance_after(s, t, moved)
            current = self._balance()
            order = np.argsort(score, kind="stable")[:tries]
            for pick in order.tolist():
                if score[pick] >= current - 1e-12:
                    break
                (u, upath), (v, vpath) = give[pick // len(take)], take[pick % len(take)]
                if self._exchange(s, t, [*upath, u], [*vpath, v]):
                    moves += 1
                    paths.clear()
                    break
        return moves

    def _movable(
        self, heavy: list[int], s: int, t: int, paths: dict[int, dict[int, list[int]]]
    ) -> list[tuple[int, list[int]]]:
        """Units with weight of s that can join t, with the empty units between them
        (``paths``: each unit's paths, kept while no exchange changes the plan)."""
        out = []
        for u in heavy:
            if self.a[u] != s:
                continue
            if self.allowed_rows is not None and not self.allowed_rows[u][t]:
                continue
            if u not in paths:
                paths[u] = self._paths_from(u, 3)
            path = paths[u].get(t)
            if path is not None:
                out.append((u, path))
        return out

    def _exchange(self, s: int, t: int, there: list[int], back: list[int]) -> bool:
        """Move ``there`` (next to t first) to t and ``back`` to s; keep it when the
        objective improves and neither territory falls into more pieces."""
        if len(there) >= self.size[s] or len(back) >= self.size[t]:
            return False
        if self.allowed_rows is not None and not (
            all(self.allowed_rows[x][t] for x in there)
            and all(self.allowed_rows[x][s] for x in back)
        ):
            return False
        before = self._snapshot()
        moved_before, f_before = self.moved, self.f
        for x in there:
            self._move(x, t)
        for x in back:
            if self.a[x] == t:
                self._move(x, s)
        capped = self.max_moves is not None and self.moved > max(self.max_moves, moved_before)
        if (
            self.f < f_before - 1e-12
            and not capped
            and self._holds_together(s, there)
            and self._holds_together(t, [x for x in back if self.a[x] == s])
        ):
            return True
        self._restore(before)
        return False

    # -- merge-split ---------------------------------------------------------------------
    def _pick_pair(self, rng: np.random.Generator) -> tuple[int, int] | None:
        """Two neighbouring territories, drawn in proportion to how far apart their
        (weighted) deviations are: merging and cutting them again evens them out."""
        a = np.array(self.a)
        left, right = a[self.edge_rows], a[self.edge_cols]
        cross = left < right
        if not cross.any():
            return None
        pairs = np.unique(np.column_stack([left[cross], right[cross]]), axis=0)
        dev = np.array(self.e)
        gap = (np.abs(dev[pairs[:, 0]] - dev[pairs[:, 1]]) * np.array(self.w)).sum(axis=1)
        gap += (np.abs(dev[pairs[:, 0]]) + np.abs(dev[pairs[:, 1]])) @ np.array(self.w)
        chance = gap + 1e-12
        pick = int(rng.choice(len(pairs), p=chance / chance.sum()))
        return int(pairs[pick, 0]), int(pairs[pick, 1])

    def recombine(self, rng: np.random.Generator) -> list[int] | None:
        """One merge-split of a pair of neighbouring territories; return the units of the
        pair (to search from), or None when no valid cut was found."""
        pair = self._pick_pair(rng)
        if pair is None:
            return None
        t1, t2 = pair
        a = np.array(self.a)
        members = np.flatnonzero((a == t1) | (a == t2))
        sub = self.graph[members][:, members].tocoo()
        columns = self._cut_columns(members, t1, t2)
        total = columns.sum(axis=0)
        best: tuple[float, np.ndarray, bool] | None = None
        for _ in range(RECOM_TREES):
            weights = csr_array(
                (rng.random(len(sub.data)) + 1e-9, (sub.row, sub.col)), shape=(members.size,) * 2
            )
            tree = minimum_spanning_tree(weights)
            tree = tree + tree.T
            order, parent = breadth_first_order(
                tree, int(rng.integers(members.size)), directed=False
            )
            below = columns.copy()
            for node in order[:0:-1]:  # leaves first; the root has no parent
                below[parent[node]] += below[node]
            candidates = order[1:]
            floors = self._side_floors(members, order, parent, candidates)
            scores, swapped = self._cut_scores(below[candidates], total, t1, t2, floors)
            pick = int(np.argmin(scores))
            if np.isfinite(scores[pick]) and (best is None or scores[pick] < best[0]):
                side = np.zeros(members.size, dtype=bool)
                side[candidates[pick]] = True
                for node in order:  # parents come before their children in a BFS order
                    if parent[node] >= 0 and side[parent[node]]:
                        side[node] = True
                best = (float(scores[pick]), side, bool(swapped[pick]))
        if best is None:
            return None
        _, cut_off, turned = best
        first, second = (t2, t1) if turned else (t1, t2)
        self._reassign(members, np.where(cut_off, first, second), (t1, t2))
        return members.tolist()

    def _reassign(
        self, members: np.ndarray, territories: np.ndarray, pair: tuple[int, int]
    ) -> None:
        """Give ``members`` (all units of the ``pair``) their new territories; update the
        pair's totals and the sums over all territories."""
        if self.start is not None:
            home = self.start[members]
            before = np.array(self.a)[members] != home
            after = territories != home
            load = np.asarray(self.mload)[members]
            self.moved += int(after.sum()) - int(before.sum())
            self.moved_load += float(load[after].sum() - load[before].sum())
        for u, t in zip(members.tolist(), territories.tolist(), strict=True):
            self.a[u] = t
        for t in pair:
            self.tot[t] = [0.0] * self.c
            self.size[t], self.t_area[t], self.t_per[t] = 0, 0.0, 0.0
        a = self.a
        for u in members.tolist():
            t = a[u]
            row, v = self.tot[t], self.val[u]
            for j in range(self.c):
                row[j] += v[j]
            self.size[t] += 1
            self.t_area[t] += self.area[u]
            inner = 0.0
            for o, length in self.edge[u].items():
                if a[o] == t:
                    inner += length
            self.t_per[t] += self.perim[u] - inner
        for t in pair:
            self.pp[t] = self._polsby(self.t_area[t], self.t_per[t])
        for t in pair:
            self.floor[t] = self._floor_of(t)
        self._sums()
        self.p_sum = sum(self.pp)
        self.f = self._objective()

    def _snapshot(self) -> tuple[object, ...]:
        return (
            list(self.a),
            [list(r) for r in self.tot],
            list(self.size),
            list(self.t_area),
            list(self.t_per),
            list(self.pp),
            list(self.q),
            [list(r) for r in self.floor],
            [list(r) for r in self.e],
            self.p_sum,
            self.moved,
            self.moved_load,
            self.f,
        )

    def _restore(self, state: tuple[object, ...]) -> None:
        (
            self.a,
            self.tot,
            self.size,
            self.t_area,
            self.t_per,
            self.pp,
            self.q,
            self.floor,
            self.e,
            self.p_sum,
            self.moved,
            self.moved_load,
            self.f,
        ) = state  # type: ignore[assignment]
        self._top()

    def _side_floors(
        self, members: np.ndarray, order: np.ndarray, parent: np.ndarray, candidates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The floors (see the class) of the subtree under each candidate and of the rest:
        a heavy unit lies under a candidate when the candidate is on its path to the root."""
        side = np.zeros((candidates.size, self.c))
        rest = np.zeros((candidates.size, self.c))
        position = {int(u): i for i, u in enumerate(members.tolist())}
        for unit, excess in self.heavy.items():
            node = position.get(unit)
            if node is None:
                continue
            under = np.zeros(members.size, dtype=bool)
            while node >= 0:  # up the tree to the root
                under[node] = True
                node = int(parent[node])
            inside = under[candidates][:, None]
            side = np.where(inside, np.maximum(side, excess), side)
            rest = np.where(inside, rest, np.maximum(rest, excess))
        return side, rest

    def _cut_columns(self, members: np.ndarray, t1: int, t2: int) -> np.ndarray:
        """Per unit of the pair: its criteria, then whether it may not join t1, t2 (locks,
        ``allowed``), then whether joining t1, t2 moves it from its start, and by how much."""
        a = np.array(self.a)[members]
        fixed = np.asarray(self.fixed)[members]
        cols = [self.values[members]]
        for t in (t1, t2):
            bad = fixed & (a != t)
            if self.allowed is not None:
                bad = bad | ~self.allowed[members, t]
            cols.append(bad[:, None].astype(float))
        for t in (t1, t2):
            if self.start is None:
                cols.append(np.zeros((members.size, 2)))
            else:
                moved = (self.start[members] != t).astype(float)
                load = moved * np.asarray(self.mload)[members]
                cols.append(np.column_stack([moved, load]))
        return np.hstack(cols)

    def _cut_scores(
        self,
        side: np.ndarray,
        total: np.ndarray,
        t1: int,
        t2: int,
        floors: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The objective's balance and moving terms of each cut (``side``: the cut-off
        subtree's columns), with the better way round; invalid cuts score infinity."""
        c = self.c
        rest = total - side
        a = np.array(self.a)
        outside = (a != t1) & (a != t2)
        moved_out, load_out = 0, 0.0
        if self.start is not None:
            moving = outside & (a != self.start)
            moved_out = int(moving.sum())
            load_out = float(np.asarray(self.mload)[moving].sum())
        balance = np.zeros(len(side))
        raw = []
        for j in range(c):
            others = self._max_without(j, t1, t2)
            d1 = self._beyond_all(side[:, j] - 1.0, floors[0][:, j])
            d2 = self._beyond_all(rest[:, j] - 1.0, floors[1][:, j])
            big = np.maximum(others, np.maximum(np.abs(d1), np.abs(d2)))
            raw.append(
                np.maximum(
                    self._raw_without(j, t1, t2),
                    np.maximum(np.abs(side[:, j] - 1.0), np.abs(rest[:, j] - 1.0)),
                )
            )
            q = self.q[j] - self._term(self.e[t1][j]) - self._term(self.e[t2][j])
            balance += self.w[j] * (big + q + self._terms(d1) + self._terms(d2))
        balance = balance + self._largest_all(raw)
        out = []
        for first, second in ((0, 1), (1, 0)):  # the subtree to t1 (t2), the rest to t2 (t1)
            bad = side[:, c + first] + rest[:, c + second]
            moved = moved_out + side[:, c + 2 + 2 * first] + rest[:, c + 2 + 2 * second]
            load = load_out + side[:, c + 3 + 2 * first] + rest[:, c + 3 + 2 * second]
            score = balance + MOVE_COST_UNIT * moved + MOVE_COST_LOAD * load
            score[bad > 0] = np.inf
            if self.max_moves is not None:
                score[moved > max(self.max_moves, self.moved)] = np.inf
            out.append(score)
        swapped = out[1] < out[0]
        return np.where(swapped, out[1], out[0]), swapped

    def polish(self, units: list[int], *, rng: np.random.Generator, limit: int) -> int:
        """Single-unit moves, then moves across empty units, until neither improves."""
        moves = self.descend(units, limit=limit)
        for _ in range(50):
            heavy = [u for u in units if not self.empty[u]]
            among = {self.a[u] for u in units} if len(units) < self.n else None
            found = self.bridge(heavy) + self.swap(rng, among=among)
            if not found:
                break
            moves += found + self.descend(units, limit=limit)
        return moves

    def improve(
        self, *, rng: np.random.Generator, iterations: int, limit: int, progress: Progress
    ) -> int:
        """Polish, then ``iterations`` rounds of merge-split and polish, each kept only
        when it lowers the objective; return the number of moves kept."""
        moves = self.polish(rng.permutation(self.n).tolist(), rng=rng, limit=limit)
        best = self._snapshot()
        for round_ in range(iterations):
            progress("search", round_, iterations)
            before = self.f
            touched = self.recombine(rng)
            if touched is None:
                continue
            near = {o for u in touched for o in self.nbrs[u]} | set(touched)
            gained = self.polish(sorted(near), rng=rng, limit=limit)
            if self.f < before - 1e-12:
                best = self._snapshot()
                moves += gained
            else:
                self._restore(best)
                best = self._snapshot()
        progress("search", iterations, iterations)
        return moves


def _territory_table(
    frame: gpd.GeoDataFrame,
    metric: gpd.GeoSeries,
    graph: csr_array,
    assign: np.ndarray,
    names: list[str],
    *,
    k: int,
) -> pd.DataFrame:
    """Per territory: units, totals, deviations, Polsby-Popper (dissolved, in metres),
    contiguity on the adjacency graph (islands joined to their nearest unit count as linked)."""
    rows = []
    geoms = metric.to_numpy()
    raw = frame[names].to_numpy(dtype=float)
    mean = raw.sum(axis=0) / k
    for territory in range(k):
        members = np.flatnonzero(assign == territory)
        shape = shapely.union_all(geoms[members])
        perimeter = float(shapely.length(shape))
        polsby = 4 * math.pi * float(shapely.area(shape)) / perimeter**2 if perimeter else 0.0
        area, _, _, inertia = polygon_moments(np.array([shape]))[0]
        pieces = int(connected_components(graph[members][:, members], directed=False)[0])
        totals = raw[members].sum(axis=0)
        row: dict[str, object] = {"territory": territory + 1, "units": int(members.size)}
        for i, name in enumerate(names):
            row[name] = float(totals[i])
            row[f"{name}_deviation"] = float(totals[i] / mean[i] - 1.0)
        row["polsby_popper"] = polsby
        row["moment_of_inertia"] = normalised_inertia(area, inertia)
        row["contiguous"] = pieces == 1
        rows.append(row)
    return pd.DataFrame(rows)


def polygon_moments(geoms: np.ndarray) -> np.ndarray:
    """Area, centroid (x, y) and polar moment of inertia about the centroid of each
    (multi)polygon, in its own units (metres for a metric CRS): an ``n x 4`` array.

    Green's theorem over every ring, holes subtracted (rings oriented first), each geometry's
    coordinates taken from the corner of its bounds so the sums stay exact.
    """
    n = len(geoms)
    oriented = shapely.orient_polygons(geoms)
    parts, owner = shapely.get_parts(oriented, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    point_owner = owner[ring_part[ring_of]]
    corner = shapely.bounds(geoms)[:, :2]
    xy = coords - corner[point_owner]
    # Each segment joins a point to the next of the same (closed) ring.
    same = ring_of[:-1] == ring_of[1:]
    x0, y0 = xy[:-1][same].T
    x1, y1 = xy[1:][same].T
    of = point_owner[:-1][same]
    cross = x0 * y1 - x1 * y0
    area = np.bincount(of, cross, n) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = np.bincount(of, cross * (x0 + x1), n) / (6 * area)
        cy = np.bincount(of, cross * (y0 + y1), n) / (6 * area)
    about_corner = np.bincount(of, cross * (x0 * x0 + x0 * x1 + x1 * x1), n) / 12
    about_corner += np.bincount(of, cross * (y0 * y0 + y0 * y1 + y1 * y1), n) / 12
    inertia = about_corner - area * (cx * cx + cy * cy)
    return np.column_stack([area, cx + corner[:, 0], cy + corner[:, 1], inertia])


def normalised_inertia(area: float, inertia: float) -> float:
    """A shape's area squared over 2 pi times its polar moment of inertia: 1 for a disc,
    0.955 for a square, towards 0 as it stretches or scatters (0 for an empty shape)."""
    return float(area * area / (2 * math.pi * inertia)) if inertia > 0 else 0.0
