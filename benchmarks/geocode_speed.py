"""Geocoding speed: the batch path against one address at a time, same database, same run.

Builds a synthetic reference of REFERENCE_POINTS address points (default 1,000,000), loads it
with the real importer, then geocodes QUERIES addresses (default 100,000: a mix of clean,
case-changed, abbreviated, one-typo, missing-postcode and unit-suffix queries):

- batch: one call of ``gcrm.ingest.geocode_batch`` on all queries (normalise, COPY in, the
  set-based ladder, read back; chunks of 25,000 on two connections), end to end;
- baseline: the loop a geopy-style client runs, one address per call and per transaction,
  through the same database and the same ladder, on a sample of BASELINE_QUERIES addresses
  (the full 100,000 would take minutes; the rate is what is compared).

Run: .venv/bin/python benchmarks/geocode_speed.py [--points 1000000] [--queries 100000]
Targets (issue 3): batch >= 20,000 addresses/s and >= 50x the one-at-a-time loop.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402
from _synthetic import synthetic_reference  # noqa: E402

from gcrm.geocode import geocode_batch, geocode_frame  # noqa: E402
from gcrm.geocode.accuracy import _abbreviate, _typo  # noqa: E402
from gcrm.ingest import import_addresses  # noqa: E402


def make_queries(reference: pd.DataFrame, n: int, *, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    q = reference.iloc[rng.choice(len(reference), n, replace=False)].reset_index(drop=True)
    q = q[["street", "housenumber", "postcode", "city"]].copy()
    kind = rng.choice(6, n, p=[0.55, 0.1, 0.1, 0.1, 0.1, 0.05])
    q.loc[kind == 1, "street"] = q.loc[kind == 1, "street"].str.upper()
    q.loc[kind == 2, "street"] = [_abbreviate(s) for s in q.loc[kind == 2, "street"]]
    q.loc[kind == 3, "street"] = [_typo(s, 1, rng) for s in q.loc[kind == 3, "street"]]
    q.loc[kind == 4, "postcode"] = None
    q.loc[kind == 5, "housenumber"] = q.loc[kind == 5, "housenumber"] + " B 12"
    return q.astype("string")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--baseline-queries", type=int, default=500)
    args = parser.parse_args()

    print(f"geocode speed: {args.points:,} reference points, {args.queries:,} queries")
    reference = synthetic_reference(points=args.points)
    queries = make_queries(reference, args.queries)
    with bench_database("geocode") as (_url, engine), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.fgb"
        gpd.GeoDataFrame(
            reference.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(reference["lon"], reference["lat"]),
            crs="EPSG:4326",
        ).to_file(path, engine="pyogrio")
        with Timer() as t_load, engine.begin() as conn:
            import_addresses(conn, path)
        print_row("load reference (gcrm import addresses)", f"{t_load.seconds:8.1f} s")

        with Timer() as t_batch:
            result = geocode_batch(engine, queries, workers=2, use_cache=False)
        batch_rate = len(queries) / t_batch.seconds

        sample = queries.sample(args.baseline_queries, random_state=2)
        with Timer() as t_loop:
            for i in range(len(sample)):
                with engine.begin() as conn:
                    geocode_frame(conn, sample.iloc[[i]], use_cache=False)
        loop_rate = len(sample) / t_loop.seconds

    shares = result["precision"].value_counts(normalize=True).round(4).to_dict()
    print_row("precision shares (batch)", str(shares))
    print_row(
        f"batch: {len(queries):,} addresses in one call",
        f"{t_batch.seconds:8.2f} s  {batch_rate:10,.0f} addr/s",
    )
    print_row(
        f"baseline: one at a time ({len(sample):,} addresses)",
        f"{t_loop.seconds:8.2f} s  {loop_rate:10,.0f} addr/s",
    )
    print_row("ratio batch / one-at-a-time", f"{batch_rate / loop_rate:8.1f} x")
    print_row("targets", ">= 20,000 addr/s, >= 50 x")


if __name__ == "__main__":
    main()
