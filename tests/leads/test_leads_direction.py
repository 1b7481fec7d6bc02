"""A drive-time search times the drive out of its origin (a rep setting out), one-way
streets the way they run, not the drive back to it, on the demo region."""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, text

from gcrm.leads import Origin, find_leads_by_drive_time
from gcrm.routing import ACCESS_SPEED_KMH, read_road_graph

MINUTES = 3.0


def test_drive_time_runs_from_the_origin_to_each_lead(demo_conn: Connection) -> None:
    lon, lat = demo_conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
    ).one()
    origin = Origin(float(lon), float(lat), "first branch", "coordinates")
    found = find_leads_by_drive_time(
        demo_conn, origin, minutes=MINUTES, customers="include", limit=10_000
    )
    assert len(found) > 20
    graph = read_road_graph(demo_conn, store=False)
    start, start_m = graph.snap(np.array([[origin.lon, origin.lat]]))
    leads_xy = np.column_stack([found.geometry.x, found.geometry.y])
    nodes, lead_m = graph.snap(leads_xy)
    legs_s = (start_m[0] + lead_m) / (ACCESS_SPEED_KMH / 3.6)
    out = dijkstra(graph.matrix, directed=True, indices=int(start[0]))[nodes] + legs_s
    back = dijkstra(graph.reversed, directed=True, indices=int(start[0]))[nodes] + legs_s
    np.testing.assert_allclose(found["drive_time_s"], out, rtol=1e-6)
    # One-way streets make some drives back differ: the test tells the two apart.
    assert not np.allclose(out, back, rtol=1e-6)
