"""The demo run: build a region, load it, enrich, cube, map, report, serve.

``gcrm demo`` (and so ``make demo``) calls :func:`run_demo`. Every step is the same library
function a user's own command calls; nothing here is demo-only except choosing the inputs.

Two regions: ``helsinki`` (central Helsinki, real OpenStreetMap layers, the default) and
``bayarea`` (the 1,454 MTC travel-model zones of the San Francisco Bay Area, postcode-level
geocoding). Each region lives in its own database: the Bay Area in ``<database>_bayarea`` next
to the configured one, with its files under ``DATA_DIR/bayarea``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from tqdm import tqdm

from gcrm.access import add_user, list_users, principal_by_name, scoped_engine, set_password
from gcrm.areas import read_area_levels, set_region
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.cube import build_region_cube, build_scope_cubes, save_cube
from gcrm.demo.bayarea import build_bayarea_region
from gcrm.demo.helsinki_region import build_demo_region
from gcrm.enrich import enrich_points
from gcrm.ingest import (
    ImportReport,
    import_addresses,
    import_area_stats,
    import_areas,
    import_branches,
    import_buildings,
    import_customers,
    import_leads,
    import_orders,
    import_postcodes,
    import_roads,
    import_zones,
)
from gcrm.leads import export_leads, find_nearby_leads
from gcrm.maps import make_region_map, read_areas
from gcrm.scoring import latest_run, score_customers, score_leads
from gcrm.store import create_db_engine, ensure_database, init_schema
from gcrm.territories import (
    build_territory_report,
    design_figures,
    design_territories,
    list_plans,
    read_design_units,
    save_plan,
)

__all__ = [
    "REGIONS",
    "DemoLogin",
    "DemoResult",
    "Region",
    "create_demo_logins",
    "region_settings",
    "run_demo",
]


@dataclass(frozen=True)
class Region:
    """How a demo region is built and shown."""

    name: str
    label: str
    map_level: str
    report_level: str
    leads_radius_m: float
    currency: str
    #: The level and number of territories of the demo's territory plan.
    plan_level: str
    plan_k: int


REGIONS = {
    "helsinki": Region(
        "helsinki", "Helsinki demo region", "district", "district", 750.0, "EUR", "hex", 4
    ),
    "bayarea": Region(
        "bayarea", "San Francisco Bay Area", "county", "superdistrict", 5000.0, "USD", "zone", 20
    ),
}
#: The name of the territory plan the demo designs (once; a later run keeps it).
DEMO_PLAN = "Demo plan"


@dataclass(frozen=True)
class DemoLogin:
    """A demo user and the password it got on this run."""

    name: str
    role: str
    scope: str
    password: str


@dataclass
class DemoResult:
    """What the demo run produced."""

    region_dir: Path
    cube_path: Path
    settings: Settings
    map_path: Path | None = None
    report_paths: list[Path] = field(default_factory=list)
    leads_path: Path | None = None
    logins: list[DemoLogin] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def region_settings(settings: Settings, region: str) -> Settings:
    """Settings for a demo region: Helsinki uses them as they are; the Bay Area gets a
    database and a data directory of its own (customer ids of the two would collide)."""
    if region not in REGIONS:
        msg = f"region {region!r} unknown; expected one of {sorted(REGIONS)}"
        raise ValidationError(msg)
    if region == "helsinki":
        return settings
    url = make_url(settings.database_url)
    db_url = url.set(database=f"{url.database}_{region}").render_as_string(hide_password=False)
    return settings.model_copy(
        update={"database_url": db_url, "data_dir": settings.data_dir / region}
    )


def _region_dir(settings: Settings, region: str) -> Path:
    return settings.region_dir if region == "helsinki" else settings.data_dir / "region"


#: The generators' version, in the manifest: files of an older generator are built again
#: (2: business customers won from leads, churn with drivers; data/README.md).
GENERATOR_VERSION = 2


def _build_region(settings: Settings, region: str, *, customers: int, seed: int) -> bool:
    """Build the region files unless the same build is already there; True if built."""
    builder = build_demo_region if region == "helsinki" else build_bayarea_region
    out = _region_dir(settings, region)
    manifest = out / "manifest.json"
    wanted = {
        "region": region,
        "customers": customers,
        "seed": seed,
        "generator": GENERATOR_VERSION,
    }
    if manifest.exists() and json.loads(manifest.read_text()).get("build") == wanted:
        return False
    paths = builder(out, customers=customers, seed=seed)
    manifest.write_text(
        json.dumps(
            {"build": wanted, "files": {k: str(v) for k, v in sorted(paths.items())}}, indent=2
        )
    )
    return True


def _load_region(engine: Engine, region: Path, say: Callable[[str], None]) -> None:
    steps: list[tuple[Callable[..., ImportReport], Path, dict[str, Path]]] = [
        (import_areas, region / "areas.gpkg", {"levels": region / "area_levels.csv"}),
        (import_area_stats, region / "area_stats.csv", {}),
        (import_addresses, region / "addresses.gpkg", {}),
        (import_postcodes, region / "postcodes.csv", {}),
        (import_roads, region / "roads.gpkg", {}),
        (import_zones, region / "zones.gpkg", {}),
        (import_buildings, region / "buildings.gpkg", {}),
        (import_leads, region / "leads.gpkg", {}),
        (import_branches, region / "branches.csv", {}),
        (import_customers, region / "customers.csv", {}),
        (import_orders, region / "orders.csv", {}),
    ]
    for fn, path, kwargs in steps:
        if not path.exists():
            continue  # a region has the layers it has (the Bay Area has no addresses or roads)
        # One transaction per file, as `gcrm import` does.
        with engine.begin() as conn:
            report = fn(conn, path, **kwargs)
        say(report.summary())


def _top_level(conn: Connection) -> str:
    """The level the demo's managers are made for: a level of rank 1, preferably the root of
    a hierarchy (another level nests in it), as Helsinki's districts are."""
    levels = read_area_levels(conn)
    top = [lv.level for lv in levels if lv.rank == 1]
    if not top:
        msg = "the demo region has no area level of rank 1; rebuild it with `gcrm demo`"
        raise NotFoundError(msg)
    parents = {lv.parent_level for lv in levels}
    return next((level for level in top if level in parents), top[0])


