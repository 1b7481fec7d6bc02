"""Drive time to the nearest branch, and drive-time catchments, against named baselines.

Builds a synthetic street grid (default 320 x 320 nodes, 100 m apart, in UTM zone 35N near
Helsinki): every row and column is a street drawn as ways of 32 blocks, so ways meet at
shared interior vertices as OSM ways do; every 8th street is one-way (alternating
direction); speeds 30/40/50/60 km/h, a tenth missing (class default). It is loaded into
gcrm.roads of a throw-away database, with BRANCHES branches and CUSTOMERS customer points.

1. Nearest-branch drive time for every customer, end to end from the same database:
   - first run (what follows a roads import): ``read_road_graph`` builds the graph from
     gcrm.roads (WKB, noding, CSR, KD-tree) and stores it in gcrm.road_nodes/road_edges;
     the build alone is timed too;
   - gcrm: ``read_road_graph`` (the stored graph: packed bytea, CSR, KD-tree) +
     ``drive_times_to_branches`` (snap + one multi-source scipy Dijkstra) + assigning each
     customer its branch code;
   - networkx: the same stored tables read the way a networkx user would
     (``pandas.read_sql``), ``nx.from_pandas_edgelist`` into an ``nx.DiGraph`` (edges
     reversed: the search runs from the branches), a KD-tree over the same snapping nodes,
     one virtual node per branch with the same access cost, then ``nx.multi_source_dijkstra``
     (distances and paths; the path's first node is the branch) and dict look-ups to assign.
     ``multi_source_dijkstra_path_length`` (distances only, no branch) is timed too as
     networkx's lower bound.
   - pgRouting (``--pgrouting``): ``pgr_drivingDistance`` with ``equicost`` from every branch
     on the same edges COPYed to a table (COPY not timed).
   Each figure is the median of REPEAT runs; all engines must agree on every time.
2. A CATCHMENT_MINUTES-minute catchment around one branch: p50/p95 over RUNS calls of
   ``gcrm.routing.catchment`` on a graph already read.

Run: .venv/bin/python benchmarks/drive_time.py [--grid 320] [--customers 100000] [--repeat 3] [--pgrouting]
     .venv/bin/python benchmarks/drive_time.py --on-database URL   (engines on a real gcrm DB)
Targets (issue 4): gcrm >= 5x networkx; catchment p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402

from gcrm.routing import (  # noqa: E402
    ACCESS_SPEED_KMH,
    catchment,
    drive_times_to_branches,
    read_road_graph,
)
from gcrm.routing.drive import _access_seconds, _with_branch_sources  # noqa: E402
from gcrm.routing.graph import RoadGraph  # noqa: E402
from gcrm.store import copy_frame  # noqa: E402

UTM = "EPSG:32635"
ORIGIN = (380_000.0, 6_660_000.0)
BLOCKS_PER_WAY = 32


def grid_roads(n: int, *, spacing_m: float = 100.0, seed: int = 4) -> gpd.GeoDataFrame:
    """Rows and columns of an ``n x n`` grid as ways of BLOCKS_PER_WAY blocks (EPSG:4326)."""
    rng = np.random.default_rng(seed)
    street, piece = np.meshgrid(np.arange(n), np.arange(0, n - 1, BLOCKS_PER_WAY), indexing="ij")
    street, piece = np.tile(street.ravel(), 2), np.tile(piece.ravel(), 2)
    horizontal = np.arange(len(street)) < len(street) // 2
    length = np.minimum(BLOCKS_PER_WAY, n - 1 - piece) + 1
    way = np.repeat(np.arange(len(street)), length)
    along = np.arange(len(way)) - np.repeat(np.cumsum(length) - length, length) + piece[way]
    across = street[way]
    oneway = street % 8 == 3
    # Half the one-way streets run against the drawing direction of the grid.
    flip = (oneway & (street % 16 == 3))[way]
    along = np.where(flip, 2 * piece[way] + length[way] - 1 - along, along)
    x = np.where(horizontal[way], along, across) * spacing_m + ORIGIN[0]
    y = np.where(horizontal[way], across, along) * spacing_m + ORIGIN[1]
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)
    lines = shapely.linestrings(np.column_stack([lon, lat]), indices=way)
    speed = rng.choice([30.0, 40.0, 50.0, 60.0], len(street))
    speed[rng.random(len(street)) < 0.1] = np.nan
    roads = pd.DataFrame(
        {
            "ref": [f"w{i}" for i in range(len(street))],
            "class": np.where(np.isnan(speed), "residential", "secondary"),
            "speed_kmh": speed,
            "name": [f"Street {s}" for s in street],
            "oneway": oneway,
        }
    )
    return gpd.GeoDataFrame(roads, geometry=gpd.GeoSeries(lines, crs="EPSG:4326")).rename_geometry(
        "geom"
    )


def random_points(n: int, *, grid: int, spacing_m: float = 100.0, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, (grid - 1) * spacing_m, (n, 2)) + ORIGIN
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    return np.column_stack([lon, lat])


def load(engine: Engine, roads: gpd.GeoDataFrame, branches: np.ndarray) -> None:
    with engine.begin() as conn:
        copy_frame(conn, "gcrm.roads", roads)
        copy_frame(
            conn,
            "gcrm.branches",
            gpd.GeoDataFrame(
                {"code": [f"B{i:02d}" for i in range(len(branches))], "name": "bench"},
                geometry=gpd.points_from_xy(branches[:, 0], branches[:, 1]),
                crs="EPSG:4326",
            ).rename_geometry("geom"),
        )
        conn.execute(text("ANALYZE gcrm.roads"))


def run_gcrm(conn: Connection, points: np.ndarray, branches: np.ndarray, codes: np.ndarray):
    """gcrm end to end: read the graph (stored, or built and stored), snap, search, assign."""
    graph = read_road_graph(conn)
    seconds, branch = drive_times_to_branches(graph, points, branches)
    assigned = np.where(branch >= 0, codes[np.maximum(branch, 0)], None)
    return graph, seconds, assigned


def search_edges(graph: RoadGraph, branches: np.ndarray):
    """The exact directed edges gcrm searches: reversed graph + one virtual node per branch."""
    nodes, dist_m = graph.snap(branches)
    m = _with_branch_sources(graph, nodes, _access_seconds(dist_m, ACCESS_SPEED_KMH)).tocoo()
    return m.row, m.col, m.data, graph.n_nodes + np.arange(len(branches))


def build_networkx(conn: Connection):
    """What a networkx user does with the stored graph: read it with pandas, build a DiGraph.

    The edges are read reversed (``source="target"``): the search runs from the branches
    towards the customers, as gcrm's does. The nodes give the same KD-tree gcrm snaps with.
    """
    import networkx as nx

    crs = conn.execute(text("SELECT crs FROM gcrm.road_graph_state")).scalar_one()
    edges = pd.read_sql("SELECT source, target, cost_s FROM gcrm.road_edges", conn)
    nodes = pd.read_sql("SELECT node_id, x_m, y_m FROM gcrm.road_nodes WHERE snap", conn)
    g = nx.from_pandas_edgelist(
        edges, source="target", target="source", edge_attr="cost_s", create_using=nx.DiGraph
    )
    return g, cKDTree(nodes[["x_m", "y_m"]].to_numpy()), nodes["node_id"].to_numpy(), crs


def snap_networkx(tree: cKDTree, node_ids: np.ndarray, crs: str, lonlat: np.ndarray):
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1]
    )
    dist_m, index = tree.query(np.column_stack([x, y]))
    return node_ids[index], dist_m


def search_networkx(built, points, branches, codes, *, paths: bool):
    """Snap + nx.multi_source_dijkstra from one virtual node per branch + assign."""
    import networkx as nx

    g, tree, node_ids, crs = built
    nodes, dist_m = snap_networkx(tree, node_ids, crs, points)
    branch_nodes, branch_m = snap_networkx(tree, node_ids, crs, branches)
    virtual = [-1 - i for i in range(len(branches))]
    g.add_weighted_edges_from(
        zip(
            virtual,
            branch_nodes.tolist(),
            (branch_m / (ACCESS_SPEED_KMH / 3.6)).tolist(),
            strict=True,
        ),
        weight="cost_s",
    )
    if paths:
        dist, path = nx.multi_source_dijkstra(g, set(virtual), weight="cost_s")
        source = {node: p[0] for node, p in path.items()}
    else:
        dist = nx.multi_source_dijkstra_path_length(g, set(virtual), weight="cost_s")
        source = {}
    g.remove_nodes_from(virtual)
    seconds = np.array([dist.get(k, np.nan) for k in nodes.tolist()]) + dist_m / (
        ACCESS_SPEED_KMH / 3.6
    )
    assigned = [codes[-1 - source[k]] if k in source else None for k in nodes.tolist()]
    return seconds, assigned


def run_pgrouting(conn: Connection, graph, points, branches) -> tuple[float, np.ndarray]:
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgrouting"))
    u, v, w, sources = search_edges(graph, branches)
    conn.execute(
        text("CREATE TEMP TABLE _edges (id bigint, source bigint, target bigint, cost float8)")
    )
    copy_frame(
        conn,
        "_edges",
        pd.DataFrame({"id": np.arange(1, len(u) + 1), "source": u + 1, "target": v + 1, "cost": w}),
    )
    with Timer() as t:
        nodes, dist_m = graph.snap(points)
        rows = conn.execute(
            text(
                "SELECT node, agg_cost FROM pgr_drivingDistance("
                "'SELECT id, source, target, cost, -1::float8 AS reverse_cost FROM _edges', "
                ":starts, 1e12, directed => true, equicost => true)"
            ),
            {"starts": (sources + 1).tolist()},
        ).fetchall()
        found = np.full(graph.n_nodes + len(sources) + 1, np.nan)
        arr = np.asarray(rows, dtype=float)
        found[arr[:, 0].astype(np.int64)] = arr[:, 1]
        seconds = found[nodes + 1] + dist_m / (15 / 3.6)
    conn.execute(text("DROP TABLE _edges"))
    return t.seconds, seconds


def _median_time(fn, repeat: int):
    """Median seconds of ``repeat`` calls of ``fn()``, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        with Timer() as t:
            result = fn()
        times.append(t.seconds)
    return float(np.median(times)), result


