"""``gcrm territories``: territory reports on the command line."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import level_option, period_option, vintage_option
from gcrm.cube import load_cube
from gcrm.territories import KPIS, build_territory_report, format_sources, format_summary

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