def _user_name(code: str) -> str:
    # User names allow letters, digits and . _ @ - (gcrm.access); area codes may hold more.
    return "manager-" + re.sub(r"[^a-z0-9._@-]+", "-", code.lower()).strip("-")


def create_demo_logins(conn: Connection) -> list[DemoLogin]:
    """An admin (every area) and one manager per area of the top level, each with a new
    random password; users already there from an earlier run get a new password (and lose
    any lock-out), so the printed logins always work.

    Returns
    -------
    list of DemoLogin
        Name, role, scope and password of each.
    """
    level = _top_level(conn)
    codes = read_areas(conn, level=level)["code"].astype(str)
    wanted = [("admin", "admin", "all")] + [
        (_user_name(code), "manager", f"{level}:{code}") for code in codes
    ]
    existing = set(list_users(conn)["name"])
    logins = []
    for name, role, scope in wanted:
        password = secrets.token_urlsafe(12)
        if name in existing:
            set_password(conn, name, password)
        else:
            add_user(conn, name, role=role, scopes=[scope], password=password)
        logins.append(DemoLogin(name, role, "all areas" if scope == "all" else scope, password))
    return logins


def _score(engine: Engine, *, seed: int) -> list[str]:
    """Score the leads, the customers' churn risk and their value, each with its backtest
    stored beside it (what ``gcrm leads score``, ``gcrm customers churn-risk`` and ``gcrm
    customers value`` do), before the cube is built so that it carries the score measures."""
    lines = []
    run = score_leads(engine, seed=seed)
    with engine.connect() as conn:
        figures = (latest_run(conn, "lead", with_backtest=True) or {}).get("backtest")
    lines.append(f"lead score: run {run}; backtest " + _auc_line(figures))
    with engine.begin() as conn:
        churn = score_customers(conn, "churn")
        value = score_customers(conn, "value")
    lines.append(
        f"churn risk of {len(churn.scored.scores)} active customers; backtest "
        + _auc_line(churn.backtest)
    )
    total = value.scored.scores["expected_value_12m"].sum()
    lines.append(f"customer value: {total:,.0f} expected over the next 12 months")
    return lines


def _auc_line(figures: dict[str, Any] | None) -> str:
    """``AUC 0.68 (random 0.50, recency 0.63)``: the model's and each baseline's AUC."""
    if not figures:
        return "not run"
    baselines = ", ".join(
        f"{name} {b['auc']:.2f}" for name, b in figures.get("baselines", {}).items()
    )
    return f"AUC {figures['auc']:.2f} ({baselines})"


