"""``gcrm territories``: territory reports on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import geopandas as gpd
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import level_option, out_option, period_option, vintage_option
from gcrm.cube import load_cube
from gcrm.territories import (
    ADJACENCY,
    COMPACTNESS_WEIGHT,
    KPIS,
    REPORT_BALANCE,
    REPORT_FORMATS,
    WORKLOAD,
    DesignResult,
    build_territory_report,
    design_constraints,
    design_figures,
    design_territories,
    format_sources,
    format_summary,
    parse_design_balance,
    parse_visits,
    read_design_units,
    read_locks,
    read_plan,
    read_workload,
    save_plan,
    write_design,
)

__all__ = ["territories"]


@click.group()
def territories() -> None:
    """Sales territories: the areas of one level, with their KPIs."""


@territories.command("report")
@level_option(required=True, aliases=("--by",), help="Area level whose areas are the territories.")
@period_option()
@click.option(
    "--kpi",
    "map_kpi",
    type=click.Choice(list(KPIS)),
    default="revenue",
    show_default=True,
    help="KPI colouring the map.",
)
@click.option(
    "-o",
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the report's files [default: <data-dir>/out/territories].",
)
@vintage_option(
    help="The vintage of population and households, e.g. 2019 [default: as in the cube, "
    "the latest unless `gcrm cube build --vintage` chose one]."
)
@click.option(
    "--format",
    "formats",
    default=None,
    metavar="LIST",
    help=f"Files to write, comma-separated, of {','.join(REPORT_FORMATS)} [default: all "
    "four; the PDF only for up to 200 territories].",
)
@click.option(
    "--balance",
    default=",".join(REPORT_BALANCE),
    show_default=True,
    help="KPIs whose balance against the mean the PDF and GeoPackage show, comma-separated "
    "(customers, active, revenue, orders, leads, population, ...); the design command's "
    "weights (customers:1) are accepted and ignored.",
)
@requires("territory_reports")
@pass_ctx
def report(
    ctx: Context,
    level: str,
    period: str | None,
    map_kpi: str,
    out_dir: Path | None,
    vintage: str | None,
    formats: str | None,
    balance: str,
) -> None:
    """Write a territory report into a folder: XLSX (summary + a sheet per territory), an
    offline HTML page with a map, a PDF (a cover with the balance of every territory against
    the mean, then a page per territory: map, KPIs, balance, top customers) and a GeoPackage
    (layer `territories`: polygons with their KPIs, for QGIS).

    A published plan's territories are the level `territory`.

    \b
    Examples:
      gcrm territories report --level district
      gcrm territories report --level territory --format pdf,gpkg --balance customers,revenue
      gcrm territories report --level postcode --period 2025-Q1 --kpi penetration -o reports/
      gcrm territories report --level district --vintage 2019
    """
    cube = load_cube(ctx.cube_path())
    target = out_dir or ctx.settings.out_dir / "territories"
    bars: list[tqdm] = []  # the PDF's bar, opened when the PDF is started

    def progress(stage: str, done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=100, desc="pdf", unit="%"))
        share = {"maps": (0, 60), "pages": (60, 100)}[stage]
        bars[0].set_postfix_str(stage)
        bars[0].update(max(share[0] + (share[1] - share[0]) * done // max(total, 1) - bars[0].n, 0))

    # A transaction that commits: the report is recorded in the audit log.
    with ctx.engine.begin() as conn:
        result = build_territory_report(
            conn,
            cube=cube,
            level=level,
            out_dir=target,
            period=period,
            map_kpi=map_kpi,
            vintage=vintage,
            formats=None if formats is None else [f for f in formats.split(",") if f.strip()],
            balance=[b.partition(":")[0].strip() for b in balance.split(",") if b.strip()],
            progress=progress,
        )
    for bar in bars:
        bar.close()
    click.echo(format_summary(result.summary))
    if not result.sources.empty:
        click.echo("sources:\n" + format_sources(result.sources))
    for note in result.notes:
        click.echo(note, err=True)
    for fmt, path in result.paths.items():
        click.echo(f"{fmt} written to {path}")


@territories.command("design")
@level_option(required=True, help="Area level whose areas are the units, e.g. zone.")
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=None,
    help="Number of territories [default: one per base with --base, else --from-plan's].",
)
@click.option(
    "--balance",
    default="customers:1",
    show_default=True,
    help="Criteria to balance, with weights: customers, active, revenue, orders, leads, "
    "population, workload (with --visits) (e.g. customers:1,revenue:1).",
)
@click.option(
    "--visits",
    default=None,
    help="Workload by segment, visits per year x minutes per visit, for --balance workload "
    "(e.g. retail:2x30,smb:6x45); other segments weigh nothing.",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV or XLSX with columns code,territory: units that stay in that territory.",
)
@click.option(
    "--within",
    default=None,
    metavar="LEVEL",
    help="A coarser level no territory crosses (e.g. county): each territory lies in one area.",
)
@click.option(
    "--base",
    default=None,
    metavar="branches|FILE",
    help="Territory bases: `branches` (one territory per branch) or a CSV/XLSX with name, "
    "rep (optional) and lon,lat or address; territory t is anchored at base t's unit.",
)
@click.option(
    "--max-drive-min",
    type=float,
    default=None,
    help="Most minutes by road from a territory's base to its units (needs --base and roads).",
)
@click.option(
    "--from-plan",
    default=None,
    metavar="PLAN",
    help="Rebalance a stored plan (id, name, name@version or current) of the same level.",
)
@click.option(
    "--max-moves",
    default=None,
    help="With --from-plan: most units that change territory, a share (5%) or a count (70).",
)
@click.option(
    "--adjacency",
    type=click.Choice(ADJACENCY),
    default="queen",
    show_default=True,
    help="Units are neighbours when they share a corner (queen) or an edge (rook).",
)
@click.option(
    "--compactness",
    type=click.FloatRange(min=0),
    default=COMPACTNESS_WEIGHT,
    show_default=True,
    help="Weight of compactness against balance; larger gives rounder territories.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same plan.")
@click.option(
    "--name",
    "plan_name",
    default=None,
    help="Save the design as a plan of this name (a name that exists gets its next version).",
)
@click.option(
    "--current", is_flag=True, default=False, help="With --name: mark the saved plan current."
)
@out_option(formats=(".gpkg", ".csv", ".xlsx"), required=False)
@requires("plan_territories")
@pass_ctx
def design(
    ctx: Context,
    level: str,
    k: int | None,
    balance: str,
    visits: str | None,
    lock_path: Path | None,
    within: str | None,
    base: str | None,
    max_drive_min: float | None,
    from_plan: str | None,
    max_moves: str | None,
    adjacency: str,
    compactness: float,
    seed: int,
    plan_name: str | None,
    current: bool,
    out: Path | None,
) -> None:
    """Design k contiguous territories from the areas of LEVEL, balanced on --balance;
    save them as a plan (--name) and/or write them (-o).

    Every territory is one connected piece (units with no neighbour join their nearest);
    locked units stay put; --within keeps each territory inside one area of a coarser level;
    --base anchors territory t at base t and --max-drive-min keeps its units within reach
    of it by road; --from-plan rebalances a stored plan moving at most --max-moves units.
    The same seed gives the same plan. A GeoPackage has a `territories` layer (dissolved,
    with totals) and a `units` layer (code, territory); CSV and XLSX hold the unit table.

    \b
    Examples:
      gcrm territories design --level zone --k 20 --balance customers:1,revenue:1 \\
          --name "2026 plan" --current
      gcrm territories design --level zone --k 20 --within county -o plan.gpkg
      gcrm territories design --level zone --base branches --max-drive-min 45 --name "By branch"
      gcrm territories design --level zone --base reps.csv --balance workload \\
          --visits consumer:1x20,smb:6x45,corporate:12x60 --name "Workload plan"
      gcrm territories design --level zone --from-plan current --max-moves 5% \\
          --balance customers:1,revenue:1 --name "2026 plan"
      gcrm territories design --level district --k 4 --lock locks.csv --seed 3 -o plan.xlsx
    """
    if plan_name is None and out is None:
        msg = "give --name '2026 plan' to save the plan, -o plan.gpkg to write it, or both"
        raise click.UsageError(msg)
    if current and plan_name is None:
        raise click.UsageError("--current marks the saved plan current: give --name too")
    criteria = parse_design_balance(balance)
    if (WORKLOAD in criteria) != (visits is not None):
        msg = (
            "--balance workload and --visits go together: e.g. --balance customers:1,workload:1 "
            "--visits retail:2x30,smb:6x45"
        )
        raise click.UsageError(msg)
    locks = read_locks(lock_path) if lock_path is not None else None
    # One transaction for the reads: bases may be geocoded (a temporary table) and a road
    # graph built afresh is stored for the next run (the operator's only).
    with ctx.engine.begin() as conn:
        units = read_design_units(
            conn, level=level, criteria=[c for c in criteria if c != WORKLOAD]
        )
        if visits is not None:
            hours = read_workload(conn, level=level, visits=parse_visits(visits))
            units[WORKLOAD] = units["code"].astype(str).map(hours).fillna(0.0)
        constraints = design_constraints(
            conn,
            units=units,
            level=level,
            k=k,
            within=within,
            base=base,
            max_drive_min=max_drive_min,
            from_plan=from_plan,
            max_moves=max_moves,
            store_graph=ctx.as_user is None,
        )
    result = _run_design(
        units,
        k=constraints.k,
        balance=criteria,
        locks=locks,
        adjacency=adjacency,
        seed=seed,
        compactness=compactness,
        **constraints.design_options(),
    )
    click.echo(_format_design(result))
    if plan_name is not None:
        settings = {
            "method": "rebalance" if constraints.start_plan is not None else "design",
            "adjacency": adjacency,
            "seed": seed,
            "compactness": compactness,
            "locks": len(locks or {}),
            "lock_file": None if lock_path is None else lock_path.name,
            "within": within,
            "base": base,
            "max_drive_min": max_drive_min,
            "from_plan": None if constraints.start_plan is None else constraints.start_plan.label,
            "max_moves": constraints.max_moves,
            "visits": visits,
        }
        names, reps, bases = constraints.territory_labels()
        with ctx.engine.begin() as conn:
            plan_id = save_plan(
                conn,
                name=plan_name,
                level=level,
                assignment=result.assignment,
                created_by=ctx.acting().name,
                balance=criteria,
                settings={key: value for key, value in settings.items() if value is not None},
                figures=design_figures(result),
                parent_id=None if constraints.start_plan is None else constraints.start_plan.id,
                territory_names=names,
                reps=reps,
                bases=bases,
                make_current=current,
            )
            saved = read_plan(conn, str(plan_id))
        click.echo(f"plan saved: {saved.label}{' (current)' if saved.is_current else ''}")
    if out is not None:
        click.echo(f"plan written to {write_design(result, out)}")


def _run_design(units: gpd.GeoDataFrame, **options: Any) -> DesignResult:
    """:func:`design_territories` under a progress bar."""
    with tqdm(total=100, desc="design", unit="%") as bar:

        def progress(stage: str, done: int, total: int) -> None:
            share = {"adjacency": (0, 10), "start": (10, 20)}.get(stage, (20, 100))
            at = share[0] + (share[1] - share[0]) * done // max(total, 1)
            bar.set_postfix_str(stage)
            bar.update(max(at - bar.n, 0))

        result = design_territories(units, progress=progress, **options)
        bar.update(100 - bar.n)
    return result


def _format_design(result: DesignResult) -> str:
    """The printed summary of a design: deviations per criterion, compactness, time."""
    lines = [f"{len(result.territories)} territories of {len(result.units)} units"]
    for name, weight in result.balance.items():
        lines.append(
            f"  {name} (weight {weight:g}): max deviation from the mean "
            f"{result.max_deviation[name]:.1%} (start {result.start_max_deviation[name]:.1%})"
        )
    contiguous = int(result.territories["contiguous"].sum())
    lines.append(f"  contiguous: {contiguous} of {len(result.territories)}")
    lines.append(f"  mean Polsby-Popper: {result.mean_polsby_popper:.3f}")
    lines.append(
        f"  mean moment of inertia (normalised, 1 = a disc): {result.mean_moment_of_inertia:.3f}"
    )
    if result.islands:
        lines.append(f"  units joined to their nearest unit: {', '.join(result.islands)}")
    lines.append(f"  moves: {result.moves}; time: {result.seconds:.1f} s")
    return "\n".join(lines)
