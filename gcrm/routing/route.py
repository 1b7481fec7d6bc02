"""The day's visit route: the order of up to :data:`MAX_STOPS` stops on the road graph.

A rep starts from a branch, an address or home at ``start_time``, visits each stop for
``service_minutes`` (optionally inside its time window) and is back within ``day_hours``.
The order comes from VROOM (:mod:`vroom`, the ``pyvroom`` package: a vehicle-routing solver
with time windows, in C++) over a matrix of drive times on gcrm's road graph.

The drive-time matrix
---------------------
Stops join the network at their nearest node with the same access legs as
:func:`gcrm.routing.drive_times_to_branches`. The road time between two stops is a Dijkstra
search on :attr:`RoadGraph.matrix`; a full search from each of 200 stops on the benchmark grid
(100,000 nodes) takes ~3.5 s, more than the whole plan may. But a good visit order only
joins stops that are near each other, so each stop's search is bounded (``limit=``) to reach
about its :data:`MATRIX_NEIGHBOURS` nearest stops (the straight-line distance to the k-th
nearest, converted to seconds by the slowest 10 % of seconds-per-metre seen from the start,
whose search is complete). Every time inside a bound is exact; the others are the shortest
chain of exact times through other stops (Floyd-Warshall on the stops: an upper bound, 0.4 %
above the road time in the median on the benchmark). The solver sees these times rounded up,
and every leg of the chosen order is then searched again exactly, with its path, so the
reported times and the schedule are road times; being no longer than what the solver
planned with, they keep every time window and the day's end.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time as clock_time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import vroom
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine

from gcrm.core import STORAGE_CRS, NotFoundError, ValidationError
from gcrm.routing.drive import ACCESS_SPEED_KMH, read_branch_points
from gcrm.routing.graph import RoadGraph
from gcrm.routing.graph_store import read_road_graph

__all__ = [
    "DEFAULT_SERVICE_MINUTES",
    "MAX_ACCESS_M",
    "MAX_STOPS",
    "MATRIX_NEIGHBOURS",
    "RoutePlan",
    "plan_route",
    "route_geojson",
    "route_gpx",
    "route_matrix",
    "route_table",
]

#: Most stops one plan takes (the solver and the matrix stay within seconds up to here).
MAX_STOPS = 200
#: Minutes spent at a stop unless the stops say otherwise (column ``service_minutes``).
DEFAULT_SERVICE_MINUTES = 15.0
#: A stop farther than this from the nearest road node is not on the imported roads.
MAX_ACCESS_M = 2_000.0
#: Each stop's search is bounded to reach about this many of its nearest stops.
MATRIX_NEIGHBOURS = 30
#: Optional columns of the stops: a time window (``HH:MM``) and the minutes spent there.
WINDOW_COLUMNS = ("window_start", "window_end")
SERVICE_COLUMN = "service_minutes"
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class RoutePlan:
    """A day's route: the stops in visit order, those left out and why, the path, totals.

    Attributes
    ----------
    stops
        The served stops in visit order, with the input's columns and ``stop`` (1..n),
        ``arrival`` and ``departure`` (``HH:MM``), ``wait_s`` (early for a time window),
        ``drive_time_s`` and ``distance_m`` (the leg that leads there).
    unserved
        The stops not visited, with the input's columns and ``reason``.
    legs
        One row per leg (EPSG:4326): ``leg``, ``from_stop``, ``to_stop`` (0: the start),
        ``drive_time_s``, ``distance_m`` and the road path as a LineString.
    start
        ``(lon, lat)`` of the start (and end, when the route returns).
    start_label
        The start for people: an address, a branch code, ``"lon, lat"``.
    start_time, end_time
        When the route leaves the start and when it ends (back at the start, or leaving
        the last stop), ``HH:MM``.
    day_hours
        The length of the day the route had to fit in.
    returns
        Whether the last leg goes back to the start.
    """

    stops: pd.DataFrame
    unserved: pd.DataFrame
    legs: gpd.GeoDataFrame
    start: tuple[float, float]
    start_label: str
    start_time: str
    end_time: str
    day_hours: float
    returns: bool

    @property
    def total_drive_time_s(self) -> float:
        return float(self.legs["drive_time_s"].sum())

    @property
    def total_distance_m(self) -> float:
        return float(self.legs["distance_m"].sum())

    @property
    def path(self) -> shapely.MultiLineString:
        """The whole route along the roads, one part per leg (EPSG:4326)."""
        return shapely.MultiLineString(list(self.legs.geometry))

    def totals(self) -> dict[str, Any]:
        """The route's figures: stops served and not, drive time and distance, start and end."""
        return {
            "stops": len(self.stops),
            "unserved": len(self.unserved),
            "drive_time_s": round(self.total_drive_time_s, 1),
            "distance_m": round(self.total_distance_m, 1),
            "wait_s": round(float(self.stops["wait_s"].sum()), 1) if len(self.stops) else 0.0,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "day_hours": self.day_hours,
            "returns": self.returns,
        }


