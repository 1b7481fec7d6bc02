"""Lead search at scale: drive time (issue 12: p95 < 300 ms) and the radius API (p99 < 25 ms).

The world (built once into the kept database ``gcrm_bench_leads_search``, reused by later runs
unless ``--rebuild``): the street grid of ``drive_time.py`` (GRID x GRID nodes 100 m apart in
UTM 35N near Helsinki: 204,160 road segments at 320, one-way every 8th street, 30-60 km/h),
1,000,000 leads (70 % around 40 town centres, 30 % spread evenly; 12 categories), 100,000
customers (20,000 of them converted leads: the lead's name at its place; the rest
elsewhere), 300,000 scored leads, one admin user (all areas) with an API token. The road
graph is built and stored (``read_road_graph``), then each lead's node and access leg
(``gcrm.enrich.compute_road_access``).

1. Drive-time search, MINUTES min from ORIGINS random origins, ``limit`` 50 (the CLI's
   default) and 1000 (the API's most), default filters (customers excluded):
   - gcrm: :func:`gcrm.leads.find_leads_by_drive_time` (graph read once per process, one
     bounded scipy Dijkstra, reached nodes joined to ``gcrm.lead_road_access`` in SQL);
   - previous: the implementation before migration 0021, as it was (the graph read from
     PostGIS on every call, every lead of the catchment's box snapped in Python), and the
     same with the graph read once, to show which part cost what;
   - pgRouting: ``pgr_drivingDistance`` from the origin's node on ``gcrm.road_edges``, its
     nodes joined to the same stored legs in the same statement (``--pgrouting``).
   All agree on the leads found (checked on every origin).
2. ``GET /api/leads/near`` (radius 1000 m, limit 50) through the real server (``gcrm serve``:
   gunicorn), 8 client threads for SECONDS s, p50/p99 and requests/s; against the
   Python-shaped path (``find_nearby_leads`` + ``leads_collection`` + ``json.dumps``, what the
   route did before it answered from SQL) timed in-process with 8 threads in the same run.

3. Drive-time search in score order (``--min-score 0.7``, ``--sort score``), limit 50 and
   1000: gcrm's rounds down the score index against sorting every reached lead (what it did
   before) on the first BASELINE_SUBSET origins, both giving the same leads (``--score-only``
   runs only this part).

Run: .venv/bin/python benchmarks/leads_search.py [--rebuild] [--pgrouting] [--origins 50]
     [--score-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timer, print_row  # noqa: E402
from drive_time import ORIGIN, UTM, grid_roads  # noqa: E402
from service_load import _free_port, server  # noqa: E402

from gcrm.access import add_user, create_token  # noqa: E402
from gcrm.api import leads_collection  # noqa: E402
from gcrm.core import DEFAULT_DATABASE_URL, Settings  # noqa: E402
from gcrm.enrich import compute_road_access  # noqa: E402
from gcrm.leads import Origin, find_leads_by_drive_time, find_nearby_leads  # noqa: E402
from gcrm.leads.filtered import _search_box  # noqa: E402
from gcrm.leads.query import LEAD_COLUMNS  # noqa: E402
from gcrm.routing import ACCESS_SPEED_KMH, read_road_graph  # noqa: E402
from gcrm.store import copy_frame, create_db_engine, init_schema  # noqa: E402

DB = "gcrm_bench_leads_search"
LEADS = 1_000_000
CUSTOMERS = 100_000
CONVERTED = 20_000
SCORED = 300_000
#: Origins the slow baselines (previous cached, pgRouting, previous at limit 1000) run on.
BASELINE_SUBSET = 10
CATEGORIES = [
    "cafe", "restaurant", "bar", "bakery", "hairdresser", "florist", "pharmacy", "optician",
    "car_repair", "dentist", "kiosk", "clothes",
]  # fmt: skip


def _server_url() -> str:
    import os

    return os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)


def _points(n: int, *, grid: int, rng: np.random.Generator) -> np.ndarray:
    """Lon/lat of ``n`` points: 70 % around 40 town centres, 30 % spread evenly."""
    import pyproj

    size = (grid - 1) * 100.0
    centres = rng.uniform(0.1 * size, 0.9 * size, (40, 2))
    clustered = int(0.7 * n)
    xy = np.concatenate(
        [
            centres[rng.integers(0, 40, clustered)] + rng.normal(0, 0.04 * size, (clustered, 2)),
            rng.uniform(0, size, (n - clustered, 2)),
        ]
    )
    xy = np.clip(xy, 0, size) + ORIGIN
    lon, lat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1]
    )
    return np.column_stack([lon, lat])


def build_world(engine: Engine, *, grid: int) -> None:
    rng = np.random.default_rng(12)
    with Timer() as t, engine.begin() as conn:
        copy_frame(conn, "gcrm.roads", grid_roads(grid))
        conn.execute(
            text(
                "INSERT INTO gcrm.import_runs "
                "(kind, source, rows_read, inserted, updated, unchanged, rejected) "
                "SELECT 'roads', 'bench grid', count(*), count(*), 0, 0, 0 FROM gcrm.roads"
            )
        )
        lonlat = _points(LEADS, grid=grid, rng=rng)
        ids = pd.Series([f"L{i:07d}" for i in range(1, LEADS + 1)], dtype=object)
        category = pd.Series(rng.choice(CATEGORIES, LEADS), dtype=object)
        leads = gpd.GeoDataFrame(
            {
                "external_id": ids,
                "name": category + " " + pd.Series(range(LEADS)).astype(str),
                "category_group": "shop",
                "category": category,
                "city": "Benchville",
                "source": "bench",
            },
            geometry=gpd.GeoSeries(shapely.points(lonlat), crs="EPSG:4326"),
        ).rename_geometry("geom")
        copy_frame(conn, "gcrm.lead_records", leads)
        conn.execute(text(_CUSTOMERS_SQL), {"converted": CONVERTED, "customers": CUSTOMERS})
        conn.execute(text(_SCORES_SQL), {"scored": SCORED})
    print_row(
        f"world: {grid}x{grid} grid, {LEADS:,} leads, {CUSTOMERS:,} customers", f"{t.seconds:.0f} s"
    )
    with Timer() as t, engine.begin() as conn:
        graph = read_road_graph(conn)
    print_row(
        f"road graph built and stored ({graph.n_edges:,} directed edges)", f"{t.seconds:.0f} s"
    )
    with Timer() as t, engine.begin() as conn:
        compute_road_access(conn)
    print_row("each lead's node and access leg (compute_road_access)", f"{t.seconds:.0f} s")


_CUSTOMERS_SQL = """
INSERT INTO gcrm.customer_records (external_id, name, segment, status, signup_date, geom,
                                   geocode_precision, geocode_score, geocode_source)
