"""The day's route: VROOM's order against nearest-neighbour order, and the time to plan.

1. Helsinki: 100 leads (a fixed random draw) of a database holding the demo region's roads
   (``--helsinki-url``, default GCRM_DATABASE_URL; build one with `gcrm demo`), from its
   first branch.
2. Synthetic: 200 random stops on the benchmark road grid of benchmarks/drive_time.py
   (320 x 320 nodes, 382,800 directed edges) in a throw-away database, from its centre.

For each: ``plan_route`` end to end on a graph already read (matrix + solve + exact legs and
paths), median of REPEAT runs, and the stored graph's read on its own; the total drive time
of the plan against visiting the same stops in nearest-neighbour order (each next stop the
nearest by road, on the exact full matrix, computed outside the timing), back to the start
in both. No service time, no windows, a 24 h day: only the order differs.

Run: .venv/bin/python benchmarks/route.py [--helsinki-url URL] [--repeat 3]
Targets (issue 12): plan >= 10 % shorter than nearest neighbour; < 5 s for 200 stops.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402
from drive_time import grid_roads, load, random_points  # noqa: E402

from gcrm.core import DEFAULT_DATABASE_URL  # noqa: E402
from gcrm.routing import plan_route, read_road_graph, route_matrix  # noqa: E402


def nearest_neighbour_s(graph, start: tuple[float, float], stops: np.ndarray) -> float:
    """Total drive seconds visiting ``stops`` nearest-first from ``start`` and back."""
    ends = np.vstack([[start], stops])
    full, _ = route_matrix(graph, ends, neighbours=len(ends))
    at, left, total = 0, np.ones(len(ends), dtype=bool), 0.0
    left[0] = False
    while left.any():
        row = np.where(left, full[at], np.inf)
        nxt = int(row.argmin())
        total, at, left[nxt] = total + row[nxt], nxt, False
    return total + full[at, 0]


def compare(
    engine: Engine, name: str, stops: pd.DataFrame, start: tuple[float, float], repeat: int
):
    with engine.connect() as conn:
        with Timer() as t_read:
            graph = read_road_graph(conn, store=False)
        times, plan = [], None
        for _ in range(repeat):
            with Timer() as t:
                plan = plan_route(
                    conn,
                    stops,
                    start=start,
                    service_minutes=0,
                    start_time="00:00",
                    day_hours=24,
                    graph=graph,
                )
            times.append(t.seconds)
    assert plan is not None and plan.unserved.empty, plan.unserved if plan else None
    nn = nearest_neighbour_s(graph, start, stops[["lon", "lat"]].to_numpy())
    ours = plan.total_drive_time_s
    print(
        f"{name}: {len(stops)} stops, graph {graph.n_nodes:,} nodes, {graph.n_edges:,} directed edges"
    )
    print_row("read the stored graph", f"{t_read.seconds:8.3f} s")
    print_row(
        f"plan_route (matrix + VROOM + exact legs), median of {repeat}",
        f"{np.median(times):8.3f} s",
    )
    print_row(
        "drive time: plan / nearest-neighbour order", f"{ours / 60:7.1f} / {nn / 60:7.1f} min"
    )
    print_row("plan shorter than nearest neighbour by", f"{100 * (1 - ours / nn):7.1f} %")


def helsinki(url: str, repeat: int) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        leads = pd.read_sql(
            text(
                "SELECT external_id AS id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gcrm.leads ORDER BY external_id"
            ),
            conn,
        )
        branch = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
        ).one()
    stops = leads.sample(n=min(100, len(leads)), random_state=12).reset_index(drop=True)
    compare(
        engine,
        f"Helsinki ({engine.url.database})",
        stops,
        (float(branch[0]), float(branch[1])),
        repeat,
    )


def synthetic(repeat: int) -> None:
    grid = 320
    points = random_points(200, grid=grid, seed=11)
    start = random_points(1, grid=grid, seed=12)[0]
    with bench_database("route") as (_url, engine):
        load(engine, grid_roads(grid), np.array([start]))
        with engine.begin() as conn:
            read_road_graph(conn)  # build and store, as a roads import is followed
        stops = pd.DataFrame({"id": range(200), "lon": points[:, 0], "lat": points[:, 1]})
        compare(
            engine,
            f"synthetic grid {grid}x{grid}",
            stops,
            (float(start[0]), float(start[1])),
            repeat,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--helsinki-url", default=os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    helsinki(args.helsinki_url, args.repeat)
    synthetic(args.repeat)
    print_row("targets", ">= 10 % shorter; < 5 s for 200 stops")


if __name__ == "__main__":
    main()
