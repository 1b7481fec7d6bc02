"""Address import speed: `gcrm import addresses` of a 1,000,000-point reference, end to end.

What is measured (one run, one machine, each path in a database of its own):

- gcrm: ``gcrm.ingest.import_addresses`` on a FlatGeobuf (or CSV) of POINTS synthetic
  addresses (benchmarks/_synthetic.py: Finnish-looking streets of 50 numbers, 200 postcodes,
  10 cities) into an empty reference: read, checks, normalised keys, COPY, index builds, the
  geocoder's views, ANALYZE, one transaction; then the same file again (nothing changes, so
  nothing is written). The time of each step is shown (instrumented by wrapping the
  importer's functions for the run).
- floor: the same rows, prepared as the importer sends them, COPYed (binary) into an empty
  table of the reference's columns without indexes; and the file's read plus that COPY. No
  import can be faster than this on the machine.
- baseline: the importer of commit BASELINE_COMMIT (before issue 10), run from that commit's
  code (``git archive``) in a subprocess on the same file, against a schema at its revision
  (0010: seven indexes on the reference): staged ``INSERT ... ON CONFLICT DO UPDATE`` with
  every index maintained per row, the views refreshed every time.

Target (issue 10): >= 100,000 rows/s end to end for the first load of 1,000,000 points
(the baseline measured 53 s, ~19,000 rows/s). Every import rule holds on the fast path:
rejects with row and reason, rows in = loaded + rejected, an idempotent re-run, one
transaction (tests/ingest/test_bulk_load.py).

Run: .venv/bin/python benchmarks/address_import.py [--points 1000000] [--format fgb]
Needs git (for the baseline's code) unless --skip-baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402
from _synthetic import synthetic_reference  # noqa: E402

import gcrm.ingest.checks  # noqa: E402
import gcrm.ingest.load  # noqa: E402
import gcrm.store.bulk_load  # noqa: E402
from gcrm.ingest import import_addresses  # noqa: E402
from gcrm.store import copy_frame  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent
#: The last commit before issue 10's import work: the baseline's code.
BASELINE_COMMIT = "0ac2cca"
TARGET_ROWS_S = 100_000

#: The importer's steps, timed by wrapping these functions for the run: (module, function,
#: step). A step's time includes what its function calls (the first listed wins).
STEPS = (
    (gcrm.ingest.load, "read_layer", "read the file"),
    (gcrm.ingest.load, "_check_rows", "checks (text, keys, duplicates, geometry)"),
    (gcrm.ingest.load, "check_kind", "normalised street/number/postcode/city keys"),
    (gcrm.store.bulk_load, "copy_frame", "COPY into the empty table (binary)"),
    (gcrm.store.bulk_load, "stage_frame", "COPY into a staging table (binary)"),
    (gcrm.store.bulk_load, "_stage_changes", "compare with the stored rows (one hash join)"),
    (gcrm.store.bulk_load, "_apply_changes", "write new and changed rows"),
    (gcrm.store.bulk_load, "restore_indexes", "build the indexes again"),
    (gcrm.ingest.checks, "refresh_reference", "refresh the geocoder's views"),
)


@contextmanager
def timed_steps(times: dict[str, float], sent: list[pd.DataFrame]) -> Iterator[None]:
    """Wrap the importer's STEPS to add their seconds to ``times``; keep the frame sent to
    ``bulk_upsert`` in ``sent`` (the floor COPYs the same rows)."""
    originals: list[tuple[Any, str, Callable[..., Any]]] = []

    def wrap(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[step] = times.get(step, 0.0) + time.perf_counter() - start

        return timed

    def keep(function: Callable[..., Any]) -> Callable[..., Any]:
        def kept(conn: Any, frame: pd.DataFrame, **kwargs: Any) -> Any:
            sent.append(frame)
            return function(conn, frame, **kwargs)

        return kept

    for module, name, step in STEPS:
        originals.append((module, name, getattr(module, name)))
        setattr(module, name, wrap(step, getattr(module, name)))
    originals.append((gcrm.ingest.load, "bulk_upsert", gcrm.ingest.load.bulk_upsert))
    gcrm.ingest.load.bulk_upsert = keep(gcrm.ingest.load.bulk_upsert)
    try:
        yield
    finally:
        for module, name, function in originals:
            setattr(module, name, function)


def write_reference(points: int, folder: Path, *, suffix: str) -> Path:
    """The synthetic reference as a file: FlatGeobuf (points) or CSV (lon/lat)."""
    reference = synthetic_reference(points=points)
    path = folder / f"reference{suffix}"
    if suffix == ".csv":
        reference.to_csv(path, index=False)
    else:
        gpd.GeoDataFrame(
            reference.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(reference["lon"], reference["lat"]),
            crs="EPSG:4326",
        ).to_file(path, engine="pyogrio")
    return path


def run_gcrm(engine: Engine, path: Path) -> dict[str, Any]:
    """The first load and the re-run, with the first load's steps; the rows sent."""
    times: dict[str, float] = {}
    sent: list[pd.DataFrame] = []
    with timed_steps(times, sent), Timer() as first, engine.begin() as conn:
        report = import_addresses(conn, path)
    with Timer() as again, engine.begin() as conn:
        repeat = import_addresses(conn, path)
    return {
        "first_s": first.seconds,
        "again_s": again.seconds,
        "report": report,
        "repeat": repeat,
        "steps": times,
        "rows": sent[0],
    }


