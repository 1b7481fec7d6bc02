"""The demo run: build the Helsinki region, load it, enrich, cube, map, report, serve.

``gcrm demo`` (and so ``make demo``) calls :func:`run_demo`. Every step is the same library
function a user's own command calls; nothing here is demo-only except choosing the inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from gcrm.config import Settings

__all__ = ["DemoResult", "run_demo"]


@dataclass
class DemoResult:
    """What the demo run produced."""

    region_dir: Path
    cube_path: Path
    map_path: Path | None = None
    report_paths: list[Path] = field(default_factory=list)
    leads_path: Path | None = None
    messages: list[str] = field(default_factory=list)


def _build_region(settings: Settings, *, customers: int, seed: int) -> bool:
    """Build the region files unless the same build is already there; True if built."""
    from gcrm.demo import build_demo_region

    manifest = settings.region_dir / "manifest.json"
    wanted = {"customers": customers, "seed": seed}
    if manifest.exists() and json.loads(manifest.read_text()).get("build") == wanted:
        return False
    paths = build_demo_region(settings.region_dir, customers=customers, seed=seed)
    manifest.write_text(
        json.dumps(
            {"build": wanted, "files": {k: str(v) for k, v in sorted(paths.items())}}, indent=2
        )
    )
    return True


def _load_region(engine: Engine, region: Path, say: Callable[[str], None]) -> None:
    from gcrm.ingest import (
        import_addresses,
        import_area_stats,
        import_areas,
        import_branches,
        import_customers,
        import_leads,
        import_orders,
        import_roads,
        import_zones,
    )

    steps = [
        (import_areas, region / "areas.gpkg", {"levels": region / "area_levels.csv"}),
        (import_area_stats, region / "area_stats.csv", {}),
        (import_addresses, region / "addresses.gpkg", {}),
        (import_roads, region / "roads.gpkg", {}),
        (import_zones, region / "zones.gpkg", {}),
        (import_leads, region / "leads.gpkg", {}),
        (import_branches, region / "branches.csv", {}),
        (import_customers, region / "customers.csv", {}),
        (import_orders, region / "orders.csv", {}),
    ]
    for fn, path, kwargs in steps:
        # One transaction per file, as `gcrm import` does.
        with engine.begin() as conn:
            report = fn(conn, path, **kwargs)
        say(report.summary())


def run_demo(
    settings: Settings,
    *,
    customers: int = 3000,
    seed: int = 42,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> DemoResult:
    """Build the demo region and run every pipeline step on it.

    Idempotent: a second run reuses the region files when the build parameters are the same,
    and the imports upsert (nothing changes); enrichment and the cube are recomputed.
    """
    from tqdm import tqdm

    from gcrm.cube import build_region_cube, save_cube
    from gcrm.db import create_db_engine, init_schema
    from gcrm.enrich import enrich_points
    from gcrm.leads import export_leads, find_nearby_leads
    from gcrm.maps import make_region_map
    from gcrm.territories import build_territory_report

    messages: list[str] = []
    emit = say or messages.append
    engine = create_db_engine(settings.database_url)
    result = DemoResult(
        region_dir=settings.region_dir, cube_path=settings.cube_path, messages=messages
    )
    steps = ["schema", "region files", "import", "enrich", "cube", "map", "territories", "leads"]
    bar = tqdm(total=len(steps), desc="gcrm demo", unit="step", disable=not progress)
    try:
        bar.set_postfix_str("schema")
        emit(f"schema gcrm at revision {init_schema(engine)}")
        bar.update(1)

        bar.set_postfix_str("region files")
        built = _build_region(settings, customers=customers, seed=seed)
        emit(("built" if built else "reused") + f" demo region files in {settings.region_dir}")
        bar.update(1)

        bar.set_postfix_str("import")
        _load_region(engine, settings.region_dir, emit)
        bar.update(1)

        bar.set_postfix_str("enrich")
        with engine.begin() as conn:
            emit(enrich_points(conn, full=True).summary())
        bar.update(1)

        bar.set_postfix_str("cube")
        with engine.connect() as conn:
            ds = build_region_cube(conn)
        save_cube(ds, settings.cube_path)
        emit(f"cube: {dict(ds.sizes)} -> {settings.cube_path}")
        bar.update(1)

        out = settings.out_dir
        bar.set_postfix_str("map")
        with engine.connect() as conn:
            result.map_path = make_region_map(conn, cube=ds, out=out / "map.html")
        emit(f"map: {result.map_path}")
        bar.update(1)

        bar.set_postfix_str("territories")
        with engine.connect() as conn:
            report = build_territory_report(
                conn, cube=ds, level="district", out_dir=out / "territories"
            )
        result.report_paths = [report.xlsx, report.html]
        emit(f"territory report: {report.xlsx}, {report.html}")
        bar.update(1)

        bar.set_postfix_str("leads")
        with engine.connect() as conn:
            lon, lat = conn.exec_driver_sql(
                "SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1"
            ).one()
            leads = find_nearby_leads(conn, lon=lon, lat=lat, radius_m=750, limit=50)
        result.leads_path = export_leads(leads, out / "leads_near_first_branch.csv")
        emit(f"leads: {len(leads)} within 750 m of the first branch -> {result.leads_path}")
        bar.update(1)
    finally:
        bar.close()
        engine.dispose()
    return result
