"""The offline basemap's tiles (gcrm.maps.render_basemap_tile) over the Helsinki demo.

World: the Helsinki demo (``gcrm.demo.run_demo``, 600 customers) in a database of its own,
made and dropped by this run. For zooms 12, 14 and 16, the 3 x 3 tiles around central
Helsinki (what a map view asks for at once, about):

- cold: drawn from PostGIS (clip and project in SQL, draw with Pillow at 512 px, halve, PNG);
- cached: the same tiles again from ``DATA_DIR/tiles`` (the fingerprint query and a file read),
  the baseline a browser meets on every page after the first.

Times are per tile, the median of ``--repeat`` runs of the 9 tiles (cold runs draw into a new
cache folder each time).

Run: .venv/bin/python benchmarks/basemap_tiles.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import bench_database, print_row  # noqa: E402

from gcrm.core import Settings  # noqa: E402
from gcrm.demo.run import run_demo  # noqa: E402
from gcrm.maps import render_basemap_tile  # noqa: E402

CENTRE = (24.944, 60.1716)  # central Helsinki (Kluuvi)
ZOOMS = (12, 14, 16)


def _tiles_around(lon: float, lat: float, z: int) -> list[tuple[int, int, int]]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return [(z, x + dx, y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with bench_database("tiles") as (url, engine), tempfile.TemporaryDirectory() as tmp:
        run_demo(Settings(database_url=url, data_dir=Path(tmp)), customers=600, progress=False)
        print("basemap tiles, Helsinki demo, per tile (median of runs of 9 tiles)")
        with engine.connect() as conn:
            for z in ZOOMS:
                tiles = _tiles_around(*CENTRE, z)
                cold: list[float] = []
                cached: list[float] = []
                for run in range(args.repeat):
                    cache = Path(tmp) / f"tiles-{z}-{run}"
                    start = time.perf_counter()
                    sizes = [
                        len(render_basemap_tile(conn, z=z, x=x, y=y, cache_dir=cache))
                        for z, x, y in tiles
                    ]
                    cold.append((time.perf_counter() - start) / len(tiles))
                    start = time.perf_counter()
                    for z_, x, y in tiles:
                        render_basemap_tile(conn, z=z_, x=x, y=y, cache_dir=cache)
                    cached.append((time.perf_counter() - start) / len(tiles))
                c, h = statistics.median(cold), statistics.median(cached)
                print_row(
                    f"z={z}: cold (draw) / cached (file)",
                    f"{c * 1000:.1f} ms / {h * 1000:.2f} ms ({c / h:.0f}x); "
                    f"PNG {min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KiB",
                )


if __name__ == "__main__":
    main()