def _demo_plan(engine: Engine, spec: Region) -> str:
    """Design the demo's territory plan (balanced on customers and revenue) and save it as
    the current plan, unless a plan of that name is stored already; return what was done."""
    with engine.connect() as conn:
        stored = list_plans(conn)
    if DEMO_PLAN in set(stored["name"]):
        return f"territory plan: kept {DEMO_PLAN!r} (gcrm territories plans lists it)"
    balance = {"customers": 1.0, "revenue": 1.0}
    with engine.connect() as conn:
        units = read_design_units(conn, level=spec.plan_level, criteria=list(balance))
    result = design_territories(units, k=spec.plan_k, balance=balance, seed=0)
    with engine.begin() as conn:
        save_plan(
            conn,
            name=DEMO_PLAN,
            level=spec.plan_level,
            assignment=result.assignment,
            created_by="demo",
            balance=balance,
            settings={"method": "design", "adjacency": "queen", "seed": 0},
            figures=design_figures(result),
            make_current=True,
        )
    deviation = ", ".join(f"{k} {v:.1%}" for k, v in result.max_deviation.items())
    return (
        f"territory plan: {DEMO_PLAN!r}, {spec.plan_k} territories of {len(units)} "
        f"{spec.plan_level} areas, max deviation {deviation}, in {result.seconds:.1f} s "
        "(the Planning page shows it)"
    )


def run_demo(
    settings: Settings,
    *,
    region: str = "helsinki",
    customers: int = 3000,
    seed: int = 42,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> DemoResult:
    """Build a demo region and run every pipeline step on it.

    Idempotent: a second run reuses the region files when the build parameters are the same,
    and the imports upsert (nothing changes); enrichment and the cube are recomputed. The
    demo's users (:func:`create_demo_logins`) are kept, with new passwords, returned in
    ``DemoResult.logins``. ``settings`` are the user's; the region's own are
    :func:`region_settings`.
    """
    settings = region_settings(settings, region)  # validates ``region``
    spec = REGIONS[region]
    messages: list[str] = []
    emit = say or messages.append
    if region != "helsinki":
        ensure_database(settings.database_url)
    engine = create_db_engine(settings.database_url)
    region_dir = _region_dir(settings, region)
    result = DemoResult(
        region_dir=region_dir, cube_path=settings.cube_path, settings=settings, messages=messages
    )
    steps = [
        "schema",
        "region files",
        "import",
        "enrich",
        "scores",
        "cube",
        "map",
        "territories",
        "plan",
        "leads",
        "users",
    ]
    bar = tqdm(total=len(steps), desc=f"gcrm demo {region}", unit="step", disable=not progress)
    try:
        bar.set_postfix_str("schema")
        emit(f"schema gcrm at revision {init_schema(engine)}")
        bar.update(1)

        bar.set_postfix_str("region files")
        built = _build_region(settings, region, customers=customers, seed=seed)
        emit(("built" if built else "reused") + f" demo region files in {region_dir}")
        bar.update(1)

        bar.set_postfix_str("import")
        _load_region(engine, region_dir, emit)
        with engine.begin() as conn:
            set_region(conn, name=spec.label, currency=spec.currency)
        bar.update(1)

        bar.set_postfix_str("enrich")
        with engine.begin() as conn:
            emit(enrich_points(conn).summary())
        bar.update(1)

        bar.set_postfix_str("scores")
        for line in _score(engine, seed=seed):
            emit(line)
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
            result.map_path = make_region_map(
                conn, cube=ds, level=spec.map_level, out=out / "map.html"
            )
        emit(f"map: {result.map_path}")
        bar.update(1)

        bar.set_postfix_str("territories")
        with engine.begin() as conn:
            report = build_territory_report(
                conn, cube=ds, level=spec.report_level, out_dir=out / "territories"
            )
        result.report_paths = [report.xlsx, report.html]
        emit(f"territory report: {report.xlsx}, {report.html}")
        bar.update(1)

        bar.set_postfix_str("plan")
        emit(_demo_plan(engine, spec))
        bar.update(1)

        bar.set_postfix_str("leads")
        with engine.connect() as conn:
            lon, lat = conn.exec_driver_sql(
                "SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1"
            ).one()
            leads = find_nearby_leads(
                conn, lon=lon, lat=lat, radius_m=spec.leads_radius_m, limit=50
            )
        result.leads_path = export_leads(leads, out / "leads_near_first_branch.csv")
        emit(
            f"leads: {len(leads)} within {spec.leads_radius_m:.0f} m of the first branch -> {result.leads_path}"
        )
        bar.update(1)

        bar.set_postfix_str("users")
        with engine.begin() as conn:
            result.logins = create_demo_logins(conn)
        with engine.connect() as conn:
            principals = [principal_by_name(conn, login.name) for login in result.logins]
        data = scoped_engine(settings.app_database_url or settings.database_url)
        try:
            scopes = build_scope_cubes(data, settings.cube_path, principals)
        finally:
            data.dispose()
        managers = sum(login.role == "manager" for login in result.logins)
        emit(
            f"users: an admin and {managers} managers, one per top-level area (logins below); "
            f"{scopes['built'] + scopes['fresh']} scope cubes ready"
        )
        bar.update(1)
    finally:
        bar.close()
        engine.dispose()
    return result
