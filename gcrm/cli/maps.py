"""``gcrm map``: a standalone HTML map of one area level."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    level_option,
    measure_option,
    out_option,
    period_option,
    precision_option,
    segment_option,
)
from gcrm.cube import MEASURES, load_cube
from gcrm.maps import SCHEMES, make_region_map

__all__ = ["map_command"]


@click.command("map")
@level_option(default="district", help="Area level to draw.")
@measure_option(default="active", choices=list(MEASURES))
@period_option()
@segment_option()
@click.option(
    "--colour-by",
    type=click.Choice(["status", "precision"]),
    default="status",
    show_default=True,
    help="Colour customer points by status or by geocode precision.",
)
@precision_option()
@click.option(
    "--classes",
    "scheme",
    type=click.Choice(list(SCHEMES)),
    default="quantiles",
    show_default=True,
    help="How area values are classed: quantiles (equal counts), natural_breaks "
    "(Fisher-Jenks) or equal_interval.",
)
@out_option(required=False, help="HTML file to write [default: <data-dir>/out/map.html].")
@requires("view_aggregates")
@pass_ctx
def map_command(
    ctx: Context,
    level: str,
    measure: str,
    period: str | None,
    segment: str | None,
    colour_by: str,
    precision: tuple[str, ...] | None,
    scheme: str,
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
      gcrm map --measure revenue --classes natural_breaks
    """
    cube = load_cube(ctx.cube_path())
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
            precisions=precision,
            scheme=scheme,
            out=target,
        )
    click.echo(f"map written to {path}")