def plan_route(
    engine: Engine | Connection,
    stops: pd.DataFrame,
    *,
    start: tuple[float, float] | str,
    start_time: str | clock_time = "08:00",
    day_hours: float = 8.0,
    service_minutes: float = DEFAULT_SERVICE_MINUTES,
    returns: bool = True,
    start_label: str | None = None,
    graph: RoadGraph | None = None,
) -> RoutePlan:
    """Plan the day's visit order of ``stops`` from ``start`` on the road graph.

    Parameters
    ----------
    engine
        The gcrm database, or a connection to it (the road graph, the branches).
    stops
        At most :data:`MAX_STOPS` rows with ``lon`` and ``lat`` (EPSG:4326; a row without
        them is left out with its reason). Optional columns: ``window_start`` and
        ``window_end`` (``HH:MM``, either may be blank: when the visit may begin) and
        ``service_minutes`` (that stop's own visit length). Other columns are kept.
    start
        ``(lon, lat)``, or a branch code of ``gcrm.branches``.
    start_time
        When the day starts, ``HH:MM``.
    day_hours
        The day's length: the route ends (back at the start) within it.
    service_minutes
        Minutes at each stop without a ``service_minutes`` of its own.
    returns
        End the route back at the start (the rep's day ends at the branch or home).
    start_label
        How to name the start in exports [default: the branch code or ``"lon, lat"``].
    graph
        A road graph already read [default: :func:`gcrm.routing.read_road_graph`].

    Returns
    -------
    RoutePlan

    Raises
    ------
    ValidationError
        When ``stops`` has no ``lon``/``lat``, more than :data:`MAX_STOPS` rows, a time that
        is not ``HH:MM``; when the options are out of range; when the start is off the roads.
    NotFoundError
        When the branch code does not exist, or there is no road graph.
    """
    table = _check_stops(stops)
    start_s = _clock_seconds(start_time, name="start_time")
    day_s = _check_day(day_hours, start_s)
    service_s = _service_seconds(table, service_minutes)
    window = _windows(table, start_s)
    with _connected(engine) as conn:
        lonlat, label = _resolve_start(conn, start)
        graph = graph if graph is not None else read_road_graph(conn, store=False)
    points = table[["lon", "lat"]].to_numpy(dtype=float)
    reasons = _placement_reasons(graph, points)
    start_node, start_m = graph.snap(np.asarray([lonlat]))
    if start_m[0] > MAX_ACCESS_M:
        msg = (
            f"start={lonlat!r} is {start_m[0] / 1000:.1f} km from the nearest road; "
            "give a start inside the imported roads (gcrm import roads)"
        )
        raise ValidationError(msg)
    served = np.flatnonzero(reasons.isna().to_numpy())
    locations = np.vstack([[lonlat], points[served]])
    seconds, _ = route_matrix(graph, locations)
    order, left = _solve(
        seconds,
        service_s=service_s[served],
        window=window[served],
        day_s=day_s,
        returns=returns,
    )
    for j in left:
        reasons.iloc[served[j - 1]] = _why_unserved(
            seconds, j, service_s[served[j - 1]], window[served[j - 1]], day_s, returns, start_s
        )
    legs = _legs(graph, locations, [0, *order, *([0] if returns and order else [])], seconds)
    return _assemble(
        table,
        served=served,
        order=order,
        legs=legs,
        reasons=reasons,
        service_s=service_s,
        window=window,
        start=(float(lonlat[0]), float(lonlat[1])),
        label=start_label or label,
        start_s=start_s,
        day_hours=float(day_hours),
        returns=returns,
    )


