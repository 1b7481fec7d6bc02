"""The dashboard's heat layer per map view at 1,000,000 customers (issue 11).

World: the kept ``gcrm_bench_load_1000000`` (read only; migrated to 0015) and its cube
(``data/bench_load/cube.zarr``), read through the application's engine
(``gcrm.access.scoped_engine``) as one of its users, so row-level security applies as on the
server. Views are those of ``benchmarks/dashboard_points.py`` (a 1440 x 900 pixel map): the
whole region and street level, plus a district manager's whole region with ``--user``.

- Baseline, the definition of revenue asked for first: the orders of the period summed per
  cell (SQL on the owner's engine, no scope: a lower bound of its cost), one year.
- Now: ``gcrm.maps.layers.heat_in_view`` for customers and for revenue (customers weighted
  by their area's revenue per customer in the cube), exact up to ``HEAT_EXACT_ROWS``
  customers in view, on a page sample of ``HEAT_SAMPLE_ROWS`` rows above; and the exact
  count (``exact_rows=None``) for scale.

Time is the read plus the JSON encoding, best of ``--repeat`` runs.

Run: .venv/bin/python benchmarks/dashboard_heat.py [--user admin] [--period 2025]
Target (issue 11): <= 300 ms per view.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from _common import print_row  # noqa: E402
from dashboard_points import KEPT, _measure, _views  # noqa: E402

from gcrm.access import act_as, principal_by_name, scoped_engine  # noqa: E402
from gcrm.core import period_bounds  # noqa: E402
from gcrm.cube import load_cube  # noqa: E402
from gcrm.maps.layers import HEAT_EXACT_ROWS, heat_in_view  # noqa: E402
from gcrm.maps.sources import _cells_across_world  # noqa: E402
from gcrm.store import create_db_engine  # noqa: E402

CUBE = Path(__file__).parents[1] / "data" / "bench_load" / "cube.zarr"
#: The first definition: the orders of the period summed per cell of the view's grid.
ORDERS_PER_CELL = """
SELECT floor((ST_X(r.geom) + 180) / 360 * :cells) AS x,
       floor((0.5 - ln(tan(pi() / 4 + radians(ST_Y(r.geom)) / 2)) / (2 * pi())) * :cells) AS y,
       sum(o.amount)
FROM gcrm.customer_records r JOIN gcrm.orders o ON o.customer_external_id = r.external_id
WHERE r.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)
  AND o.order_date >= :start AND o.order_date < :stop
GROUP BY 1, 2
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=KEPT, help="database with the customers")
    parser.add_argument("--cube", type=Path, default=CUBE, help="the database's cube")
    parser.add_argument("--user", default="admin", help="the user whose scope is read")
    parser.add_argument("--period", default="2025", help="period of the revenue")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()

    owner = create_db_engine(args.database_url)
    views = _views(owner)
    cube = load_cube(args.cube)
    start, stop = period_bounds(args.period)
    print(f"reading as {args.user!r} (row-level security); revenue of {args.period}")
    whole_bbox, whole_zoom = next(iter(views.values()))
    cells = _cells_across_world(whole_bbox, whole_zoom, 24)
    w, s, e, n = whole_bbox
    params = {"cells": cells, "w": w, "s": s, "e": e, "n": n, "start": start, "stop": stop}

    def orders_per_cell() -> list[Any]:
        with owner.connect() as conn:
            return [list(map(float, r)) for r in conn.execute(text(ORDERS_PER_CELL), params)]

    _, base_s, rows = _measure(orders_per_cell, 1)
    print("Baseline: orders of the period summed per cell, whole region (owner, no scope)")
    print_row("cells", f"{len(rows):,}")
    print_row("time", f"{base_s:.2f} s")
    with owner.connect() as conn:
        principal = principal_by_name(conn, args.user)
    owner.dispose()
    app = scoped_engine(args.database_url)
    with act_as(principal):
        for name, (bbox, zoom) in views.items():
            print(f"Now: {name}, bbox {tuple(round(v, 5) for v in bbox)}")
            for of, exact_rows in (
                ("customers", None),
                ("customers", HEAT_EXACT_ROWS),
                ("revenue", HEAT_EXACT_ROWS),
            ):

                def heat(
                    bbox: Any = bbox, zoom: float = zoom, of: str = of, rows: Any = exact_rows
                ) -> dict[str, Any]:
                    with app.connect() as conn:
                        return heat_in_view(
                            conn,
                            bbox=bbox,
                            zoom=zoom,
                            of=of,
                            period=args.period,
                            cube=cube,
                            exact_rows=rows,
                        )

                size, seconds, view = _measure(heat, args.repeat)
                how = "exact" if view["sampled"] == 1 else f"{view['sampled']:.0%} counted"
                print_row(
                    f"{of} ({how}): cells, total",
                    f"{len(view['features']):,}, {view['total']:,.0f}",
                )
                print_row("  bytes, time", f"{size:,}, {seconds * 1000:,.0f} ms")
                if math.isfinite(base_s) and of == "revenue" and name.startswith("whole"):
                    print_row("  baseline / now", f"{base_s / seconds:.1f}x")
    app.dispose()


if __name__ == "__main__":
    main()