def first_run(engine: Engine, points, branches, codes) -> None:
    """The run after a roads import: build the graph from gcrm.roads and store it."""
    with engine.connect() as conn, Timer() as t_build:
        read_road_graph(conn, store=False)
    with engine.begin() as conn, Timer() as t_first:
        conn.execute(text("DELETE FROM gcrm.road_graph_state"))  # as after a roads import
        graph, _, _ = run_gcrm(conn, points, branches, codes)
    print_row(f"graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} directed edges", "")
    print_row(
        "gcrm first run: build graph (WKB, noding, CSR, KD-tree)", f"{t_build.seconds:8.3f} s"
    )
    print_row(
        "gcrm first run: build + store (COPY) + snap + search + assign", f"{t_first.seconds:8.3f} s"
    )


def compare_engines(
    engine: Engine,
    points: np.ndarray,
    branches: np.ndarray,
    codes: np.ndarray,
    *,
    pgrouting: bool,
    repeat: int,
) -> None:
    first_run(engine, points, branches, codes)
    with engine.connect() as conn:
        t_gcrm, (graph, seconds, assigned) = _median_time(
            lambda: run_gcrm(conn, points, branches, codes), repeat
        )
        t_read, _ = _median_time(lambda: read_road_graph(conn), repeat)
        t_search, _ = _median_time(lambda: drive_times_to_branches(graph, points, branches), repeat)
        t_build_nx, built = _median_time(lambda: build_networkx(conn), repeat)
    t_paths, (nx_seconds, nx_assigned) = _median_time(
        lambda: search_networkx(built, points, branches, codes, paths=True), repeat
    )
    t_len, (nx_len_seconds, _) = _median_time(
        lambda: search_networkx(built, points, branches, codes, paths=False), repeat
    )
    print_row(f"median of {repeat} runs each, stored graph", "")
    print_row("gcrm: read stored graph (packed bytea, CSR, KD-tree)", f"{t_read:8.3f} s")
    print_row("gcrm: snap + multi-source scipy Dijkstra", f"{t_search:8.3f} s")
    print_row("gcrm: whole path (read + snap + search + assign)", f"{t_gcrm:8.3f} s")
    print_row("networkx: pandas.read_sql edges + nodes, DiGraph, KD-tree", f"{t_build_nx:8.3f} s")
    print_row("networkx: snap + multi_source_dijkstra + assign", f"{t_paths:8.3f} s")
    print_row("networkx: snap + multi_source_dijkstra_path_length (no branch)", f"{t_len:8.3f} s")
    nx_paths, nx_len = t_build_nx + t_paths, t_build_nx + t_len
    print_row("networkx whole path: read + build + multi_source_dijkstra", f"{nx_paths:8.3f} s")
    print_row("networkx whole path: read + build + ..._path_length", f"{nx_len:8.3f} s")
    agree = np.allclose(seconds, nx_seconds, equal_nan=True) and np.allclose(
        seconds, nx_len_seconds, equal_nan=True
    )
    same_branch = np.mean(
        np.asarray(assigned, dtype=object) == np.asarray(nx_assigned, dtype=object)
    )
    print_row("networkx agrees on every time / same branch share", f"{agree} / {same_branch:.4f}")
    print_row(
        "ratio networkx multi_source_dijkstra / gcrm, whole path", f"{nx_paths / t_gcrm:8.1f} x"
    )
    print_row("ratio networkx ..._path_length / gcrm, whole path", f"{nx_len / t_gcrm:8.1f} x")
    print_row(
        "ratio networkx / gcrm, snap + search only (paths / length)",
        f"{t_paths / t_search:8.1f} x / {t_len / t_search:4.1f} x",
    )
    if pgrouting:
        with engine.begin() as conn:
            t_pgr, pgr_seconds = run_pgrouting(conn, graph, points, branches)
        print_row("pgRouting pgr_drivingDistance equicost (snap + search)", f"{t_pgr:8.3f} s")
        print_row(
            "pgRouting agrees on every time", str(np.allclose(seconds, pgr_seconds, equal_nan=True))
        )
        print_row("ratio pgRouting / gcrm snap + search", f"{t_pgr / t_search:8.1f} x")