SELECT 'C' || lpad(i::text, 7, '0'),
       CASE WHEN i <= :converted THEN l.name ELSE 'Customer ' || i END,
       'smb', 'active', DATE '2024-01-01',
       CASE WHEN i <= :converted THEN l.geom
            ELSE ST_Translate(l.geom, 0.003, 0.002) END,
       'address', 1.0, 'bench'
FROM generate_series(1, :customers) AS i
JOIN gcrm.lead_records AS l ON l.external_id = 'L' || lpad((i * 9)::text, 7, '0')
"""
_SCORES_SQL = """
WITH run AS (
    INSERT INTO gcrm.score_runs (kind, model, rows_scored) VALUES ('lead', 'bench', :scored)
    RETURNING id
)
INSERT INTO gcrm.lead_scores (external_id, run_id, score, percentile, reasons)
SELECT l.external_id, run.id, s, s * 100,
       '[{"feature": "category", "effect": 0.1, "text": "a category customers have"}]'::jsonb
FROM (SELECT external_id, random() AS s FROM gcrm.lead_records
      ORDER BY external_id LIMIT :scored) AS l (external_id, s), run
"""


def open_world(*, rebuild: bool, grid: int) -> str:
    server_url = make_url(_server_url())
    url = server_url.set(database=DB).render_as_string(hide_password=False)
    admin = create_db_engine(server_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT EXISTS (SELECT FROM pg_database WHERE datname = :d)"), {"d": DB}
        ).scalar_one()
        if exists and rebuild:
            conn.execute(text(f"DROP DATABASE {DB} WITH (FORCE)"))
        if rebuild or not exists:
            conn.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        init_schema(engine)
        with engine.connect() as conn:
            leads = conn.execute(text("SELECT count(*) FROM gcrm.lead_records")).scalar_one()
        if leads == 0:
            build_world(engine, grid=grid)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        else:
            print_row(f"world reused ({DB})", f"{leads:,} leads")
    finally:
        engine.dispose()
    return url


# The implementation before migration 0021 (gcrm/leads/filtered.py at 097a863), kept here as
# the baseline: the graph read from PostGIS on every call, the box's leads snapped in Python.
_PREVIOUS_CANDIDATES = """
SELECT external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gcrm.leads
WHERE geom IS NOT NULL
  AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
