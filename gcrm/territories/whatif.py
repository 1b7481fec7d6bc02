"""The figures of any assignment of units to territories (a stored plan, an edit, a what-if
move), answered at the speed of a click: the units of one level with their adjacency, areas,
perimeters and shared borders kept (:class:`LevelUnits`), so an assignment's figures are a few
vectorised sums.

The adjacency is the design's (libpysal queen or rook, islands joined to their nearest unit)
and the length of each shared border is measured once; then a territory's area is the sum of
its units' areas, its perimeter their perimeters less twice the borders they share (units
that tile the level, as areas do), its contiguity the connected components of the adjacency
within it, and its outline the borders between units of different territories. The design
measures its plan by dissolving each territory; tests/territories/test_whatif.py checks the
two agree. The API and the dashboard keep a :class:`LevelUnits` per level and scope;
:func:`evaluate_assignment` makes one for a single answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry import mapping

from gcrm.core import ValidationError
from gcrm.territories.design import (
    ADJACENCY,
    DesignResult,
    normalised_inertia,
    polygon_moments,
    unit_adjacency,
)

__all__ = ["SHOWN_WEIGHTS", "LevelUnits", "evaluate_assignment"]

#: The weights a unit's tooltip shows (when the units have them).
SHOWN_WEIGHTS = ("customers", "revenue")
#: Units and borders are drawn simplified by this much (degrees, about 20 m): the map shows
#: them, nothing measures them.
OUTLINE_TOLERANCE_DEG = 0.0002


def _line_coordinates(geometries: np.ndarray) -> list[list[list[list[float]]]]:
    """Per geometry, its lines (points where units only touch at a corner left out) as
    GeoJSON coordinate lists, to 5 decimals (about 1 m)."""
    parts, owner = shapely.get_parts(geometries, return_index=True)
    lines = shapely.get_type_id(parts) == 1
    parts, owner = parts[lines], owner[lines]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    out: list[list[list[list[float]]]] = [[] for _ in range(len(geometries))]
    if not len(coords):  # no shared border at all (a single unit, or units apart)
        return out
    cuts = np.flatnonzero(np.diff(part)) + 1
    # One list per line with points (an empty line has none), for the browser: a loop.
    present = owner[np.unique(part)]
    for line, points in zip(present, np.split(np.round(coords, 5), cuts), strict=True):
        out[int(line)].append(points.tolist())
    return out


class LevelUnits:
    """The units of one level (as :func:`gcrm.territories.read_design_units` returns them)
    with their adjacency, areas, perimeters and shared borders."""

    def __init__(self, units: gpd.GeoDataFrame, *, adjacency: str = "queen") -> None:
        if adjacency not in ADJACENCY:
            msg = f"adjacency {adjacency!r} is unknown; use one of {list(ADJACENCY)}"
            raise ValidationError(msg)
        self.units = units.reset_index(drop=True)
        self.adjacency = adjacency
        self.codes = self.units["code"].astype(str).tolist()
        # Lengths and areas in metres: the units' UTM zone, as the design measures them.
        utm = self.units.estimate_utm_crs()
        metric = np.asarray(self.units.geometry.to_crs(utm))
        self._lonlat = np.asarray(self.units.geometry)
        self.graph, islands = unit_adjacency(gpd.GeoSeries(metric, crs=utm), rule=adjacency)
        #: Units that touched no other and were joined to their nearest unit.
        self.islands = [self.codes[i] for i in islands]
        self._area = shapely.area(metric)
        self._perimeter = shapely.length(metric)
        # Each unit's area, centroid and moment of inertia: a territory's moment is theirs
        # moved to its centroid (parallel axes).
        self._moments = polygon_moments(metric)
        edges = self.graph.tocoo()
        upper = edges.row < edges.col
        # Each adjacent pair once, with the border it shares, measured in metres.
        self._first, self._second = edges.row[upper], edges.col[upper]
        lines = shapely.line_merge(
            shapely.intersection(
                shapely.boundary(self._lonlat[self._first]),
                shapely.boundary(self._lonlat[self._second]),
            )
        )
        self._shared = np.asarray(gpd.GeoSeries(lines, crs=self.units.crs).to_crs(utm).length)
        # Each border's lines as coordinate lists, ready for GeoJSON: a click only picks them.
        self._borders = _line_coordinates(shapely.simplify(lines, OUTLINE_TOLERANCE_DEG))
        self._features: list[dict[str, Any]] | None = None

    def features(self, codes: Sequence[str] | None = None) -> dict[str, Any]:
        """The units as a GeoJSON FeatureCollection for the map (``id`` and ``code`` the
        unit's code, ``name``, ``facts``: its customers and revenue as text), simplified by :data:`OUTLINE_TOLERANCE_DEG`; only ``codes``
        when given."""
        if self._features is None:
            drawn = shapely.simplify(self._lonlat, OUTLINE_TOLERANCE_DEG, preserve_topology=True)
            names = self.units["name"].tolist()
            shown = [w for w in SHOWN_WEIGHTS if w in self.units.columns]
            facts = [
                ", ".join(f"{w} {float(v):,.0f}" for w, v in zip(shown, values, strict=True))
                for values in self.units[shown].itertuples(index=False)
            ]
            # Once per level and scope: one feature per unit for the browser.
            self._features = [
                {
                    "type": "Feature",
                    "id": code,
                    "geometry": mapping(geom),
                    "properties": {
                        "code": code,
                        "name": "" if name is None else str(name),
                        "facts": fact,
                    },
                }
                for code, name, fact, geom in zip(self.codes, names, facts, drawn, strict=True)
            ]
        if codes is None:
            return {"type": "FeatureCollection", "features": self._features}
        wanted = {str(c) for c in codes}
        chosen = [f for f in self._features if f["id"] in wanted]
        return {"type": "FeatureCollection", "features": chosen}

    def positions(self, assignment: Mapping[str, int]) -> np.ndarray:
        """Territory index (0-based) of each unit, in the units' order.

        Raises
        ------
        ValidationError
            When a code is not a unit, a unit has no territory or a territory is below 1.
        """
        unknown = sorted({str(c) for c in assignment} - set(self.codes))
        if unknown:
            msg = (
                f"unit {unknown[0]!r} is not an area of the level; use the codes of the "
                "plan's level"
            )
            raise ValidationError(msg)
        missing = [c for c in self.codes if c not in assignment]
        if missing:
            msg = (
                f"unit {missing[0]!r} has no territory in the plan; the plan was saved for "
                "other areas of the level (design it again, or pick a plan of these areas)"
            )
            raise ValidationError(msg)
        assign = np.array([int(assignment[c]) for c in self.codes]) - 1
        if len(assign) and assign.min() < 0:
            msg = f"territory {int(assign.min()) + 1} is not a territory number; use 1..k"
            raise ValidationError(msg)
        return assign

    def _inertia(self, assign: np.ndarray, k: int) -> np.ndarray:
        """Normalised moment of inertia of each territory (1 is a disc)."""
        area, x, y, own = self._moments.T
        total = np.bincount(assign, weights=area, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            cx = np.bincount(assign, weights=area * x, minlength=k) / total
            cy = np.bincount(assign, weights=area * y, minlength=k) / total
        spread = own + area * ((x - cx[assign]) ** 2 + (y - cy[assign]) ** 2)
        inertia = np.bincount(assign, weights=spread, minlength=k)
        return np.array([normalised_inertia(a, i) for a, i in zip(total, inertia, strict=True)])

    def _shapes(self, assign: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Polsby-Popper and contiguity of each territory."""
        inside = assign[self._first] == assign[self._second]
        area = np.bincount(assign, weights=self._area, minlength=k)
        perimeter = np.bincount(assign, weights=self._perimeter, minlength=k) - 2 * np.bincount(
            assign[self._first[inside]], weights=self._shared[inside], minlength=k
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            polsby = np.where(perimeter > 0, 4 * math.pi * area / perimeter**2, 0.0)
        n = len(assign)
        within = csr_array(
            (np.ones(int(inside.sum())), (self._first[inside], self._second[inside])),
            shape=(n, n),
        )
        _, labels = connected_components(within, directed=False)
        # Pieces per territory: the distinct components among its units.
        pieces = np.bincount(np.unique(np.c_[assign, labels], axis=0)[:, 0], minlength=k)
        return polsby, pieces == 1

    def _outlines(self, assign: np.ndarray) -> dict[str, Any]:
        """The borders between units of different territories, as one GeoJSON feature."""
        between = np.flatnonzero(assign[self._first] != assign[self._second])
        lines = [line for i in between for line in self._borders[i]]
        if not lines:
            return {"type": "FeatureCollection", "features": []}
        geometry = {"type": "MultiLineString", "coordinates": lines}
        feature = {"type": "Feature", "geometry": geometry, "properties": {}}
        return {"type": "FeatureCollection", "features": [feature]}

    def evaluate(
        self, assignment: Mapping[str, int], *, criteria: Sequence[str], k: int | None = None
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The territories' figures of ``assignment`` (the columns of
        :attr:`gcrm.territories.DesignResult.territories`: ``territory``, ``units``, each
        criterion's total and ``<criterion>_deviation``, ``polsby_popper``, ``moment_of_inertia``,
        ``contiguous``) and the borders between territories as a GeoJSON FeatureCollection.

        ``k`` is the number of territories [default: the largest territory number given]:
        a plan's k keeps a territory that moves emptied (zero units, not contiguous) in the
        mean.

        Raises
        ------
        ValidationError
            When a unit has no territory or a criterion is not a column of the units.
        """
        unknown = [c for c in criteria if c not in self.units.columns]
        if unknown:
            msg = (
                f"criterion {unknown[0]!r} is not read for these units; "
                f"use one of {list(self.units.columns)}"
            )
            raise ValidationError(msg)
        assign = self.positions(assignment)
        k = max(int(assign.max()) + 1 if len(assign) else 0, k or 0)
        raw = self.units[list(criteria)].to_numpy(dtype=float)
        totals = np.zeros((k, raw.shape[1]))
        np.add.at(totals, assign, raw)
        with np.errstate(divide="ignore", invalid="ignore"):
            deviation = totals / (raw.sum(axis=0) / k) - 1.0
        polsby, contiguous = self._shapes(assign, k)
        table = pd.DataFrame(
            {"territory": np.arange(1, k + 1), "units": np.bincount(assign, minlength=k)}
        )
        for i, name in enumerate(criteria):
            table[name] = totals[:, i]
            table[f"{name}_deviation"] = deviation[:, i]
        table["polsby_popper"] = polsby
        table["moment_of_inertia"] = self._inertia(assign, k)
        table["contiguous"] = contiguous
        return table, self._outlines(assign)

    def result(
        self,
        assignment: Mapping[str, int],
        *,
        balance: Mapping[str, float],
        k: int | None = None,
    ) -> DesignResult:
        """:meth:`evaluate` as a :class:`~gcrm.territories.DesignResult` (the units with
        their territory, the largest deviation per criterion), for exports and the API."""
        started = time.perf_counter()
        names = list(balance)
        table, _ = self.evaluate(assignment, criteria=names, k=k)
        assign = self.positions(assignment)
        out = self.units.copy()
        out["territory"] = assign + 1
        largest = {n: float(table[f"{n}_deviation"].abs().max()) for n in names}
        return DesignResult(
            assignment=pd.Series(assign + 1, index=pd.Index(self.codes), name="territory"),
            territories=table,
            units=gpd.GeoDataFrame(out, geometry="geometry", crs=self.units.crs),
            balance=dict(balance),
            start_max_deviation=largest,
            max_deviation=largest,
            islands=list(self.islands),
            seconds=time.perf_counter() - started,
        )


def evaluate_assignment(
    units: gpd.GeoDataFrame,
    assignment: Mapping[str, int],
    *,
    balance: Mapping[str, float],
    adjacency: str = "queen",
    k: int | None = None,
) -> DesignResult:
    """The figures of a given assignment of ``units`` (an edited, stored or imported plan).

    Builds the units' adjacency for this one answer; callers that answer many (the API, the
    dashboard) keep a :class:`LevelUnits` and call its :meth:`LevelUnits.result`.

    Parameters
    ----------
    units
        As :func:`gcrm.territories.read_design_units` returns.
    assignment
        Unit code -> territory (1..k); every unit must have one.
    balance
        The criteria whose totals and deviations are reported (the weights are kept as given).
    adjacency
        ``"queen"`` or ``"rook"``: which units touch, for contiguity.
    k
        The number of territories [default: the largest territory number given].

    Returns
    -------
    DesignResult
        With ``moves`` 0 and the start's deviations equal to the plan's.

    Raises
    ------
    ValidationError
        When a unit has no territory, a code is not a unit, or a territory is not 1 or more.
    """
    return LevelUnits(units, adjacency=adjacency).result(assignment, balance=balance, k=k)