def bench_catchment(engine: Engine, origin: np.ndarray, *, minutes: float, runs: int) -> None:
    with engine.connect() as conn:
        graph = read_road_graph(conn)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        area = catchment(graph, origin_xy=origin, minutes=minutes)
        times.append(time.perf_counter() - start)
    ms = 1000 * np.array(times)
    km2 = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(graph.crs).area.iloc[0] / 1e6
    print_row(
        f"catchment {minutes:g} min around one branch ({km2:,.1f} km2), {runs} runs",
        f"p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms",
    )
    print_row("target", "p95 < 300 ms")


def on_database(url: str, *, pgrouting: bool, repeat: int) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        points = np.asarray(
            conn.execute(
                text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.customers WHERE geom IS NOT NULL")
            ).fetchall(),
            dtype=float,
        )
        br = conn.execute(
            text("SELECT code, ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code")
        ).fetchall()
    codes = np.array([r[0] for r in br], dtype=object)
    branches = np.array([[r[1], r[2]] for r in br], dtype=float)
    print(
        f"drive time engines on {engine.url.database}: {len(points):,} customers, {len(branches)} branches"
    )
    compare_engines(engine, points, branches, codes, pgrouting=pgrouting, repeat=repeat)
    bench_catchment(engine, branches[0], minutes=15, runs=50)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", type=int, default=320)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--catchment-minutes", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (median)")
    parser.add_argument("--pgrouting", action="store_true", help="also time pgRouting")
    parser.add_argument(
        "--on-database", default=None, help="compare engines on this gcrm database instead"
    )
    args = parser.parse_args()
    if args.on_database:
        on_database(args.on_database, pgrouting=args.pgrouting, repeat=args.repeat)
        return

    roads = grid_roads(args.grid)
    points = random_points(args.customers, grid=args.grid)
    branches = random_points(args.branches, grid=args.grid, seed=6)
    codes = np.array([f"B{i:02d}" for i in range(len(branches))], dtype=object)
    print(
        f"drive time: {args.grid}x{args.grid} grid ({len(roads):,} ways), {args.customers:,} customers, {args.branches} branches"
    )
    with bench_database("drive") as (_url, engine):
        with Timer() as t_load:
            load(engine, roads, branches)
        print_row("load roads + branches (COPY)", f"{t_load.seconds:8.2f} s")
        compare_engines(
            engine, points, branches, codes, pgrouting=args.pgrouting, repeat=args.repeat
        )
        print_row("target", ">= 5 x")
        bench_catchment(engine, branches[0], minutes=args.catchment_minutes, runs=args.runs)


if __name__ == "__main__":
    main()
