"""The day's route on a real PostGIS road graph: a 30 x 30 street grid near Helsinki."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection

from gcrm.core import NotFoundError, ValidationError
from gcrm.routing import (
    MAX_STOPS,
    plan_route,
    read_road_graph,
    route_geojson,
    route_gpx,
    route_matrix,
    route_table,
)
from gcrm.store import copy_frame

UTM = "EPSG:32635"
X0, Y0 = 385_000.0, 6_672_000.0
N, SPACING_M = 30, 100.0
TO_LONLAT = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def lonlat(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=float) + (X0, Y0)
    return np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1]))


def grid_frames() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Every row and column of an N x N grid as one street (every 5th one-way); a branch."""
    lines, oneway = [], []
    for k in range(N):
        along = np.arange(N) * SPACING_M
        across = np.full(N, k * SPACING_M)
        lines.append(shapely.LineString(lonlat(np.column_stack([along, across]))))
        lines.append(shapely.LineString(lonlat(np.column_stack([across, along]))))
        oneway += [k % 5 == 2, k % 5 == 2]
    roads = gpd.GeoDataFrame(
        {
            "ref": [f"w{i}" for i in range(len(lines))],
            "class": "residential",
            "speed_kmh": np.where(np.arange(len(lines)) % 3 == 0, 50.0, 30.0),
            "name": "street",
            "oneway": oneway,
        },
        geometry=gpd.GeoSeries(lines, crs="EPSG:4326"),
    ).rename_geometry("geom")
    branch = lonlat(np.array([[1450.0, 1450.0]]))
    branches = gpd.GeoDataFrame(
        {"code": ["B01"], "name": ["Centre"]},
        geometry=gpd.points_from_xy(branch[:, 0], branch[:, 1]),
        crs="EPSG:4326",
    ).rename_geometry("geom")
    return roads, branches


@pytest.fixture
def grid(conn: Connection) -> Connection:
    """The grid's roads and branch in the test's rolled-back transaction."""
    roads, branches = grid_frames()
    copy_frame(conn, "gcrm.roads", roads)
    copy_frame(conn, "gcrm.branches", branches)
    return conn


