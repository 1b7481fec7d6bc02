"""The cube at a million customers: build from PostGIS, and the slices the dashboard asks for.

World: the service-load benchmark's region (benchmarks/service_load.py: `gcrm demo` of the
Helsinki region with 1,000,000 synthetic customers and their ~15 million synthetic orders,
imported, geocoded and enriched by gcrm; database ``gcrm_bench_load_<customers>``), built
once by that benchmark and reused here; built by this one when missing (about 20 minutes).

What is measured, in one run:

- gcrm: ``gcrm.cube.build_region_cube`` (every area of every level x month x segment:
  customers, active, new, churned, revenue, orders, static and profile measures, sources),
  then saved as Zarr (``save_cube``); and, timed apart, the part of it the baseline does
  (revenue, orders, new and churned customers per area, month and segment, by the build's
  own functions);
- baseline: the same aggregation of orders done the way a pandas user writes it, as pandas'
  docs show it: ``pandas.read_sql`` of the orders joined to their customers (date, amount,
  channel, branch, segment, one column of area code per level), then ``groupby`` per level
  of (code, month, segment), and of each with channel and with branch (the cube's
  ``*_by_channel`` and ``*_by_branch``), with ``sum`` and ``count``; the signups and churns
  likewise from the customers.
  Its revenue and order totals per level are checked against the cube's;
- refresh: ``refresh_region_cube`` when nothing changed, and after 1,000 new orders in the
  last month (in a transaction rolled back afterwards);
- slices: the cube loaded from Zarr, then SLICES random slices as the dashboard and the API
  ask them (``select_measure`` for a random level, period of any grain, segment, measure and
  parent; ``time_series`` of a random area and measure): p50 / p95 / p99 in ms.

Targets (issue 11): build < 60 s and >= 3x the pandas aggregation; any slice p95 < 50 ms.

Run: .venv/bin/python benchmarks/cube_build.py [--customers 1000000] [--slices 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, print_row  # noqa: E402

from gcrm.core import DEFAULT_DATABASE_URL, Settings  # noqa: E402
from gcrm.cube import (  # noqa: E402
    MEASURES,
    build_region_cube,
    cube_levels,
    load_cube,
    periods,
    refresh_region_cube,
    save_cube,
    select_measure,
    time_series,
)
from gcrm.cube.build import customer_measures, order_measures, read_orders  # noqa: E402
from gcrm.store import create_db_engine  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent
TARGET_BUILD_S = 60.0
TARGET_RATIO = 3.0
TARGET_SLICE_P95_MS = 50.0


def world(customers: int) -> tuple[str, Engine]:
    """The service-load world's URL and an engine on it (built first when missing)."""
    server = make_url(os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL))
    url = server.set(database=f"gcrm_bench_load_{customers}").render_as_string(hide_password=False)
    data_dir = ROOT / "data" / "bench_load"
    if not (data_dir / "world.json").exists():
        import json

        from service_load import build_world

        args = argparse.Namespace(customers=customers, leads=customers, addresses=customers)
        (data_dir / "world.json").parent.mkdir(parents=True, exist_ok=True)
        result = build_world(Settings(database_url=url, data_dir=data_dir), args)
        (data_dir / "world.json").write_text(json.dumps(result))
    return url, create_db_engine(url)


def pandas_baseline(engine: Engine, levels: list[str]) -> dict[str, pd.DataFrame]:
    """The orders per level x code x month x segment, and signups and churns, in pandas."""
    codes = ", ".join(f"c.area_codes ->> '{level}' AS \"{level}\"" for level in levels)
    orders = pd.read_sql(
        text(
            f"SELECT o.order_date, o.amount, o.channel, o.branch_code, c.segment, {codes} "
            "FROM gcrm.orders o "
            "JOIN gcrm.customers c ON c.external_id = o.customer_external_id"
        ),
        engine,
    )
    orders["month"] = pd.to_datetime(orders["order_date"]).dt.to_period("M")
    # The cube splits revenue and orders by channel and by branch too, those without one
    # under a name of their own: so does the baseline.
    orders["channel"] = orders["channel"].fillna("unknown")
    orders["branch_code"] = orders["branch_code"].fillna("none")
    customers = pd.read_sql(
        text(f"SELECT c.signup_date, c.churn_date, c.segment, {codes} FROM gcrm.customers c"),
        engine,
    )
    customers["signup_month"] = pd.to_datetime(customers["signup_date"]).dt.to_period("M")
    customers["churn_month"] = pd.to_datetime(customers["churn_date"]).dt.to_period("M")
    out: dict[str, pd.DataFrame] = {}
    for level in levels:
        # A loop over the levels (a handful): one groupby each, as a pandas user writes it.
        out[level] = orders.groupby([level, "month", "segment"])["amount"].agg(["sum", "count"])
        for split in ("channel", "branch_code"):
            out[f"{level}:{split}"] = orders.groupby([level, "month", "segment", split])[
                "amount"
            ].agg(["sum", "count"])
        out[f"{level}:signups"] = customers.groupby([level, "signup_month", "segment"]).size()
        out[f"{level}:churns"] = (
            customers.dropna(subset=["churn_month"])
            .groupby([level, "churn_month", "segment"])
            .size()
        )
    return out