def run_floor(engine: Engine, rows: pd.DataFrame) -> float:
    """Seconds of a bare binary COPY of ``rows`` into an empty table without indexes."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE gcrm.floor_copy (LIKE gcrm.address_points)"))
        with Timer() as t:
            copy_frame(conn, "gcrm.floor_copy", rows)
        conn.execute(text("DROP TABLE gcrm.floor_copy"))
    return t.seconds


def run_baseline(path: Path, commit: str) -> dict[str, Any]:
    """The baseline commit's importer on ``path``, in a subprocess (see _baseline_import.py)."""
    with tempfile.TemporaryDirectory(prefix="gcrm-baseline-") as tmp:
        archive = Path(tmp) / "gcrm.tar"
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--output", str(archive), commit, "gcrm"],
            check=True,
        )
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": tmp}
        # Run outside the checkout, so that its own gcrm is not the one imported.
        done = subprocess.run(
            [sys.executable, str(HERE / "_baseline_import.py"), str(path)],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["gcrm"].startswith(tmp):
        raise SystemExit(f"the baseline ran gcrm from {result['gcrm']}, not from {tmp}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000,
                        help="address points in the reference (default %(default)s)")  # fmt: skip
    parser.add_argument("--format", choices=["fgb", "csv"], default="fgb",
                        help="the file's format: FlatGeobuf points or CSV with lon/lat "
                        "(default %(default)s)")  # fmt: skip
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT,
                        help="the commit whose importer is the baseline (default %(default)s)")  # fmt: skip
    parser.add_argument("--skip-baseline", action="store_true",
                        help="measure gcrm and the floor only (the baseline takes ~75 s)")  # fmt: skip
    args = parser.parse_args()

    print(f"address import: {args.points:,} reference points, {args.format}")
    with tempfile.TemporaryDirectory(prefix="gcrm-import-") as tmp:
        path = write_reference(args.points, Path(tmp), suffix=f".{args.format}")
        print_row("file", f"{path.name}, {path.stat().st_size / 1e6:.0f} MB")
        base = None if args.skip_baseline else run_baseline(path, args.baseline_commit)
        with bench_database("import") as (_url, engine):
            gcrm_run = run_gcrm(engine, path)
            floor_s = run_floor(engine, gcrm_run["rows"])
    report, repeat = gcrm_run["report"], gcrm_run["repeat"]
    n = report.rows_read
    assert report.rejected == 0 and report.inserted == n and repeat.unchanged == n

    first_s, again_s = gcrm_run["first_s"], gcrm_run["again_s"]
    read_s = gcrm_run["steps"]["read the file"]
    print("  gcrm, first load, by step:")
    for step, seconds in sorted(gcrm_run["steps"].items(), key=lambda kv: -kv[1]):
        print_row(f"  {step}", f"{seconds:8.2f} s")
    other = first_s - sum(gcrm_run["steps"].values())
    print_row("  other (ANALYZE, rejects file, report, locks, ...)", f"{other:8.2f} s")
    print_row("gcrm: first load", f"{first_s:8.2f} s  {n / first_s:10,.0f} rows/s")
    print_row("gcrm: the same file again (nothing written)", f"{again_s:8.2f} s  {n / again_s:10,.0f} rows/s")  # fmt: skip
    print_row("floor: bare COPY of the same rows, no indexes", f"{floor_s:8.2f} s  {n / floor_s:10,.0f} rows/s")  # fmt: skip
    print_row("floor: read the file + bare COPY", f"{read_s + floor_s:8.2f} s  {n / (read_s + floor_s):10,.0f} rows/s")  # fmt: skip
    if base is not None:
        print_row(f"baseline ({args.baseline_commit}): first load",
                  f"{base['first_s']:8.2f} s  {n / base['first_s']:10,.0f} rows/s")  # fmt: skip
        print_row(f"baseline ({args.baseline_commit}): the same file again",
                  f"{base['again_s']:8.2f} s  {n / base['again_s']:10,.0f} rows/s")  # fmt: skip
        print_row("ratio gcrm / baseline (first load; again)",
                  f"{base['first_s'] / first_s:8.1f} x; {base['again_s'] / again_s:.1f} x")  # fmt: skip
    verdict = "met" if n / first_s >= TARGET_ROWS_S else "not met"
    print_row("target", f">= {TARGET_ROWS_S:,} rows/s first load: {verdict}")


if __name__ == "__main__":
    main()
