"""``gcrm map``: a standalone HTML map of one area level."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gcrm.cube import load_cube
from gcrm.maps.region import make_region_map

if TYPE_CHECKING:
    from gcrm.clicontext import Context

__all__ = ["map_command"]


@click.command("map")
@click.option("--level", default="district", show_default=True, help="Area level to draw.")
@click.option(
    "--measure",
    default="active",
    show_default=True,
    help="Cube measure filling the areas (customers, active, new, churned, revenue, orders, "
    "leads, population, households, penetration, churn_rate, approximate, approximate_share).",
)
@click.option("--period", default=None, help="2025-03, 2025-Q1 or 2025 [default: whole range].")
@click.option("--segment", default=None, help="One customer segment [default: all].")
@click.option(
    "--colour-by",
    type=click.Choice(["status", "precision"]),
    default="status",
    show_default=True,
    help="Colour customer points by status or by geocode precision.",
)
@click.option(
    "--precision",
    "precisions",
    default=None,
    metavar="LIST",
    help="Draw only customers geocoded at these precisions, comma-separated: rooftop, "
    "interpolated, street, postcode, locality [default: all].",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="HTML file to write [default: <data-dir>/out/map.html].",
)
@click.pass_obj
def map_command(
    ctx: Context,
    level: str,
    measure: str,
    period: str | None,
    segment: str | None,
    colour_by: str,
    precisions: str | None,
    out: Path | None,
) -> None:
    """Write a standalone HTML map that opens offline (no tiles, no CDN).

    \b
    Examples:
      gcrm map
      gcrm map --level postcode --measure revenue --period 2025-Q1 -o revenue.html
      gcrm map --measure penetration --segment business --colour-by precision
      gcrm map --precision rooftop,interpolated -o trusted.html
      gcrm map --measure approximate_share --precision street,postcode,locality --colour-by precision
    """
    cube = load_cube(ctx.settings.cube_path)
    target = out or ctx.settings.out_dir / "map.html"
    with ctx.engine.connect() as conn:
        path = make_region_map(
            conn,
            cube=cube,
            level=level,
            measure=measure,
            period=period,
            segment=segment,
            colour_points_by=colour_by,  # type: ignore[arg-type]
            precisions=None if precisions is None else precisions.split(","),
            out=target,
        )
    click.echo(f"map written to {path}")