# Input checks.


@contextmanager
def _connected(db: Engine | Connection) -> Iterator[Connection]:
    if isinstance(db, Connection):
        yield db
    else:
        with db.connect() as conn:
            yield conn


def _check_stops(stops: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(stops, pd.DataFrame):
        msg = f"stops is a {type(stops).__name__}; pass a DataFrame with lon and lat columns"
        raise ValidationError(msg)
    missing = [c for c in ("lon", "lat") if c not in stops.columns]
    if missing:
        msg = (
            f"stops has no {' or '.join(missing)} column (columns: {list(stops.columns)}); "
            "give each stop lon and lat (EPSG:4326), or geocode addresses first"
        )
        raise ValidationError(msg)
    if len(stops) == 0:
        msg = "stops is empty; pass at least one stop to visit"
        raise ValidationError(msg)
    if len(stops) > MAX_STOPS:
        msg = (
            f"stops has {len(stops)} rows; a route takes at most {MAX_STOPS} stops: "
            "split the list by area or by day"
        )
        raise ValidationError(msg)
    table = pd.DataFrame(stops).reset_index(drop=True)
    if "geometry" in table.columns:
        table = table.drop(columns="geometry")
    for col in ("lon", "lat"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    return table


def _clock_seconds(value: object, *, name: str) -> float:
    """Seconds after midnight of ``HH:MM`` (or ``HH:MM:SS``, a :class:`datetime.time`)."""
    if isinstance(value, clock_time):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second
    match = _CLOCK.match(str(value))
    if match is None or int(match[1]) > 24 or int(match[2]) > 59:
        msg = f"{name}={value!r} is not a time of day; write it as HH:MM, e.g. 08:00"
        raise ValidationError(msg)
    return int(match[1]) * 3600.0 + int(match[2]) * 60.0 + int(match[3] or 0)


def _check_day(day_hours: float, start_s: float) -> int:
    if not np.isfinite(day_hours) or not 0 < day_hours <= 24:
        msg = f"day_hours={day_hours!r} must be more than 0 and at most 24, e.g. 8"
        raise ValidationError(msg)
    if start_s + day_hours * 3600 > 24 * 3600:
        msg = (
            f"start_time + day_hours ends after midnight ({day_hours:g} h from "
            f"{_format_clock(start_s)}); start earlier or shorten day_hours"
        )
        raise ValidationError(msg)
    return int(day_hours * 3600)


def _service_seconds(table: pd.DataFrame, service_minutes: float) -> np.ndarray:
    if not np.isfinite(service_minutes) or service_minutes < 0:
        msg = f"service_minutes={service_minutes!r} must be 0 or more, e.g. 15"
        raise ValidationError(msg)
    minutes = np.full(len(table), float(service_minutes))
    if SERVICE_COLUMN in table.columns:
        own = pd.to_numeric(table[SERVICE_COLUMN], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(own < 0)
        if len(bad):
            msg = (
                f"{SERVICE_COLUMN} of stop row {bad[0] + 1} is {own[bad[0]]!r}; "
                "give 0 or more minutes, or leave it blank for the default"
            )
            raise ValidationError(msg)
        minutes = np.where(np.isfinite(own), own, minutes)
    return np.round(minutes * 60)


def _windows(table: pd.DataFrame, start_s: float) -> np.ndarray:
    """``(n, 2)`` window bounds in seconds after the start (NaN: open on that side)."""
    out = np.full((len(table), 2), np.nan)
    for k, col in enumerate(WINDOW_COLUMNS):
        if col not in table.columns:
            continue
        # A few hundred cells at most: parsing each names the row that is wrong.
        for i, value in enumerate(table[col].tolist()):
            if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
                continue
            where = f"{col} of stop row {i + 1}"
            out[i, k] = _clock_seconds(value, name=where) - start_s
    bad = np.flatnonzero(out[:, 0] > out[:, 1])
    if len(bad):
        i = bad[0]
        msg = (
            f"stop row {i + 1}: window_start {_format_clock(out[i, 0] + start_s)} is after "
            f"window_end {_format_clock(out[i, 1] + start_s)}; swap them or clear one"
        )
        raise ValidationError(msg)
    return out


def _resolve_start(conn: Any, start: tuple[float, float] | str) -> tuple[np.ndarray, str]:
    if isinstance(start, str):
        branches = read_branch_points(conn)
        hit = branches[branches["code"] == start]
        if hit.empty:
            known = ", ".join(branches["code"].head(10))
            msg = f"start={start!r} is not a branch code; known branches: {known}"
            raise NotFoundError(msg)
        row = hit.iloc[0]
        return np.array([row["lon"], row["lat"]], dtype=float), f"{start} {row['name']}"
    lonlat = np.asarray(start, dtype=float).reshape(-1)
    if lonlat.shape != (2,) or not np.isfinite(lonlat).all() or abs(lonlat[1]) > 90:
        msg = f"start={start!r} is not a (lon, lat) pair in degrees or a branch code"
        raise ValidationError(msg)
    return lonlat, f"{lonlat[1]:.5f}, {lonlat[0]:.5f}"


def _placement_reasons(graph: RoadGraph, points: np.ndarray) -> pd.Series:
    """Why a stop cannot be routed at all (NaN where it can): no location, off the roads."""
    reasons = pd.Series(np.nan, index=range(len(points)), dtype=object)
    located = np.isfinite(points).all(axis=1)
    reasons[~located] = "no location: lon/lat missing (address not geocoded?)"
    if located.any():
        _, distance_m = graph.snap(points[located])
        far = np.flatnonzero(located)[distance_m > MAX_ACCESS_M]
        for i, d in zip(far, distance_m[distance_m > MAX_ACCESS_M], strict=True):
            reasons[i] = f"{d / 1000:.1f} km from the nearest road: outside the imported roads"
    return reasons


# The matrix.


def route_matrix(
    graph: RoadGraph, lonlat: np.ndarray, *, neighbours: int = MATRIX_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Drive seconds between every pair of locations (access legs included).

    Parameters
    ----------
    graph
        The road graph.
    lonlat
        ``(n, 2)`` longitude, latitude; the first is the start, whose search is complete.
    neighbours
        Bound each search to reach about this many nearest locations (see the module).

    Returns
    -------
    seconds : numpy.ndarray
        ``(n, n)``: exact road time where ``exact`` is true, else an upper bound (the
        shortest chain of exact times through other locations).
    exact : numpy.ndarray
        ``(n, n)`` booleans.
    """
    nodes, access_m = graph.snap(lonlat)
    access_s = access_m / (ACCESS_SPEED_KMH / 3.6)
    road = _road_matrix(graph, nodes, neighbours=neighbours)
    exact = np.isfinite(road)
    road = _through_stops(road)
    missing = np.flatnonzero(~np.isfinite(road).all(axis=1))
    for i in missing:  # only stops the bounded searches did not join up: rare
        road[i] = dijkstra(graph.matrix, indices=int(nodes[i]))[nodes]
        exact[i] = True
    if len(missing):
        road = _through_stops(road)
    seconds = access_s[:, None] + road + access_s[None, :]
    np.fill_diagonal(seconds, 0.0)
    np.fill_diagonal(exact, True)
    return seconds, exact


def _road_matrix(graph: RoadGraph, nodes: np.ndarray, *, neighbours: int) -> np.ndarray:
    """Node-to-node seconds; inf beyond each row's search bound."""
    n = len(nodes)
    first = dijkstra(graph.matrix, indices=int(nodes[0]))
    out = np.full((n, n), np.inf)
    out[0] = first[nodes]
    if n - 1 <= neighbours:
        limits = np.full(n, np.inf)
    else:
        xy = graph.node_xy[nodes]
        metres = np.hypot(*(xy - xy[0]).T)
        far = (metres > 1.0) & np.isfinite(out[0])
        # Seconds per straight-line metre from the start: its slow tail sizes the bounds.
        pace = float(np.quantile(out[0][far] / metres[far], 0.9)) if far.sum() > 2 else np.inf
        kth_m, _ = cKDTree(xy).query(xy, k=neighbours + 1)
        limits = kth_m[:, -1] * pace
    reverse = graph.reversed
    # One bounded search per stop (<= 200): scipy takes one limit per call.
    for i in range(1, n):
        out[i] = dijkstra(graph.matrix, indices=int(nodes[i]), limit=limits[i])[nodes]
    # A stop no bounded search reached gets its column from a search to it.
    for j in np.flatnonzero(np.isfinite(out).sum(axis=0) <= 1):
        col = dijkstra(reverse, indices=int(nodes[j]), limit=limits[j])[nodes]
        out[:, j] = np.minimum(out[:, j], col)
    return out


def _through_stops(road: np.ndarray) -> np.ndarray:
    """Floyd-Warshall on the stops: each time at most the best chain through other stops."""
    out = road.copy()
    for k in range(len(out)):  # n <= 201 vectorised steps
        np.minimum(out, out[:, k : k + 1] + out[k : k + 1, :], out=out)
    return out


# The solver.


def _exploration_level(n: int) -> int:
    # Measured on 100- and 200-stop matrices: level 5 stays under a second to ~50 stops,
    # level 3 to ~100; above that level 0 keeps the solve under ~2 s on two cores.
    if n <= 50:
        return 5
    if n <= 100:
        return 3
    return 0


def _solve(
    seconds: np.ndarray,
    *,
    service_s: np.ndarray,
    window: np.ndarray,
    day_s: int,
    returns: bool,
) -> tuple[list[int], list[int]]:
    """Visit order (location indices 1..n) and the locations left out, from VROOM."""
    n = len(seconds)
    # Rounded up: the solver's times are never shorter than the exact legs reported later.
    matrix = np.ceil(np.minimum(seconds, 2**31)).astype(np.uint32)
    if not np.isfinite(window).any():
        # Without time windows the day is often long enough: VROOM's plain travelling
        # salesman search is several times faster than with the day as a time window.
        order = _vroom_order(matrix, service_s, window, day_s=None, returns=returns)
        legs = matrix[[0, *order], [*order, 0]] if returns else matrix[[0, *order[:-1]], order]
        if int(legs.sum() + service_s.sum()) <= day_s:
            return order, []
    order = _vroom_order(matrix, service_s, window, day_s=day_s, returns=returns)
    return order, sorted(set(range(1, n)) - set(order))


def _vroom_order(
    matrix: np.ndarray,
    service_s: np.ndarray,
    window: np.ndarray,
    *,
    day_s: int | None,
    returns: bool,
) -> list[int]:
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    vehicle: dict[str, Any] = {"id": 0, "start": 0, "end": 0 if returns else None}
    if day_s is not None:
        vehicle["time_window"] = vroom.TimeWindow(0, day_s)
    problem.add_vehicle(vroom.Vehicle(**vehicle))
    limit = float(day_s if day_s is not None else 24 * 3600)
    jobs = []
    for j in range(1, len(matrix)):  # one job per stop
        lo, hi = window[j - 1]
        options: dict[str, Any] = {}
        if np.isfinite(lo) or np.isfinite(hi):
            begin = int(max(0.0, lo if np.isfinite(lo) else 0.0))
            end = int(min(limit, hi if np.isfinite(hi) else limit))
            if end < begin:
                continue  # the window is outside the day: left out with its reason
            options["time_windows"] = [vroom.TimeWindow(begin, end)]
        jobs.append(vroom.Job(id=j, location=j, default_service=int(service_s[j - 1]), **options))
    if not jobs:
        return []
    problem.add_job(jobs)
    solution = problem.solve(
        exploration_level=_exploration_level(len(jobs)), nb_threads=min(2, os.cpu_count() or 1)
    )
    routes = solution.routes
    return [int(x) for x in routes.loc[routes["type"] == "job", "location_index"]]


def _why_unserved(
    seconds: np.ndarray,
    j: int,
    service_s: float,
    window: np.ndarray,
    day_s: int,
    returns: bool,
    start_s: float,
) -> str:
    lo, hi = window
    arrive = seconds[0, j]
    begin = max(arrive, lo if np.isfinite(lo) else 0.0)
    if (np.isfinite(hi) and begin > hi) or (np.isfinite(lo) and lo > day_s):
        return (
            f"its time window cannot be met: the earliest arrival is "
            f"{_format_clock(start_s + arrive)}"
        )
    if begin + service_s + (seconds[j, 0] if returns else 0.0) > day_s:
        return f"does not fit in the day ({day_s / 3600:g} h) even as the only stop"
    return f"no room left in the day ({day_s / 3600:g} h) after the stops planned"


# Legs, paths and the schedule.


def _legs(
    graph: RoadGraph, locations: np.ndarray, sequence: list[int], seconds: np.ndarray
) -> gpd.GeoDataFrame:
    """Each leg of ``sequence`` searched again exactly, with its path along the roads."""
    nodes, access_m = graph.snap(locations)
    access_s = access_m / (ACCESS_SPEED_KMH / 3.6)
    rows = []
    # One search per leg (<= 201), bounded by the leg's time in ``seconds`` (never shorter
    # than the road's), so each goes only as far as the leg itself.
    for a, b in zip(sequence[:-1], sequence[1:], strict=True):
        if a == b:
            continue
        limit = seconds[a, b] - access_s[a] - access_s[b] + 1.0
        dist, pred = dijkstra(
            graph.matrix, indices=int(nodes[a]), return_predecessors=True, limit=limit
        )
        path = _walk(pred, int(nodes[b]))
        xy = np.vstack(
            [
                graph.to_metric(locations[a : a + 1]),
                graph.node_xy[path],
                graph.to_metric(locations[b : b + 1]),
            ]
        )
        rows.append(
            {
                "from_stop": a,
                "to_stop": b,
                "drive_time_s": float(access_s[a] + dist[nodes[b]] + access_s[b]),
                "distance_m": float(np.hypot(*np.diff(xy, axis=0).T).sum()),
                "geometry": shapely.linestrings(graph.to_storage(xy)),
            }
        )
    columns = ["from_stop", "to_stop", "drive_time_s", "distance_m", "geometry"]
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry="geometry", crs=STORAGE_CRS
    )
    frame.insert(0, "leg", np.arange(1, len(frame) + 1))
    return frame


def _walk(pred: np.ndarray, target: int) -> np.ndarray:
    """Nodes from the search's source to ``target`` along the predecessors."""
    path = [target]
    # A path of a few hundred nodes; scipy gives predecessors, not paths.
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.asarray(path[::-1], dtype=np.int64)


def _format_clock(seconds: float) -> str:
    minutes = int(np.floor(seconds / 60 + 1e-9))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _assemble(
    table: pd.DataFrame,
    *,
    served: np.ndarray,
    order: list[int],
    legs: gpd.GeoDataFrame,
    reasons: pd.Series,
    service_s: np.ndarray,
    window: np.ndarray,
    start: tuple[float, float],
    label: str,
    start_s: float,
    day_hours: float,
    returns: bool,
) -> RoutePlan:
    """The schedule on the exact legs: arrive, wait for the window, serve, drive on."""
    rows = served[np.asarray(order, dtype=np.int64) - 1] if order else np.empty(0, np.int64)
    t = 0.0
    arrival, wait, departure = [], [], []
    for k, row in enumerate(rows):  # the schedule is sequential by nature
        t += float(legs["drive_time_s"].iloc[k])
        lo = window[row, 0]
        begin = max(t, lo) if np.isfinite(lo) else t
        arrival.append(t)
        wait.append(begin - t)
        t = begin + float(service_s[row])
        departure.append(t)
    if returns and len(legs) > len(rows):
        t += float(legs["drive_time_s"].iloc[-1])
    stops = table.iloc[rows].reset_index(drop=True)
    stops.insert(0, "stop", np.arange(1, len(rows) + 1))
    stops["arrival"] = [_format_clock(start_s + s) for s in arrival]
    stops["wait_s"] = np.round(wait, 1)
    stops["departure"] = [_format_clock(start_s + s) for s in departure]
    stops["drive_time_s"] = legs["drive_time_s"].to_numpy()[: len(rows)].round(1)
    stops["distance_m"] = legs["distance_m"].to_numpy()[: len(rows)].round(1)
    unserved = table[reasons.notna().to_numpy()].copy()
    unserved["reason"] = reasons[reasons.notna()].to_numpy()
    return RoutePlan(
        stops=stops,
        unserved=unserved.reset_index(drop=True),
        legs=legs,
        start=start,
        start_label=label,
        start_time=_format_clock(start_s),
        end_time=_format_clock(start_s + t),
        day_hours=day_hours,
        returns=returns,
    )


# What the plan is written as.


def _stop_label(row: pd.Series) -> str:
    for col in ("name", "id", "external_id", "customer_id", "lead_id", "address"):
        if col in row.index and pd.notna(row[col]) and str(row[col]).strip():
            return str(row[col])
    return f"Stop {row['stop']}"


def route_table(plan: RoutePlan) -> pd.DataFrame:
    """The stops in visit order, then the stops left out (``stop`` empty, with ``reason``)."""
    served = plan.stops.assign(reason="")
    return pd.concat([served, plan.unserved], ignore_index=True)


def route_geojson(plan: RoutePlan) -> dict[str, Any]:
    """The route as GeoJSON: the start, each stop (in order) and each leg along the roads."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(plan.start)},
            "properties": {"kind": "start", "stop": 0, "label": plan.start_label},
        }
    ]
    for _, row in plan.stops.iterrows():
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": {
                    "kind": "stop",
                    "stop": int(row["stop"]),
                    "label": _stop_label(row),
                    "arrival": row["arrival"],
                    "departure": row["departure"],
                    "drive_time_s": float(row["drive_time_s"]),
                },
            }
        )
    for _, leg in plan.legs.iterrows():
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(leg.geometry),
                "properties": {
                    "kind": "leg",
                    "leg": int(leg["leg"]),
                    "from_stop": int(leg["from_stop"]),
                    "to_stop": int(leg["to_stop"]),
                    "drive_time_s": round(float(leg["drive_time_s"]), 1),
                    "distance_m": round(float(leg["distance_m"]), 1),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def route_gpx(plan: RoutePlan) -> str:
    """GPX 1.1 for sat-navs and phones: waypoints in visit order, the route, and the track."""
    ns = "http://www.topografix.com/GPX/1/1"
    gpx = ET.Element("gpx", {"version": "1.1", "creator": "gcrm", "xmlns": ns})
    metadata = ET.SubElement(gpx, "metadata")
    ET.SubElement(metadata, "name").text = f"Route from {plan.start_label}"
    points = [(plan.start, f"Start: {plan.start_label}", f"leave {plan.start_time}")]
    for _, row in plan.stops.iterrows():
        points.append(
            (
                (float(row["lon"]), float(row["lat"])),
                f"{int(row['stop'])}. {_stop_label(row)}",
                f"arrive {row['arrival']}, leave {row['departure']}",
            )
        )
    for (lon, lat), name, desc in points:
        wpt = ET.SubElement(gpx, "wpt", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})
        ET.SubElement(wpt, "name").text = name
        ET.SubElement(wpt, "desc").text = desc
    rte = ET.SubElement(gpx, "rte")
    ET.SubElement(rte, "name").text = f"Route from {plan.start_label}"
    for (lon, lat), name, _ in points + ([points[0]] if plan.returns else []):
        rtept = ET.SubElement(rte, "rtept", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})
        ET.SubElement(rtept, "name").text = name
    trk = ET.SubElement(gpx, "trk")
    ET.SubElement(trk, "name").text = f"Route from {plan.start_label} (roads)"
    seg = ET.SubElement(trk, "trkseg")
    for line in plan.legs.geometry:
        for lon, lat in shapely.get_coordinates(line):
            ET.SubElement(seg, "trkpt", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})
    ET.indent(gpx)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode")