"""
_PREVIOUS_ROWS = f"""
SELECT {", ".join(LEAD_COLUMNS)}, area_codes,
       ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
           AS distance_m, ST_AsBinary(geom) AS geom
FROM gcrm.leads WHERE external_id = ANY (:ids) ORDER BY external_id
"""


def previous_drive_time(
    conn: Connection, origin: Origin, *, minutes: float, limit: int, graph=None
) -> list[str]:
    from gcrm.store import read_geodataframe

    limit_s = minutes * 60
    graph = graph if graph is not None else read_road_graph(conn, store=False)
    node, origin_m = graph.snap(np.array([[origin.lon, origin.lat]]))
    access = float(origin_m[0]) / (ACCESS_SPEED_KMH / 3.6)
    seconds = access + dijkstra(graph.matrix, indices=int(node[0]), limit=limit_s - access)
    x0, y0, x1, y1 = _search_box(graph, seconds, limit_s)
    rows = conn.execute(
        text(_PREVIOUS_CANDIDATES), {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
    ).fetchall()
    ids = np.array([r[0] for r in rows], dtype=object)
    nodes, lead_m = graph.snap(np.array([(r[1], r[2]) for r in rows], dtype=float))
    drive = seconds[nodes] + lead_m / (ACCESS_SPEED_KMH / 3.6)
    keep = np.flatnonzero(np.isfinite(drive) & (drive <= limit_s))
    order = keep[np.lexsort((ids[keep], drive[keep]))][:limit]
    gdf = read_geodataframe(
        conn, _PREVIOUS_ROWS, {"lon": origin.lon, "lat": origin.lat, "ids": ids[order].tolist()}
    )
    times = dict(zip(ids[order], drive[order], strict=True))
    gdf["drive_time_s"] = gdf["external_id"].map(times)
    return gdf.sort_values(["drive_time_s", "external_id"])["external_id"].tolist()


_PGROUTING_SQL = """
WITH reached AS (
    SELECT node, agg_cost FROM pgr_drivingDistance(
        'SELECT row_number() OVER () AS id, source, target, cost_s AS cost FROM gcrm.road_edges',
        CAST(:node AS bigint), CAST(:budget AS float8), directed => true)
)
SELECT a.external_id
FROM reached AS r
JOIN gcrm.lead_road_access AS a ON a.node_id = r.node
WHERE :access + r.agg_cost + a.access_s <= :limit_s
ORDER BY :access + r.agg_cost + a.access_s, a.external_id
LIMIT :limit
"""


def _stats(ms: list[float]) -> str:
    a = np.array(ms)
    return f"p50 {np.percentile(a, 50):7.1f} ms  p95 {np.percentile(a, 95):7.1f} ms"


def bench_drive_time(url: str, *, origins: int, minutes: float, pgrouting: bool) -> dict:
    engine = create_db_engine(url)
    rng = np.random.default_rng(3)
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) AS e FROM gcrm.road_nodes) AS b"
            )  # fmt: skip
        ).one()
        n_edges = conn.execute(text("SELECT n_edges FROM gcrm.road_graph_state")).scalar_one()
    print_row("road graph: directed edges", f"{n_edges:,}")
    points = np.column_stack([rng.uniform(x0, x1, origins), rng.uniform(y0, y1, origins)])
    starts = [Origin(float(x), float(y), "bench", "coordinates") for x, y in points]
    out: dict = {"origins": origins, "minutes": minutes, "directed_edges": int(n_edges)}
    with engine.connect() as conn:
        with Timer() as t:
            find_leads_by_drive_time(conn, starts[0], minutes=minutes, limit=50)
        print_row(
            "gcrm: first call (reads the graph into the process)", f"{t.seconds * 1000:.0f} ms"
        )
        out["first_call_ms"] = t.seconds * 1000
        graph = read_road_graph(conn, store=False)
        for limit in (50, 1000):
            new, old, old_cached, pgr = [], [], [], []
            for i, origin in enumerate(starts):
                with Timer() as t:
                    found = find_leads_by_drive_time(
                        conn, origin, minutes=minutes, limit=limit, customers="include"
                    )
                new.append(t.seconds * 1000)
                ids = found["external_id"].tolist()
                # The previous implementation takes seconds a call: every origin at limit 50,
                # the first BASELINE_SUBSET otherwise.
                if limit == 50 or i < BASELINE_SUBSET:
                    with Timer() as t:
                        before = previous_drive_time(conn, origin, minutes=minutes, limit=limit)
                    old.append(t.seconds * 1000)
                    assert ids == before, "gcrm and the previous implementation disagree"
                if i < BASELINE_SUBSET:
                    with Timer() as t:
                        previous_drive_time(conn, origin, minutes=minutes, limit=limit, graph=graph)
                    old_cached.append(t.seconds * 1000)
                if pgrouting and i < BASELINE_SUBSET:
                    node, m = graph.snap(np.array([[origin.lon, origin.lat]]))
                    access = float(m[0]) / (ACCESS_SPEED_KMH / 3.6)
                    with Timer() as t:
                        got = conn.execute(
                            text(_PGROUTING_SQL),
                            {"node": int(node[0]), "budget": minutes * 60 - access,
                             "access": access, "limit_s": minutes * 60, "limit": limit},
                        ).scalars().all()  # fmt: skip
                    pgr.append(t.seconds * 1000)
                    assert set(got) == set(ids), "pgRouting and gcrm disagree"
            print_row(
                f"limit {limit}: gcrm (stored legs, cached graph), {len(new)} origins", _stats(new)
            )
            print_row(
                f"limit {limit}: previous (graph read per call), {len(old)} origins", _stats(old)
            )
            print_row(
                f"limit {limit}: previous, graph cached, {len(old_cached)} origins",
                _stats(old_cached),
            )
            ratio = np.percentile(old, 95) / np.percentile(new, 95)
            print_row(f"limit {limit}: p95 ratio previous / gcrm", f"{ratio:.1f}x")
            out[f"limit_{limit}"] = {
                "gcrm": _pct(new),
                "previous": _pct(old) | {"origins": len(old)},
                "previous_cached_graph": _pct(old_cached) | {"origins": len(old_cached)},
            }
            if pgr:
                print_row(
                    f"limit {limit}: pgr_drivingDistance + legs (ids only), {len(pgr)} origins",
                    _stats(pgr),
                )
                out[f"limit_{limit}"]["pgrouting"] = _pct(pgr) | {"origins": len(pgr)}
        # With the default filters: customers excluded (a customer test on every candidate).
        ms = []
        for origin in starts:
            with Timer() as t:
                find_leads_by_drive_time(conn, origin, minutes=minutes, limit=50)
            ms.append(t.seconds * 1000)
        print_row("limit 50, customers excluded (the default)", _stats(ms))
        out["limit_50_customers_excluded"] = _pct(ms)
        out |= bench_score_order(conn, starts, minutes=minutes)
    engine.dispose()
    return out


def every_reached_by_score(
    conn: Connection, origin: Origin, *, minutes: float, limit: int, **filters
) -> list[str]:
    """The score order as it was before the score rounds: every reached lead joined to its
    score and sorted (one round over every reached node)."""
    from gcrm.leads import filtered
    from gcrm.leads.query import filter_params, read_rows

    params = filter_params(
        conn, categories=None, zoning_classes=None, area=None,
        min_score=filters.get("min_score"), customers=filters.get("customers", "exclude"),
    )  # fmt: skip
    params |= {"lon": origin.lon, "lat": origin.lat, "limit": limit}
    state = filtered._graph_state(conn)
    graph = filtered._current_graph(conn, state)
    seconds = filtered._seconds_from(graph, origin, limit_s=minutes * 60)
    reached = np.flatnonzero(seconds <= minutes * 60)
    every = {"nodes": reached.tolist(), "node_s": seconds[reached].tolist()}
    gdf, _ = read_rows(
        conn, "reached", params | every | {"built_at": state.built_at, "bound_s": minutes * 60},
        order="score",
    )  # fmt: skip
    return gdf["external_id"].tolist()


def bench_score_order(conn: Connection, starts: list[Origin], *, minutes: float) -> dict:
    """Drive-time searches in score order (``--min-score``, ``--sort score``): gcrm's score
    rounds against sorting every reached lead, on the first BASELINE_SUBSET origins; both
    give the same leads."""
    out: dict = {}
    for label, key, options in (
        ("--min-score 0.7", "min_score", {"min_score": 0.7}),
        ("--sort score", "sort_score", {"sort": "score"}),
    ):
        for limit in (50, 1000):
            new, old = [], []
            for i, origin in enumerate(starts):
                with Timer() as t:
                    found = find_leads_by_drive_time(
                        conn, origin, minutes=minutes, limit=limit, **options
                    )
                new.append(t.seconds * 1000)
                if i < BASELINE_SUBSET:
                    with Timer() as t:
                        before = every_reached_by_score(
                            conn, origin, minutes=minutes, limit=limit, **options
                        )
                    old.append(t.seconds * 1000)
                    assert found["external_id"].tolist() == before, "score orders disagree"
            print_row(
                f"limit {limit}, {label}: gcrm (score rounds), {len(new)} origins", _stats(new)
            )
            print_row(
                f"limit {limit}, {label}: every reached lead sorted, {len(old)} origins",
                _stats(old),
            )
            out[f"limit_{limit}_{key}"] = {
                "gcrm": _pct(new), "every_reached": _pct(old) | {"origins": len(old)},
            }  # fmt: skip
    return out


def bench_score_only(url: str, *, origins: int, minutes: float) -> dict:
    """Only the searches in score order (``--score-only``)."""
    engine = create_db_engine(url)
    rng = np.random.default_rng(3)
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) AS e FROM gcrm.road_nodes) AS b"
            )  # fmt: skip
        ).one()
        points = np.column_stack([rng.uniform(x0, x1, origins), rng.uniform(y0, y1, origins)])
        starts = [Origin(float(x), float(y), "bench", "coordinates") for x, y in points]
        find_leads_by_drive_time(conn, starts[0], minutes=minutes, limit=50)  # reads the graph
        out = bench_score_order(conn, starts, minutes=minutes)
    engine.dispose()
    return out


def _pct(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {
        p: round(float(np.percentile(a, q)), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))
    }


def _closed_loop(call, *, threads: int, seconds: float) -> list[float]:
    stop = time.monotonic() + seconds
    times: list[float] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        rng = np.random.default_rng(i)
        while time.monotonic() < stop:
            start = time.perf_counter()
            call(rng)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                times.append(elapsed)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return times


def bench_radius_api(url: str, *, seconds: float, threads: int) -> dict:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        if not conn.execute(
            text("SELECT EXISTS (SELECT FROM gcrm.users WHERE name = 'bench')")
        ).scalar():
            add_user(conn, "bench", role="admin", scopes=["all"])
        token = create_token(conn, "bench", name=f"bench-{time.time_ns()}", expires_days=1)
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) AS e FROM gcrm.lead_records) AS b"
            )  # fmt: skip
        ).one()

    def point(rng: np.random.Generator) -> tuple[float, float]:
        return float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))

    port = _free_port()
    import tempfile

    settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp()))
    out: dict = {}
    with server(settings, port=port):

        def call(rng: np.random.Generator) -> None:
            lon, lat = point(rng)
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/leads/near?lon={lon}&lat={lat}&radius_m=1000&limit=50",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(req, timeout=30) as response:
                assert response.status == 200
                response.read()

        _closed_loop(call, threads=threads, seconds=3)  # warm up
        # One client alone: the time of a request when nothing waits in line.
        alone = _closed_loop(call, threads=1, seconds=seconds / 2)
        b = np.array(alone)
        print_row(f"GET /api/leads/near, 1 client, {len(b):,} requests",
                  f"p50 {np.percentile(b, 50):.1f} ms  p99 {np.percentile(b, 99):.1f} ms  "
                  f"{len(b) / (seconds / 2):.0f}/s")  # fmt: skip
        out["api_one_client"] = {**_pct(alone), "requests_per_s": round(len(b) / (seconds / 2), 1)}
        ms = _closed_loop(call, threads=threads, seconds=seconds)
    a = np.array(ms)
    print_row(f"GET /api/leads/near, {threads} clients, {len(a):,} requests",
              f"p50 {np.percentile(a, 50):.1f} ms  p99 {np.percentile(a, 99):.1f} ms  "
              f"{len(a) / seconds:.0f}/s")  # fmt: skip
    out["api"] = {**_pct(ms), "requests_per_s": round(len(a) / seconds, 1)}

    data = create_db_engine(url)

    def python_shaped(rng: np.random.Generator) -> None:
        lon, lat = point(rng)
        with data.connect() as conn:
            found = find_nearby_leads(conn, lon=lon, lat=lat, radius_m=1000, limit=50)
        json.dumps(leads_collection(found, origin=Origin(lon, lat, "x", "coordinates")))

    _closed_loop(python_shaped, threads=threads, seconds=3)
    ms = _closed_loop(python_shaped, threads=threads, seconds=seconds)
    a = np.array(ms)
    print_row(f"baseline: Python-shaped, in-process, {threads} threads, {len(a):,} calls",
              f"p50 {np.percentile(a, 50):.1f} ms  p99 {np.percentile(a, 99):.1f} ms  "
              f"{len(a) / seconds:.0f}/s")  # fmt: skip
    out["python_shaped"] = {**_pct(ms), "calls_per_s": round(len(a) / seconds, 1)}
    data.dispose()
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="Build the world again.")
    parser.add_argument("--grid", type=int, default=320)
    parser.add_argument("--origins", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--pgrouting", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-drive", action="store_true")
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="Only the drive-time searches in score order (--min-score, --sort score).",
    )
    parser.add_argument("-o", type=Path, default=None, help="Also write the figures as JSON.")
    args = parser.parse_args()
    url = open_world(rebuild=args.rebuild, grid=args.grid)
    if args.pgrouting:
        engine = create_db_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgrouting"))
        engine.dispose()
    figures = {}
    if args.score_only:
        figures["score_order"] = bench_score_only(url, origins=args.origins, minutes=args.minutes)
    elif not args.skip_drive:
        figures["drive_time"] = bench_drive_time(
            url, origins=args.origins, minutes=args.minutes, pgrouting=args.pgrouting
        )
    if not args.skip_api and not args.score_only:
        figures["radius_api"] = bench_radius_api(url, seconds=args.seconds, threads=args.threads)
    if args.o:
        args.o.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
