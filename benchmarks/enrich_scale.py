"""Enrichment at scale: `gcrm enrich` against the path a GeoPandas user writes, same data, same run.

World: the 1,454 Bay Area zones in three levels (zone > superdistrict > county, from the
activitysim example data), a synthetic zoning layer (1.5 km cells, five classes) and a
synthetic road grid (a street every 420 m, one segment per block) over the same extent, and
CUSTOMERS synthetic customers placed by households.

- gcrm: `enrich_points(engine="vector")` on every customer: area code at every level, zoning
  class, distance to the nearest business park, nearest road (class, name, speed, distance),
  from the database back into the database (the customers table updated in place).
- GeoPandas: `read_postgis`, `sjoin` per level, `sjoin` for zoning, `sjoin_nearest` for the
  business park and the road (in the same metric CRS), `to_postgis` of the result.

Run: .venv/bin/python benchmarks/enrich_scale.py [--customers 1000000]
Targets (issue 4): >= 3x the GeoPandas path end to end, and under 60 s in total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from _bayarea_scale import METRIC, build_world  # noqa: E402
from _common import Timer, bench_database, print_row  # noqa: E402

from gcrm.enrich import enrich_points  # noqa: E402


def geopandas_path(engine) -> int:  # type: ignore[no-untyped-def]
    """What a GeoPandas user writes, following its docs."""
    points = gpd.read_postgis(
        "SELECT external_id, geom FROM gcrm.customers", engine, geom_col="geom"
    )
    areas = gpd.read_postgis("SELECT level, code, geom FROM gcrm.areas", engine, geom_col="geom")
    out = points[["external_id", "geom"]].copy()
    for level, group in areas.groupby("level"):
        joined = gpd.sjoin(points, group[["code", "geom"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out[f"area_{level}"] = joined["code"]
    zones = gpd.read_postgis("SELECT class, geom FROM gcrm.zones", engine, geom_col="geom")
    joined = gpd.sjoin(points, zones, how="left", predicate="within")
    out["zoning_class"] = joined[~joined.index.duplicated(keep="first")]["class"]
    points_m = points.to_crs(METRIC)
    parks = zones[zones["class"].isin(["industrial", "commercial"])].to_crs(METRIC)
    near = gpd.sjoin_nearest(
        points_m, parks[["geom"]], how="left", distance_col="business_park_distance_m"
    )
    out["business_park_distance_m"] = near[~near.index.duplicated(keep="first")][
        "business_park_distance_m"
    ]
    roads = gpd.read_postgis(
        "SELECT class, name, speed_kmh, geom FROM gcrm.roads", engine, geom_col="geom"
    ).to_crs(METRIC)
    near = gpd.sjoin_nearest(points_m, roads, how="left", distance_col="road_distance_m")
    near = near[~near.index.duplicated(keep="first")]
    for col in ("class", "name", "speed_kmh", "road_distance_m"):
        out[f"road_{col}" if col in ("class", "name", "speed_kmh") else col] = near[col]
    out.to_postgis(
        "customers_enriched_gpd", engine, schema="gcrm", if_exists="replace", index=False
    )
    return len(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bench_database("enrich") as (_url, engine):
        with Timer() as t_setup:
            counts = build_world(engine, Path(tmp), customers=args.customers)
        print(f"enrich at scale: {counts} (set-up {t_setup.seconds:.0f} s)")
        stages: list[tuple[str, float]] = []
        with Timer() as t_gcrm, engine.begin() as conn:
            report = enrich_points(
                conn,
                entities=("customers",),
                full=True,
                engine="vector",
                on_step=lambda label: stages.append((label, time.perf_counter())),
            )
        stages.append(("end", time.perf_counter()))
        with Timer() as t_gpd:
            n_gpd = geopandas_path(engine)
        with engine.connect() as conn:
            check = pd.read_sql(
                text(
                    "SELECT count(*) FILTER (WHERE c.area_codes->>'zone' = g.area_zone) AS same_zone, "
                    "count(*) FILTER (WHERE c.road_class = g.road_class) AS same_road, count(*) AS n "
                    "FROM gcrm.customers c JOIN gcrm.customers_enriched_gpd g USING (external_id)"
                ),
                conn,
            ).iloc[0]
    print_row(
        f"gcrm enrich (vector), {report.counts['customers']:,} customers",
        f"{t_gcrm.seconds:8.1f} s",
    )
    for (label, start), (_next, stop) in zip(stages, stages[1:], strict=False):
        print_row(f"  {label}", f"{stop - start:8.2f} s")
    print_row(f"GeoPandas path, {n_gpd:,} customers", f"{t_gpd.seconds:8.1f} s")
    print_row("ratio GeoPandas / gcrm", f"{t_gpd.seconds / t_gcrm.seconds:8.1f} x")
    print_row(
        "same zone / same road class as GeoPandas",
        f"{check['same_zone'] / check['n']:.4%} / {check['same_road'] / check['n']:.4%}",
    )
    print_row("targets", ">= 3 x, gcrm under 60 s")


if __name__ == "__main__":
    main()
