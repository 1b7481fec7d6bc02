"""``gcrm territories``: territory reports on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd

from gcrm.cube import load_cube
from gcrm.maps import format_value
from gcrm.territories.kpis import KPIS
from gcrm.territories.report import build_territory_report

if TYPE_CHECKING:
    from gcrm.clicontext import Context

__all__ = ["format_summary", "territories"]


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table, numbers formatted for people."""
    table = summary[["code", "name"]].copy()
    for key, kpi in KPIS.items():
        unit = "share" if kpi.fmt == "share" else ""
        table[kpi.label] = [format_value(v, unit=unit) for v in summary[key]]
    return table.to_string(index=False)


@click.group()
def territories() -> None:
    """Sales territories: the areas of one level, with their KPIs."""


@territories.command("report")
@click.option("--by", "level", required=True, help="Area level whose areas are the territories.")
@click.option("--period", default=None, help="2025-03, 2025-Q1 or 2025 [default: whole range].")
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
@click.pass_obj
def report(
    ctx: Context, level: str, period: str | None, map_kpi: str, out_dir: Path | None
) -> None:
    """Write a territory report: XLSX (summary + a sheet per territory) and an HTML page.

    \b
    Examples:
      gcrm territories report --by district
      gcrm territories report --by postcode --period 2025-Q1 --kpi penetration -o reports/
    """
    cube = load_cube(ctx.settings.cube_path)
    target = out_dir or ctx.settings.out_dir / "territories"
    with ctx.engine.connect() as conn:
        result = build_territory_report(
            conn, cube=cube, level=level, out_dir=target, period=period, map_kpi=map_kpi
        )
    click.echo(format_summary(result.summary))
    click.echo(f"xlsx written to {result.xlsx}")
    click.echo(f"html written to {result.html}")
