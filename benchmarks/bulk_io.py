"""Bulk I/O: gcrm's COPY loader and binary-WKB reader against GeoPandas, same data, same run.

1,000,000 points (id, name, value, geometry) in EPSG:4326:
- load: `gcrm.db.write_geodataframe` (COPY as CSV with hex EWKB into a new table, GiST index,
  ANALYZE, swap, one transaction) against `GeoDataFrame.to_postgis(if_exists="replace")`
  (GeoAlchemy2 builds the GiST index too);
- read: `gcrm.db.read_geodataframe` (binary WKB decoded by Shapely 2 in one call) against
  `geopandas.read_postgis`.

Run: .venv/bin/python benchmarks/bulk_io.py [--rows 1000000]
Targets (issue 4): load >= 10x `to_postgis`, read >= 5x `read_postgis`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, bench_database, print_row  # noqa: E402

from gcrm.db import read_geodataframe, write_geodataframe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.rows
    gdf = gpd.GeoDataFrame(
        {
            "id": np.arange(n),
            "name": np.char.add("point ", np.arange(n).astype(str)),
            "value": rng.random(n),
        },
        geometry=gpd.points_from_xy(24.0 + rng.random(n), 60.0 + rng.random(n)),
        crs="EPSG:4326",
    )
    print(f"bulk I/O: {n:,} points")
    with bench_database("bulkio") as (_url, engine):
        with Timer() as t_gpd_load:
            gdf.to_postgis("points_gpd", engine, schema="gcrm", if_exists="replace", index=False)
        with Timer() as t_load, engine.begin() as conn:
            write_geodataframe(conn, gdf, "points_gcrm")
        with Timer() as t_gpd_read:
            back_gpd = gpd.read_postgis(
                "SELECT id, name, value, geometry FROM gcrm.points_gpd", engine, geom_col="geometry"
            )
        with Timer() as t_read, engine.connect() as conn:
            back = read_geodataframe(
                conn, "SELECT id, name, value, ST_AsBinary(geom) AS geom FROM gcrm.points_gcrm"
            )
    assert len(back) == len(back_gpd) == n
    assert np.array_equal(
        shapely.get_coordinates(back.geometry.values), shapely.get_coordinates(gdf.geometry.values)
    )
    print_row(
        "load: GeoDataFrame.to_postgis",
        f"{t_gpd_load.seconds:8.2f} s  {n / t_gpd_load.seconds:10,.0f} rows/s",
    )
    print_row(
        "load: gcrm write_geodataframe (COPY)",
        f"{t_load.seconds:8.2f} s  {n / t_load.seconds:10,.0f} rows/s",
    )
    print_row("load ratio", f"{t_gpd_load.seconds / t_load.seconds:8.1f} x   (target >= 10 x)")
    print_row(
        "read: geopandas.read_postgis",
        f"{t_gpd_read.seconds:8.2f} s  {n / t_gpd_read.seconds:10,.0f} rows/s",
    )
    print_row(
        "read: gcrm read_geodataframe (binary WKB)",
        f"{t_read.seconds:8.2f} s  {n / t_read.seconds:10,.0f} rows/s",
    )
    print_row("read ratio", f"{t_gpd_read.seconds / t_read.seconds:8.1f} x   (target >= 5 x)")


if __name__ == "__main__":
    main()
