"""``gcrm territories``: territory reports on the command line."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import level_option, out_option, period_option, vintage_option
from gcrm.cube import load_cube
from gcrm.territories import (
    ADJACENCY,
    COMPACTNESS_WEIGHT,
    KPIS,
    DesignResult,
    build_territory_report,
    design_territories,
    format_sources,
    format_summary,
    parse_balance,
    read_design_units,
    read_locks,
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
    help="Folder for the XLSX and HTML [default: <data-dir>/out/territories].",
)
@vintage_option(
    help="The vintage of population and households, e.g. 2019 [default: as in the cube, "
    "the latest unless `gcrm cube build --vintage` chose one]."
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
) -> None:
    """Write a territory report: XLSX (summary + a sheet per territory) and an HTML page.

    \b
    Examples:
      gcrm territories report --level district
      gcrm territories report --level postcode --period 2025-Q1 --kpi penetration -o reports/
      gcrm territories report --level district --vintage 2019
    """
    cube = load_cube(ctx.cube_path())
    target = out_dir or ctx.settings.out_dir / "territories"
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
        )
    click.echo(format_summary(result.summary))
    if not result.sources.empty:
        click.echo("sources:\n" + format_sources(result.sources))
    click.echo(f"xlsx written to {result.xlsx}")
    click.echo(f"html written to {result.html}")


@territories.command("design")
@level_option(required=True, help="Area level whose areas are the units, e.g. zone.")
@click.option("--k", "k", type=int, required=True, help="Number of territories.")
@click.option(
    "--balance",
    default="customers:1",
    show_default=True,
    help="Criteria to balance, with weights: customers, active, revenue, orders, leads, "
    "population (e.g. customers:1,revenue:1).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV or XLSX with columns code,territory: units that stay in that territory.",
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
@out_option(formats=(".gpkg", ".csv", ".xlsx"), required=False)
@requires("territory_reports")
@pass_ctx
def design(
    ctx: Context,
    level: str,
    k: int,
    balance: str,
    lock_path: Path | None,
    adjacency: str,
    compactness: float,
    seed: int,
    out: Path | None,
) -> None:
    """Design k contiguous territories from the areas of LEVEL, balanced on --balance.

    Every territory is one connected piece (units with no neighbour join their nearest);
    locked units stay put; the same seed gives the same plan. A GeoPackage has a
    `territories` layer (dissolved, with totals) and a `units` layer (code, territory);
    CSV and XLSX hold the unit table.

    \b
    Examples:
      gcrm territories design --level zone --k 20 --balance customers:1,revenue:1 -o plan.gpkg
      gcrm territories design --level district --k 4 --lock locks.csv --seed 3 -o plan.xlsx
    """
    criteria = parse_balance(balance)
    locks = read_locks(lock_path) if lock_path is not None else None
    with ctx.engine.connect() as conn:
        units = read_design_units(conn, level=level, criteria=list(criteria))
    with tqdm(total=100, desc="design", unit="%") as bar:

        def progress(stage: str, done: int, total: int) -> None:
            share = {"adjacency": (0, 10), "start": (10, 20), "search": (20, 100)}[stage]
            at = share[0] + (share[1] - share[0]) * done // max(total, 1)
            bar.set_postfix_str(stage)
            bar.update(max(at - bar.n, 0))

        result = design_territories(
            units,
            k=k,
            balance=criteria,
            locks=locks,
            adjacency=adjacency,
            seed=seed,
            compactness=compactness,
            progress=progress,
        )
        bar.update(100 - bar.n)
    click.echo(_format_design(result))
    if out is not None:
        click.echo(f"plan written to {write_design(result, out)}")


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
    if result.islands:
        lines.append(f"  units joined to their nearest unit: {', '.join(result.islands)}")
    lines.append(f"  moves: {result.moves}; time: {result.seconds:.1f} s")
    return "\n".join(lines)
