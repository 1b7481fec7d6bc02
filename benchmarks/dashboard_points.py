"""The dashboard's customer points per map view, against sending every point (issue 11).

World: a database with 1,000,000 customers (by default the kept
``gcrm_bench_load_1000000``, read only), read through the application's engine
(``gcrm.access.scoped_engine``) as one of its users, so row-level security applies as on the
server.

- Baseline, what the dashboard did before: every customer point as one GeoJSON
  FeatureCollection (``gcrm.maps.point_geojson``, the one query of the layer), whatever the
  view.
- Now: ``gcrm.maps.sources.points_in_view`` for the view: clusters counted in PostGIS on a
  grid of the map's screen pixels, or the points one by one when at most ``MAX_POINTS`` are
  in view.

Two views of a 1440 x 900 pixel map: the whole region (the customers' extent at the zoom
that fits it) and a street-level view (zoom 18, centred on the region). Bytes are the JSON
Dash sends (plotly's encoder, as Dash serialises a callback's answer); time is the read plus
the encoding, best of ``--repeat`` runs.

Run: .venv/bin/python benchmarks/dashboard_points.py [--database-url URL] [--user admin]
Target (issue 11): <= 1 MB per view, never every point at once.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plotly.io.json import to_json_plotly
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _common import print_row  # noqa: E402

from gcrm.access import act_as, principal_by_name, scoped_engine  # noqa: E402
from gcrm.maps import point_geojson  # noqa: E402
from gcrm.maps.sources import points_in_view  # noqa: E402
from gcrm.store import create_db_engine  # noqa: E402

KEPT = "postgresql+psycopg://gcrm:gcrm@localhost:5432/gcrm_bench_load_1000000"
MAP_PX = (1440, 900)
STREET_ZOOM = 18


def _view_around(lon: float, lat: float, zoom: float) -> tuple[float, float, float, float]:
    """The box a ``MAP_PX`` map centred on (lon, lat) shows at ``zoom`` (Web Mercator)."""
    world_px = 256 * 2**zoom
    x = (lon + 180) / 360 * world_px
    y = 1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi
    y = y / 2 * world_px
    half_w, half_h = MAP_PX[0] / 2, MAP_PX[1] / 2

    def lat_of(py: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / world_px))))

    west, east = (x - half_w) / world_px * 360 - 180, (x + half_w) / world_px * 360 - 180
    return west, lat_of(y + half_h), east, lat_of(y - half_h)


def _views(owner: Engine) -> dict[str, tuple[tuple[float, float, float, float], float]]:
    """Whole region and street level: ``name -> (bbox, zoom)``."""
    with owner.connect() as conn:
        west, south, east, north = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) AS e FROM gcrm.customer_records) x"
            )
        ).one()
    lon, lat = (west + east) / 2, (south + north) / 2
    # The zoom at which the extent fits the map (what Leaflet's fitBounds picks).
    span_x = (east - west) / 360
    span_y = abs(
        math.log(math.tan(math.pi / 4 + math.radians(north) / 2))
        - math.log(math.tan(math.pi / 4 + math.radians(south) / 2))
    ) / (2 * math.pi)
    fit = math.floor(min(math.log2(MAP_PX[0] / 256 / span_x), math.log2(MAP_PX[1] / 256 / span_y)))
    return {
        f"whole region (zoom {fit})": (_view_around(lon, lat, fit), fit),
        f"street level (zoom {STREET_ZOOM})": (_view_around(lon, lat, STREET_ZOOM), STREET_ZOOM),
    }


def _measure(read: Callable[[], Any], repeat: int) -> tuple[int, float, Any]:
    """Bytes of the JSON sent, best time of ``repeat`` runs (read and encode), the payload."""
    best, size, payload = math.inf, 0, None
    for _ in range(repeat):
        start = time.perf_counter()
        payload = read()
        size = len(to_json_plotly(payload).encode())
        best = min(best, time.perf_counter() - start)
    return size, best, payload


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=KEPT, help="database with the customers")
    parser.add_argument("--user", default="admin", help="the user whose scope is read")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()

    owner = create_db_engine(args.database_url)
    with owner.connect() as conn:
        principal = principal_by_name(conn, args.user)
        customers = conn.execute(
            text("SELECT count(*) FROM gcrm.customers WHERE geom IS NOT NULL")
        ).scalar_one()
    views = _views(owner)
    owner.dispose()
    app = scoped_engine(args.database_url)
    print(f"{customers:,} placed customers; reading as {args.user!r} (row-level security)")
    with act_as(principal):

        def every_point() -> dict[str, Any]:
            with app.connect() as conn:
                return point_geojson(conn, kind="customers")

        base_bytes, base_s, base = _measure(every_point, args.repeat)
        print("Baseline: every point at once (any view)")
        print_row("points sent", f"{len(base['features']):,}")
        print_row("bytes", f"{base_bytes:,}")
        print_row("time", f"{base_s:.2f} s")
        for name, (bbox, zoom) in views.items():

            def in_view(bbox: Any = bbox, zoom: float = zoom) -> dict[str, Any]:
                with app.connect() as conn:
                    return points_in_view(conn, kind="customers", bbox=bbox, zoom=zoom)

            size, seconds, view = _measure(in_view, args.repeat)
            shown = sum(f["properties"].get("count", 1) for f in view["features"])
            what = "clusters" if view["clustered"] else "points"
            print(f"Now: {name}, bbox {tuple(round(v, 5) for v in bbox)}")
            print_row(f"{what} sent (customers in view)", f"{len(view['features']):,} ({shown:,})")
            print_row("bytes", f"{size:,}  (baseline / now: {base_bytes / size:,.0f}x)")
            print_row("time", f"{seconds:.2f} s  (baseline / now: {base_s / seconds:.1f}x)")
    app.dispose()


if __name__ == "__main__":
    main()
