"""Territory design: divide the areas of one level into k contiguous, balanced territories.

The units are the areas of a level with their weights (customers, active customers, revenue,
orders, leads from SQL; population from the area statistics). Adjacency is queen (or rook)
contiguity of the outlines (libpysal); a unit or group of units with no contiguous neighbour
is joined to its nearest unit, so every unit can be reached. Two starts: k territories grown
from spread seeds (locked units seed their territories), each step giving a unit to the
territory with the least load; and, without locks, recursive bisection on random spanning
trees (gerrychain's idea). From each, a local search moves boundary units between neighbouring
territories while no territory falls apart (scipy connected components on the territory's
subgraph), minimising the largest weighted deviation from the mean, then the sum of squared
deviations, with compactness (Polsby-Popper) as the tie-breaker; the better of the two plans
is kept. Locked units never move. The same seed gives the same plan.
"""

from __future__ import annotations

import math
import time
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
    "evaluate_assignment",
    "parse_balance",
    "read_design_units",
    "read_locks",
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
    #: ``contiguous``.
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

    @property
    def mean_polsby_popper(self) -> float:
        """Mean Polsby-Popper compactness of the territories (1 is a disc)."""
        return float(self.territories["polsby_popper"].mean())

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
        Weight of compactness (1 - mean Polsby-Popper) against balance (largest deviation
        plus mean squared deviation); larger values give rounder, less balanced territories.
    max_sweeps
        Most passes of the local search over the boundary units.
    progress
        Called with (stage, done, total) as the design goes.

    Returns
    -------
    DesignResult

    Raises
    ------
    ValidationError
        When ``k``, ``balance``, ``locks`` or ``adjacency`` do not fit the units.
    """
    started = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    lock_index = _check_design(units, k=k, balance=balance, locks=locks or {}, adjacency=adjacency)
    frame = units.reset_index(drop=True)
    names = list(balance)
    values = _normalised(frame, names, k=k)
    # Lengths and areas in metres: the UTM zone of the units, not degrees.
    metric = frame.geometry.to_crs(frame.estimate_utm_crs())
    report("adjacency", 0, 1)
    graph, islands = _adjacency(metric, rule=adjacency)
    shared = _shared_lengths(metric, graph)
    report("adjacency", 1, 1)
    rng = np.random.default_rng(seed)
    # Two starts (without locks): growth from spread seeds, and recursive bisection on
    # spanning trees; each is searched, and the better plan is kept. Growth does well on
    # even weights, bisection where a few units hold most of the weight.
    starts = [_grow(metric, graph, values, k=k, locks=lock_index, rng=rng)]
    if not lock_index:
        # Its own generator: the growth's plan stays what it is without this second start.
        bisect_rng = np.random.default_rng([seed, 1])
        starts.append(_bisect(graph, values.mean(axis=1), k=k, rng=bisect_rng))
    report("start", 1, 1)
    weights = np.array([balance[n] for n in names])
    locked = np.isin(np.arange(len(frame)), list(lock_index))
    best: tuple[float, np.ndarray, _Search, int] | None = None
    for assign in starts:
        search = _Search(
            graph=graph,
            shared=shared,
            values=values,
            weights=weights,
            area=np.asarray(metric.area),
            perimeter=np.asarray(metric.length),
            assign=assign,
            locked=locked,
            k=k,
            compactness=compactness,
        )
        moves = search.run(
            rng=rng if assign is starts[0] else bisect_rng, max_sweeps=max_sweeps, progress=report
        )
        score = search.score()
        if best is None or score < best[0]:
            best = (score, assign, search, moves)
    assert best is not None
    _, assign, search, moves = best
    start_dev = _deviations(values, assign, k)
    territories = _territory_table(frame, metric, graph, search.assign, names, k=k)
    out = frame.copy()
    out["territory"] = search.assign + 1
    return DesignResult(
        assignment=pd.Series(search.assign + 1, index=frame["code"].astype(str), name="territory"),
        territories=territories,
        units=gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs),
        balance=dict(balance),
        start_max_deviation=_largest(names, start_dev),
        max_deviation=_largest(names, _deviations(values, search.assign, k)),
        islands=[str(frame["code"].iloc[i]) for i in islands],
        moves=moves,
        seconds=time.perf_counter() - started,
    )


def evaluate_assignment(
    units: gpd.GeoDataFrame,
    assignment: Mapping[str, int],
    *,
    balance: Mapping[str, float],
    adjacency: str = "queen",
) -> DesignResult:
    """The figures of a given assignment of ``units`` (an edited, stored or imported plan).

    Parameters
    ----------
    units
        As :func:`read_design_units` returns.
    assignment
        Unit code -> territory (1..k); every unit must have one. ``k`` is the largest
        territory number; a territory without units shows with zero units.
    balance
        The criteria whose totals and deviations are reported (the weights are kept as given).
    adjacency
        ``"queen"`` or ``"rook"``: which units touch, for contiguity.

    Returns
    -------
    DesignResult
        With ``moves`` 0 and the start's deviations equal to the plan's.

    Raises
    ------
    ValidationError
        When a unit has no territory, a code is not a unit, or a territory is not 1 or more.
    """
    started = time.perf_counter()
    frame = units.reset_index(drop=True)
    codes = frame["code"].astype(str)
    given = {str(c): int(t) for c, t in assignment.items()}
    unknown = sorted(set(given) - set(codes))
    if unknown:
        msg = f"unit {unknown[0]!r} is not an area of the level; use the codes of the plan's level"
        raise ValidationError(msg)
    missing = [c for c in codes if c not in given]
    if missing:
        msg = f"unit {missing[0]!r} has no territory; give every unit of the level a territory"
        raise ValidationError(msg)
    if adjacency not in ADJACENCY:
        msg = f"adjacency {adjacency!r} is unknown; use one of {list(ADJACENCY)}"
        raise ValidationError(msg)
    assign = np.array([given[c] for c in codes]) - 1
    if assign.min() < 0:
        msg = f"territory {int(assign.min()) + 1} is not a territory number; use 1..k"
        raise ValidationError(msg)
    k = int(assign.max()) + 1
    names = list(balance)
    metric = frame.geometry.to_crs(frame.estimate_utm_crs())
    graph, islands = _adjacency(metric, rule=adjacency)
    deviations = _largest(names, _deviations(_normalised(frame, names, k=k), assign, k))
    out = frame.copy()
    out["territory"] = assign + 1
    return DesignResult(
        assignment=pd.Series(assign + 1, index=codes, name="territory"),
        territories=_territory_table(frame, metric, graph, assign, names, k=k),
        units=gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs),
        balance=dict(balance),
        start_max_deviation=deviations,
        max_deviation=deviations,
        islands=[str(codes.iloc[i]) for i in islands],
        seconds=time.perf_counter() - started,
    )


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


def _adjacency(metric: gpd.GeoSeries, *, rule: str) -> tuple[csr_array, list[int]]:
    """Symmetric unit adjacency; every group of units that touches no other is linked to the
    nearest unit outside it, so the graph is connected. Returns the graph and the islands."""
    from libpysal.weights import Queen, Rook  # libpysal takes seconds to import

    cls = Queen if rule == "queen" else Rook
    frame = gpd.GeoDataFrame(geometry=metric.reset_index(drop=True))
    w = cls.from_dataframe(frame, use_index=True, silence_warnings=True)
    n = len(frame)
    rows = [i for i in range(n) for _ in w.neighbors[i]]
    cols = [int(j) for i in range(n) for j in w.neighbors[i]]
    islands = [i for i in range(n) if not w.neighbors[i]]
    graph = csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    geoms = metric.to_numpy()
    count, labels = connected_components(graph, directed=False)
    # A few groups at most (islands, exclaves): join each but the largest to its nearest unit.
    while count > 1:
        sizes = np.bincount(labels)
        part = int(np.argmin(sizes))
        inside = np.flatnonzero(labels == part)
        outside = np.flatnonzero(labels != part)
        tree = shapely.STRtree(geoms[outside])
        pairs, distance = tree.query_nearest(geoms[inside], return_distance=True)
        best = int(np.argmin(distance))
        a, b = int(inside[pairs[0][best]]), int(outside[pairs[1][best]])
        extra = csr_array(([1.0, 1.0], ([a, b], [b, a])), shape=(n, n))
        graph = (graph + extra).tocsr()
        count, labels = connected_components(graph, directed=False)
    graph.data[:] = 1.0
    return csr_array(graph), islands


def _shared_lengths(metric: gpd.GeoSeries, graph: csr_array) -> csr_array:
    """Length in metres of the boundary each pair of adjacent units shares."""
    coo = graph.tocoo()
    geoms = metric.to_numpy()
    boundaries = shapely.boundary(geoms)
    length = shapely.length(shapely.intersection(boundaries[coo.row], boundaries[coo.col]))
    return csr_array((length, (coo.row, coo.col)), shape=graph.shape)


#: Random spanning trees tried for each cut of the recursive bisection.
BISECT_TRIES = 40


def _bisect(graph: csr_array, load: np.ndarray, *, k: int, rng: np.random.Generator) -> np.ndarray:
    """The start without locks: recursive bisection on random spanning trees.

    The units are cut in two along the one edge of a random spanning tree that best splits
    their load in the ratio of the territories each side is to hold (``k // 2`` to the rest),
    the best of :data:`BISECT_TRIES` trees; each side is cut again until every part is one
    territory. A subtree is connected, so every territory starts in one piece (the idea of
    gerrychain's ``recursive_tree_part``, on the mean of the normalised criteria).
    """
    assign = np.zeros(len(load), dtype=int)
    parts: list[tuple[np.ndarray, int, int]] = [(np.arange(len(load)), k, 0)]
    while parts:
        members, count, first = parts.pop()
        if count == 1:
            assign[members] = first
            continue
        left = count // 2
        inside = _best_cut(graph[members][:, members], load[members], left / count, rng=rng)
        parts.append((members[inside], left, first))
        parts.append((members[~inside], count - left, first + left))
    return assign


def _best_cut(
    sub: csr_array, load: np.ndarray, share: float, *, rng: np.random.Generator
) -> np.ndarray:
    """Which units fall on the ``share`` side of the best cut of a random spanning tree."""
    n = len(load)
    target = float(load.sum()) * share
    best: tuple[float, np.ndarray] | None = None
    coo = sub.tocoo()
    for _ in range(BISECT_TRIES):
        weights = csr_array((rng.random(len(coo.data)) + 1e-9, (coo.row, coo.col)), shape=sub.shape)
        tree = minimum_spanning_tree(weights)
        tree = tree + tree.T
        root = int(rng.integers(n))
        order, parent = breadth_first_order(tree, root, directed=False)
        below = load.astype(float).copy()
        for node in order[:0:-1]:  # leaves first; the root has no parent
            below[parent[node]] += below[node]
        # A cut needs units on both sides: at least one unit, never the whole tree.
        candidates = order[1:]
        gaps = np.abs(below[candidates] - target)
        cut = int(candidates[np.argmin(gaps)])
        gap = float(gaps.min())
        if best is None or gap < best[0]:
            side = np.zeros(n, dtype=bool)
            side[cut] = True
            for node in order:  # parents come before their children in a BFS order
                if node != cut and parent[node] >= 0 and side[parent[node]]:
                    side[node] = True
            best = (gap, side)
    assert best is not None
    return best[1]


def _grow(
    metric: gpd.GeoSeries,
    graph: csr_array,
    values: np.ndarray,
    *,
    k: int,
    locks: dict[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """The start: k territories grown from spread seeds, the lightest territory taking its
    nearest free neighbour each step. Locked units seed their territories."""
    n = len(metric)
    centroids = shapely.get_coordinates(metric.centroid.to_numpy())
    load = values.mean(axis=1)
    assign = np.full(n, -1)
    for unit, territory in locks.items():
        assign[unit] = territory
    seeds: dict[int, int] = {}
    for unit, territory in sorted(locks.items()):
        seeds.setdefault(territory, unit)
    # Farthest-point seeds for the territories without a lock: spread over the region.
    free = np.flatnonzero(assign < 0)
    nearest = np.full(n, np.inf)
    for unit in seeds.values():
        nearest = np.minimum(nearest, np.hypot(*(centroids - centroids[unit]).T))
    for territory in range(k):
        if territory in seeds:
            continue
        if not np.isfinite(nearest).any():
            unit = int(rng.choice(free))
        else:
            candidates = free[assign[free] < 0]
            unit = int(candidates[np.argmax(nearest[candidates])])
        seeds[territory] = unit
        assign[unit] = territory
        nearest = np.minimum(nearest, np.hypot(*(centroids - centroids[unit]).T))
    totals = np.zeros(k)
    np.add.at(totals, assign[assign >= 0], load[assign >= 0])
    indptr, indices = graph.indptr, graph.indices
    centre = np.array([centroids[seeds[t]] for t in range(k)])
    frontier: list[set[int]] = [set() for _ in range(k)]
    for placed in np.flatnonzero(assign >= 0):
        frontier[int(assign[placed])].update(
            int(o) for o in indices[indptr[placed] : indptr[placed + 1]] if assign[o] < 0
        )
    # A Python loop over units: each step depends on the loads the last one left.
    while (assign < 0).any():
        open_ = [t for t in range(k) if frontier[t]]
        territory = min(open_, key=lambda t: (totals[t], t))
        options = np.array(sorted(frontier[territory]))
        pick = int(options[np.argmin(np.hypot(*(centroids[options] - centre[territory]).T))])
        assign[pick] = territory
        totals[territory] += load[pick]
        for other in frontier:
            other.discard(pick)
        frontier[territory].update(
            int(o) for o in indices[indptr[pick] : indptr[pick + 1]] if assign[o] < 0
        )
    return assign


class _Search:
    """Local search over boundary moves that keep every territory in one piece."""

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
        locked: np.ndarray,
        k: int,
        compactness: float,
    ) -> None:
        self.graph, self.shared, self.values = graph, shared, values
        self.weights, self.area, self.perimeter = weights, area, perimeter
        self.assign, self.locked, self.k = assign.copy(), locked, k
        self.compactness = compactness
        self.totals = np.zeros((k, values.shape[1]))
        np.add.at(self.totals, self.assign, values)
        self.t_area = np.bincount(self.assign, weights=area, minlength=k)
        self.t_perimeter = np.array([self._perimeter_of(t) for t in range(k)])

    def score(self) -> float:
        """The objective of the current plan (lower is better)."""
        return self._score(self.totals, self.t_area, self.t_perimeter)

    def _perimeter_of(self, territory: int) -> float:
        members = np.flatnonzero(self.assign == territory)
        inner = self.shared[members][:, members].sum()
        return float(self.perimeter[members].sum() - inner)

    def _score(self, totals: np.ndarray, area: np.ndarray, perimeter: np.ndarray) -> float:
        dev = (totals - 1.0) * self.weights
        polsby = 4 * np.pi * area / np.maximum(perimeter, 1e-9) ** 2
        return float(
            np.abs(dev).max() + (dev**2).sum() / dev.size + self.compactness * (1 - polsby.mean())
        )

    def _pieces(self, members: np.ndarray) -> int:
        if members.size == 0:
            return 0
        sub = self.graph[members][:, members]
        return int(connected_components(sub, directed=False)[0])

    def run(self, *, rng: np.random.Generator, max_sweeps: int, progress: Progress) -> int:
        """Sweep the boundary units, applying the best improving move of each; return the
        number of moves made."""
        indptr, indices = self.graph.indptr, self.graph.indices
        n = len(self.assign)
        moves = 0
        current = self._score(self.totals, self.t_area, self.t_perimeter)
        for sweep in range(max_sweeps):
            progress("search", sweep, max_sweeps)
            improved = False
            # A Python loop over units: each move changes the totals the next one is scored on.
            for unit in rng.permutation(n):
                if self.locked[unit]:
                    continue
                source = int(self.assign[unit])
                near = indices[indptr[unit] : indptr[unit + 1]]
                targets = set(int(t) for t in self.assign[near]) - {source}
                if not targets:
                    continue
                best = self._best_move(int(unit), source, sorted(targets), near, current)
                if best is None:
                    continue
                target, score, d_source, d_target = best
                members = np.flatnonzero(self.assign == source)
                if members.size == 1:
                    continue
                # A territory never falls apart (or into more pieces than locks left it in).
                if self._pieces(members[members != unit]) > self._pieces(members):
                    continue
                self._apply(int(unit), source, target, d_source, d_target)
                current = score
                moves += 1
                improved = True
            if not improved:
                break
        progress("search", max_sweeps, max_sweeps)
        return moves

    def _best_move(
        self, unit: int, source: int, targets: list[int], near: np.ndarray, current: float
    ) -> tuple[int, float, float, float] | None:
        value, area = self.values[unit], self.area[unit]
        row = self.shared[[unit]]
        cols, lengths = row.indices, row.data
        best: tuple[int, float, float, float] | None = None
        for target in targets:
            inside = self.assign[cols]
            d_source = -self.perimeter[unit] + 2 * lengths[inside == source].sum()
            d_target = self.perimeter[unit] - 2 * lengths[inside == target].sum()
            totals = self.totals.copy()
            totals[source] -= value
            totals[target] += value
            t_area = self.t_area.copy()
            t_area[source] -= area
            t_area[target] += area
            perimeter = self.t_perimeter.copy()
            perimeter[source] += d_source
            perimeter[target] += d_target
            score = self._score(totals, t_area, perimeter)
            if score < current - 1e-12 and (best is None or score < best[1]):
                best = (target, score, float(d_source), float(d_target))
        return best

    def _apply(self, unit: int, source: int, target: int, d_source: float, d_target: float) -> None:
        self.assign[unit] = target
        self.totals[source] -= self.values[unit]
        self.totals[target] += self.values[unit]
        self.t_area[source] -= self.area[unit]
        self.t_area[target] += self.area[unit]
        self.t_perimeter[source] += d_source
        self.t_perimeter[target] += d_target


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
        pieces = int(connected_components(graph[members][:, members], directed=False)[0])
        totals = raw[members].sum(axis=0)
        row: dict[str, object] = {"territory": territory + 1, "units": int(members.size)}
        for i, name in enumerate(names):
            row[name] = float(totals[i])
            row[f"{name}_deviation"] = float(totals[i] / mean[i] - 1.0)
        row["polsby_popper"] = polsby
        row["contiguous"] = pieces == 1
        rows.append(row)
    return pd.DataFrame(rows)
