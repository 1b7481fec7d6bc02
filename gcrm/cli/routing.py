"""``gcrm catchments``: drive-time catchments of the branches."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import html_option, out_option
from gcrm.io import SPATIAL_FORMATS, check_suffix, write_frame
from gcrm.maps import make_catchment_map
from gcrm.routing import branch_catchments

__all__ = ["catchments_command"]


def _parse_minutes(value: str) -> tuple[float, ...]:
    try:
        minutes = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        minutes = ()
    if not minutes or any(m <= 0 for m in minutes):
        msg = f"--minutes {value!r} is not a list of positive minutes; use e.g. 5,10,15"
        raise click.BadParameter(msg)
    return minutes


@click.command("catchments")
@click.option(
    "--minutes",
    default="5,10,15",
    show_default=True,
    help="Drive-time limits in minutes, comma-separated.",
)
@out_option(formats=SPATIAL_FORMATS, help="GeoPackage (.gpkg) or GeoJSON (.geojson) to write.")
@html_option(help="Also write an offline HTML map of the catchments.")
@pass_ctx
def catchments_command(ctx: Context, minutes: str, out: Path, html_out: Path | None) -> None:
    """Drive-time catchments of every branch: the area that reaches it within N minutes.

    \b
    Examples:
      gcrm catchments -o catchments.gpkg
      gcrm catchments --minutes 3,6,9 -o catchments.geojson --html catchments.html
    """
    limits = _parse_minutes(minutes)
    check_suffix(out, SPATIAL_FORMATS, argument="--out")
    # A transaction that commits: a road graph built on the way is stored for the next run.
    with ctx.engine.begin() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM gcrm.branches").scalar_one()
        with tqdm(total=n, desc="catchments", unit="branch") as bar:

            def branch(code: str) -> None:
                bar.set_postfix_str(code)
                bar.update(1)

            gdf = branch_catchments(conn, minutes=limits, on_branch=branch)
        # The GeoPackage layer is named like the file, as GDAL names it by default.
        write_frame(gdf, out, layer=out.stem, formats=SPATIAL_FORMATS, argument="--out")
        click.echo(f"{len(gdf)} catchments ({gdf['code'].nunique()} branches) written to {out}")
        if html_out is not None:
            make_catchment_map(conn, catchments=gdf, out=html_out)
            click.echo(f"map written to {html_out}")
