"""Bulk I/O: gcrm's COPY loader and COPY reader against GeoPandas, same data, same run.

1,000,000 points (id, name, value, geometry) in EPSG:4326:
- load: `gcrm.store.write_geodataframe` (binary COPY with EWKB into a new table, GiST index,
  ANALYZE, swap, one transaction) against `GeoDataFrame.to_postgis(if_exists="replace")`
  (GeoAlchemy2 builds the GiST index too);
- read: `gcrm.store.read_geodataframe` (COPY as CSV parsed by Arrow, WKB decoded with NumPy and
  Shapely 2) against `geopandas.read_postgis`, each run `--reads` times, alternating; the
  first read of each table is the first scan after its load.

The load breakdown (encode, COPY, index, ANALYZE, swap) comes from write_geodataframe's DEBUG
log record. Run: .venv/bin/python benchmarks/bulk_io.py [--rows 1000000] [--reads 3]
Targets (issue 4): load >= 10x `to_postgis`, read >= 5x `read_postgis`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402

from gcrm.store import read_geodataframe, write_geodataframe  # noqa: E402


class _Timings(logging.Handler):
    """Keeps the step timings that write_geodataframe logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.timings: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.timings = dict(getattr(record, "timings", {}))


def _points(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(n),
            "name": np.char.add("point ", np.arange(n).astype(str)),
            "value": rng.random(n),
        },
        geometry=gpd.points_from_xy(24.0 + rng.random(n), 60.0 + rng.random(n)),
        crs="EPSG:4326",
    )


def _rate(seconds: float, n: int) -> str:
    return f"{seconds:8.2f} s  {n / seconds:10,.0f} rows/s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=3, help="reads of each table, alternating")
    args = parser.parse_args()
    n = args.rows
    gdf = _points(n)
    handler = _Timings()
    bulk_log = logging.getLogger("gcrm.store.loading")
    bulk_log.addHandler(handler)
    bulk_log.setLevel(logging.DEBUG)
    print(f"bulk I/O: {n:,} points")
    gpd_reads: list[float] = []
    gcrm_reads: list[float] = []
    with bench_database("bulkio") as (_url, engine):
        with Timer() as t_gpd_load:
            gdf.to_postgis("points_gpd", engine, schema="gcrm", if_exists="replace", index=False)
        with Timer() as t_load, engine.begin() as conn:
            write_geodataframe(conn, gdf, "points_gcrm")
        back_gpd = back = None
        for _ in range(args.reads):
            # Free the previous result first: dropping a million Shapely objects takes
            # 0.3-0.5 s, which belongs to neither read.
            back_gpd = None
            with Timer() as t:
                back_gpd = gpd.read_postgis(
                    "SELECT id, name, value, geometry FROM gcrm.points_gpd",
                    engine,
                    geom_col="geometry",
                )
            gpd_reads.append(t.seconds)
            back = None
            with Timer() as t, engine.connect() as conn:
                back = read_geodataframe(
                    conn, "SELECT id, name, value, ST_AsBinary(geom) AS geom FROM gcrm.points_gcrm"
                )
            gcrm_reads.append(t.seconds)
    assert len(back) == len(back_gpd) == n
    assert np.array_equal(
        shapely.get_coordinates(back.geometry.values), shapely.get_coordinates(gdf.geometry.values)
    )
    assert back["name"].equals(gdf["name"]) and back["value"].equals(gdf["value"])

    print_row("load: GeoDataFrame.to_postgis", _rate(t_gpd_load.seconds, n))
    print_row("load: gcrm write_geodataframe (binary COPY)", _rate(t_load.seconds, n))
    steps = handler.timings
    if steps:
        print_row(
            "  of which create table + COPY",
            f"{steps['copy_s']:8.2f} s  (client encoding {steps['encode_s']:.2f} s of it)",
        )
        for step in ("index", "analyze", "swap"):
            print_row(f"  of which {step}", f"{steps[f'{step}_s']:8.2f} s")
    print_row("load ratio", f"{t_gpd_load.seconds / t_load.seconds:8.1f} x   (target >= 10 x)")
    print_row("read: geopandas.read_postgis, each run", " ".join(f"{s:.2f}" for s in gpd_reads))
    print_row("read: gcrm read_geodataframe, each run", " ".join(f"{s:.2f}" for s in gcrm_reads))
    gpd_read, gcrm_read = statistics.median(gpd_reads), statistics.median(gcrm_reads)
    print_row("read: geopandas.read_postgis (median)", _rate(gpd_read, n))
    print_row("read: gcrm read_geodataframe (median)", _rate(gcrm_read, n))
    print_row("read ratio (medians)", f"{gpd_read / gcrm_read:8.1f} x   (target >= 5 x)")
    print_row("read ratio (first reads)", f"{gpd_reads[0] / gcrm_reads[0]:8.1f} x")


if __name__ == "__main__":
    main()