def same_aggregation(conn: Connection, ds: xr.Dataset) -> None:
    """What the baseline computes, the way the build computes it: revenue and orders, new
    and churned customers per area, month and segment (without the build's profiles,
    statistics, leads and precision counts)."""
    grid = {
        "areas": pd.Index(ds["area"].values),
        "months": pd.DatetimeIndex(ds["month"].values),
        "segments": pd.Index(ds["segment"].values),
    }
    rows, _prints = read_orders(conn, None)
    order_measures(rows, **grid)
    customer_measures(conn, **grid)


def refreshes(engine: Engine, ds: xr.Dataset) -> list[tuple[str, float, str]]:
    """``refresh_region_cube`` when nothing changed, and after 1,000 new orders in the last
    month (inserted in a transaction that is rolled back: the world stays as it was)."""
    out = []
    with engine.connect() as conn, Timer() as t:
        _fresh, report = refresh_region_cube(conn, ds)
    out.append(("gcrm: refresh, nothing changed", t.seconds, report.summary()))
    with engine.connect() as conn, conn.begin() as trans:
        conn.execute(
            text(
                "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount) "
                "SELECT 'BENCH-' || c.n, c.external_id, m.last, 10 + c.n % 90 "
                "FROM (SELECT external_id, row_number() OVER () AS n "
                "      FROM gcrm.customer_records LIMIT 1000) c, "
                "     (SELECT max(order_date) AS last FROM gcrm.orders) m"
            )
        )
        with Timer() as t:
            _fresh, report = refresh_region_cube(conn, ds)
        out.append(("gcrm: refresh after 1,000 new orders", t.seconds, report.summary()))
        trans.rollback()
    return out


def check_totals(ds: xr.Dataset, baseline: dict[str, pd.DataFrame], levels: list[str]) -> str:
    """Revenue and order totals per level, cube against pandas."""
    worst = 0.0
    for level in levels:
        idx = np.flatnonzero(ds["level"].values == level)
        cube_revenue = float(ds["revenue"].isel(area=idx).sum())
        cube_orders = int(ds["orders"].isel(area=idx).sum())
        frame = baseline[level]
        if cube_orders != int(frame["count"].sum()):
            return f"{level}: orders {cube_orders:,} in the cube, {int(frame['count'].sum()):,}"
        worst = max(worst, abs(cube_revenue - float(frame["sum"].sum())))
        for split, dim in (("channel", "channel"), ("branch_code", "branch")):
            cube_counts = ds[f"orders_by_{dim}"].isel(area=idx).sum(["area", "month", "segment"])
            pandas_counts = baseline[f"{level}:{split}"]["count"].groupby(level=split).sum()
            ours = {k: int(v) for k, v in cube_counts.to_series().items() if v}
            if ours != {str(k): int(v) for k, v in pandas_counts.items() if v}:
                return f"{level}: orders by {dim} differ between the cube and pandas"
    return f"same orders per level, channel and branch; revenue within {worst:.2f}"


