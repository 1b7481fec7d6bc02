"""``gcrm customers export`` and ``gcrm leads export``: enriched point lists to files."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.exports import EXPORT_FORMATS, export_points

__all__ = ["customers", "leads_export_command"]

_out = click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help=f"Output file ({', '.join(EXPORT_FORMATS)}).",
)
_area = click.option(
    "--area",
    default=None,
    metavar="LEVEL:CODE",
    help="Only points in this area, e.g. district:D01.",
)


@click.group()
def customers() -> None:
    """Customer lists out."""


@customers.command("export")
@_out
@click.option("--segment", multiple=True, help="Keep this segment (repeatable), e.g. smb.")
@click.option("--status", multiple=True, help="Keep this status (repeatable): active, churned.")
@_area
@click.option(
    "--precision",
    multiple=True,
    help="Keep this geocode precision (repeatable), e.g. exact, interpolated, street.",
)
@pass_ctx
def customers_export_command(
    ctx: Context,
    out: Path,
    segment: tuple[str, ...],
    status: tuple[str, ...],
    area: str | None,
    precision: tuple[str, ...],
) -> None:
    """Export customers with geocoding, area codes and names at every level, zoning, road,
    drive time and the housing context of their area.

    \b
    Examples:
      gcrm customers export -o customers.xlsx
      gcrm customers export -o smb_d01.csv --segment smb --status active --area district:D01
      gcrm customers export -o rough.gpkg --precision street --precision postcode
    """
    with ctx.engine.connect() as conn:
        path = export_points(
            conn,
            entity="customers",
            path=out,
            segment=segment,
            status=status,
            area=area,
            precision=precision,
        )
    click.echo(f"customers -> {path}")


@click.command("export")
@_out
@_area
@click.option("--category", multiple=True, help="Keep this category (repeatable), e.g. cafe.")
@pass_ctx
def leads_export_command(
    ctx: Context, out: Path, area: str | None, category: tuple[str, ...]
) -> None:
    """Export leads with area codes and names at every level, zoning, road, drive time and the
    housing context of their area.

    \b
    Examples:
      gcrm leads export -o leads.xlsx
      gcrm leads export -o cafes_d02.geojson --category cafe --area district:D02
    """
    with ctx.engine.connect() as conn:
        path = export_points(conn, entity="leads", path=out, area=area, category=category)
    click.echo(f"leads -> {path}")