def random_stops(n: int, *, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ll = lonlat(rng.uniform(0, (N - 1) * SPACING_M, (n, 2)))
    return pd.DataFrame({"name": [f"S{i:03d}" for i in range(n)], "lon": ll[:, 0], "lat": ll[:, 1]})


def seconds(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 3600 + int(m) * 60


def test_route_visits_every_stop_once_in_a_valid_schedule(grid: Connection) -> None:
    stops = random_stops(40)
    plan = plan_route(grid, stops, start="B01", start_time="08:00", service_minutes=5)
    assert plan.unserved.empty
    assert sorted(plan.stops["name"]) == sorted(stops["name"])  # a permutation
    assert plan.stops["stop"].tolist() == list(range(1, 41))
    arrivals = [seconds(a) for a in plan.stops["arrival"]]
    assert arrivals == sorted(arrivals) and arrivals[0] >= seconds("08:00")
    assert len(plan.legs) == 41  # back to the branch
    assert plan.legs["from_stop"].iloc[0] == 0 and plan.legs["to_stop"].iloc[-1] == 0
    # Each leg's time is the road's: equal to a full search between its ends.
    graph = read_road_graph(grid, store=False)
    ends = np.vstack([[plan.start], plan.stops[["lon", "lat"]].to_numpy()])
    full, _ = route_matrix(graph, ends, neighbours=len(ends))
    legs = plan.stops["drive_time_s"].to_numpy()
    np.testing.assert_allclose(legs, full[np.arange(40), np.arange(1, 41)], atol=0.15)
    assert plan.total_drive_time_s == pytest.approx(plan.legs["drive_time_s"].sum())
    assert plan.end_time >= plan.stops["departure"].iloc[-1]


def test_bounded_matrix_is_exact_where_it_says_and_never_short(grid: Connection) -> None:
    graph = read_road_graph(grid, store=False)
    ends = random_stops(60, seed=8)[["lon", "lat"]].to_numpy()
    bounded, exact = route_matrix(graph, ends, neighbours=5)
    full, _ = route_matrix(graph, ends, neighbours=len(ends))
    nodes, _ = graph.snap(ends)
    truth_road = dijkstra(graph.matrix, indices=nodes)[:, nodes]
    assert (~exact).any()  # the bound did leave pairs out
    np.testing.assert_allclose(bounded[exact], full[exact])
    assert (bounded >= full - 1e-6).all()
    np.testing.assert_allclose(np.diag(full), 0)
    assert np.isfinite(truth_road).all()


def test_the_order_beats_nearest_neighbour(grid: Connection) -> None:
    stops = random_stops(60, seed=11)
    plan = plan_route(grid, stops, start="B01", service_minutes=0)
    graph = read_road_graph(grid, store=False)
    ends = np.vstack([[plan.start], stops[["lon", "lat"]].to_numpy()])
    full, _ = route_matrix(graph, ends, neighbours=len(ends))
    at, left, total = 0, set(range(1, len(ends))), 0.0
    while left:
        nxt = min(left, key=lambda j: full[at, j])
        total, at = total + full[at, nxt], nxt
        left.remove(nxt)
    total += full[at, 0]
    assert plan.total_drive_time_s < total


def test_time_windows_are_kept_and_impossible_ones_reported(grid: Connection) -> None:
    stops = random_stops(12, seed=5)
    stops["window_start"] = ["", "", "10:00", "", "", "", "", "", "", "", "", "07:00"]
    stops["window_end"] = ["09:00", "", "10:30", "", "", "", "", "", "", "", "", "07:30"]
    plan = plan_route(grid, stops, start="B01", start_time="08:00", service_minutes=10)
    by_name = plan.stops.set_index("name")
    begin_s00 = seconds(by_name.loc["S000", "arrival"]) + by_name.loc["S000", "wait_s"]
    assert begin_s00 <= seconds("09:00")
    begin_s02 = seconds(by_name.loc["S002", "arrival"]) + by_name.loc["S002", "wait_s"]
    assert seconds("10:00") - 60 <= begin_s02 <= seconds("10:30")
    assert plan.unserved["name"].tolist() == ["S011"]
    assert "time window" in plan.unserved["reason"].iloc[0]
    assert len(route_table(plan)) == 12


def test_short_day_leaves_stops_out_with_a_reason(grid: Connection) -> None:
    stops = random_stops(30, seed=6)
    stops.loc[3, ["lon", "lat"]] = np.nan
    plan = plan_route(grid, stops, start="B01", day_hours=1.0, service_minutes=10)
    assert 0 < len(plan.stops) < 29
    reasons = plan.unserved.set_index("name")["reason"]
    assert "no location" in reasons["S003"]
    assert reasons.drop("S003").str.contains("no room left in the day").all()
    assert seconds(plan.end_time) <= seconds("09:00")


def test_gpx_and_geojson(grid: Connection) -> None:
    plan = plan_route(grid, random_stops(8), start="B01")
    root = ET.fromstring(route_gpx(plan))
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    names = [w.findtext("g:name", namespaces=ns) for w in root.findall("g:wpt", ns)]
    assert names[0].startswith("Start") and names[1].startswith("1. ")
    assert len(root.findall("g:rte/g:rtept", ns)) == 10
    assert len(root.findall("g:trk/g:trkseg/g:trkpt", ns)) > 20
    kinds = [f["properties"]["kind"] for f in route_geojson(plan)["features"]]
    assert kinds.count("stop") == 8 and kinds.count("leg") == 9


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"start_time": "8h"}, "start_time='8h' is not a time of day; write it as HH:MM"),
        ({"day_hours": 0}, "day_hours=0 must be more than 0"),
        ({"start_time": "20:00", "day_hours": 8}, "ends after midnight"),
        ({"service_minutes": -1}, "service_minutes=-1 must be 0 or more"),
        ({"start": (10.0, 95.0)}, "is not a (lon, lat) pair"),
    ],
)
def test_errors_name_argument_value_and_fix(
    grid: Connection, kwargs: dict[str, object], says: str
) -> None:
    options: dict[str, object] = {"start": "B01", **kwargs}
    with pytest.raises(ValidationError, match=re.escape(says)):
        plan_route(grid, random_stops(3), **options)  # type: ignore[arg-type]


def test_stop_list_errors(grid: Connection) -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_STOPS} stops: split the list"):
        plan_route(grid, random_stops(MAX_STOPS + 1), start="B01")
    with pytest.raises(ValidationError, match="no lon column"):
        plan_route(grid, random_stops(3).drop(columns="lon"), start="B01")
    bad = random_stops(3).assign(window_start=["9am", "", ""])
    with pytest.raises(ValidationError, match="window_start of stop row 1='9am'"):
        plan_route(grid, bad, start="B01")
    with pytest.raises(
        NotFoundError, match="start='B99' is not a branch code; known branches: B01"
    ):
        plan_route(grid, random_stops(3), start="B99")