def random_slices(ds: xr.Dataset, n: int, seed: int) -> list[float]:
    """Milliseconds of ``n`` random slices (select_measure and time_series, 3:1)."""
    rng = np.random.default_rng(seed)
    levels = [str(lv["level"]) for lv in cube_levels(ds)]
    grains = periods(ds)
    months = pd.DatetimeIndex(ds["month"].values)
    grains = (
        grains
        + sorted({str(m.year) for m in months})
        + sorted({f"{m.year}-Q{m.quarter}" for m in months})
    )
    segments = [None, *[str(s) for s in ds["segment"].values]]
    measures = [m for m in MEASURES if m in ds or MEASURES[m].kind == "derived"]
    areas = [str(a) for a in ds["area"].values]
    ms = []
    for _ in range(n):
        # A loop over requests: each one timed on its own, as a server answers them.
        measure = str(rng.choice(measures))
        segment = segments[int(rng.integers(len(segments)))]
        start = time.perf_counter()
        if rng.random() < 0.75:
            level = str(rng.choice(levels))
            parents = [None, *{p for p in ds["parent"].values[ds["level"].values == level] if p}]
            select_measure(
                ds,
                measure,
                level=level,
                period=str(rng.choice(grains)),
                segment=segment,
                parent=parents[int(rng.integers(len(parents)))],
            )
        else:
            time_series(ds, measure, area=str(rng.choice(areas)), segment=segment)
        ms.append((time.perf_counter() - start) * 1000)
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000,
                        help="customers of the service-load world (default %(default)s)")  # fmt: skip
    parser.add_argument("--slices", type=int, default=1_000,
                        help="random slices timed (default %(default)s)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=11, help="of the slices (default 11)")
    parser.add_argument("--skip-baseline", action="store_true", help="gcrm's figures only")
    args = parser.parse_args()

    url, engine = world(args.customers)
    with engine.connect() as conn:
        counts = {
            t: int(conn.execute(text(f"SELECT count(*) FROM gcrm.{t}")).scalar_one())
            for t in ("customer_records", "orders", "areas")
        }
    print(f"cube build: database {make_url(url).database}: {counts['customer_records']:,} "
          f"customers, {counts['orders']:,} orders, {counts['areas']:,} areas")  # fmt: skip
    try:
        with Timer() as t_build, engine.connect() as conn:
            ds = build_region_cube(conn)
        with tempfile.TemporaryDirectory() as folder, Timer() as t_save:
            path = save_cube(ds, Path(folder) / "cube.zarr")
            loaded = load_cube(path)
        total = t_build.seconds + t_save.seconds
        print_row(f"gcrm: build_region_cube ({dict(ds.sizes)})", f"{t_build.seconds:.1f} s")
        with Timer() as t_same, engine.connect() as conn:
            same_aggregation(conn, ds)
        print_row(
            "gcrm: the baseline's part of it (orders, signups, churns)", f"{t_same.seconds:.1f} s"
        )
        print_row("gcrm: save as Zarr and load", f"{t_save.seconds:.1f} s")
        levels = [str(lv["level"]) for lv in cube_levels(ds)]
        if not args.skip_baseline:
            with Timer() as t_base:
                baseline = pandas_baseline(engine, levels)
            print_row("baseline: pandas read_sql + groupby per level", f"{t_base.seconds:.1f} s")
            print_row(
                "same figures (orders and revenue per level)", check_totals(ds, baseline, levels)
            )
            print_row("ratio baseline / gcrm build", f"{t_base.seconds / t_build.seconds:.1f} x")
            print_row(
                "ratio baseline / gcrm, the same aggregation",
                f"{t_base.seconds / t_same.seconds:.1f} x",
            )
        for label, seconds, summary in refreshes(engine, ds):
            print_row(label, f"{seconds:.1f} s  ({summary})")
        ms = random_slices(loaded, args.slices, args.seed)
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        print_row(f"slices ({args.slices:,}: select_measure 3 : time_series 1)",
                  f"p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f} ms")  # fmt: skip
        verdict = [
            f"build {'<' if t_build.seconds < TARGET_BUILD_S else '>='} {TARGET_BUILD_S:g} s",
            f"slice p95 {'<' if p95 < TARGET_SLICE_P95_MS else '>='} {TARGET_SLICE_P95_MS:g} ms",
        ]
        if not args.skip_baseline:
            ratio = t_base.seconds / t_build.seconds
            same = t_base.seconds / t_same.seconds
            verdict.append(
                f"ratio {ratio:.1f}x (same aggregation {same:.1f}x) "
                f"{'>=' if ratio >= TARGET_RATIO else '<'} 3x"
            )
        print_row("targets", "; ".join(verdict) + f" (build + save {total:.1f} s)")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
