"""``gcrm profiles``: area profiles of one level to CSV, XLSX, GeoPackage or GeoJSON."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.areas import area_profiles
from gcrm.clicontext import Context, pass_ctx
from gcrm.exports import PROFILE_FORMATS, export_profiles

__all__ = ["profiles_command"]


@click.command("profiles")
@click.option("--level", required=True, help="Area level to profile, e.g. district.")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help=f"Output file ({', '.join(PROFILE_FORMATS)}).",
)
@pass_ctx
def profiles_command(ctx: Context, level: str, out: Path) -> None:
    """Profile every area of a level: population, households, dwellings, businesses,
    buildings and building density, residential floor-area share, road km by class, zoning
    mix, customers, active customers, leads, penetration and approximate market share.

    Customers and leads are counted by their enriched area codes: run `gcrm enrich` first.

    \b
    Examples:
      gcrm profiles --level district -o districts.xlsx
      gcrm profiles --level hex -o hex_profiles.gpkg
    """
    with ctx.engine.connect() as conn:
        profiles = area_profiles(conn, level=level)
    path = export_profiles(profiles, out)
    click.echo(f"{len(profiles)} areas of level {level!r} -> {path}")
