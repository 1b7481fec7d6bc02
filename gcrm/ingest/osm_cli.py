"""``gcrm import osm FILE.osm.pbf``: OpenStreetMap layers into the database."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.ingest.osm import OSM_LAYERS, import_osm

__all__ = ["osm_command"]


def _parse_layers(click_ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    layers = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = sorted(set(layers) - set(OSM_LAYERS))
    if unknown or not layers:
        msg = f"{value!r} names {unknown or 'no layer'}; use a comma-separated subset of {','.join(OSM_LAYERS)}"
        raise click.BadParameter(msg, ctx=click_ctx, param=param)
    return layers


@click.command("osm")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--layers",
    default=",".join(OSM_LAYERS),
    show_default=True,
    callback=_parse_layers,
    help="Comma-separated layers to load.",
)
@click.option(
    "--rejects-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where each layer's rejects go (<stem>.<layer>.rejects.csv) [default: beside FILE].",
)
@click.option(
    "--city",
    default=None,
    help="City of every address (an extract inside one city) [default: the addr:city tag].",
)
@click.option(
    "--postcode-pattern",
    default=None,
    help=r"Regular expression a postcode must match in full, e.g. '\d{5}'; others are dropped.",
)
@click.option(
    "--postcode-fill-m",
    type=click.FloatRange(min=0),
    default=None,
    help="Fill a missing postcode from the nearest address on the same street within this "
    "many metres.",
)
@pass_ctx
def osm_command(
    ctx: Context,
    file: Path,
    layers: tuple[str, ...],
    rejects_dir: Path | None,
    city: str | None,
    postcode_pattern: str | None,
    postcode_fill_m: float | None,
) -> None:
    """Import an OpenStreetMap extract (.osm.pbf): roads, land-use zones, buildings, leads
    (named businesses and amenities) and address points.

    Every layer is validated, repaired and upserted like the same layer from a file, all in
    one transaction; re-importing the same extract changes nothing.

    \b
    Examples:
      gcrm import osm finland-latest.osm.pbf
      gcrm import osm kotka.osm.pbf --layers roads,zones,buildings
      gcrm import osm helsinki.osm.pbf --city Helsinki --postcode-pattern '\\d{5}' \\
          --postcode-fill-m 300 --rejects-dir rejects/
    """
    # One transaction for the extract: it lands whole or not at all.
    with ctx.engine.begin() as conn:
        reports = import_osm(
            conn,
            file,
            layers=layers,
            rejects_dir=rejects_dir,
            city=city,
            postcode_pattern=postcode_pattern,
            postcode_fill_m=postcode_fill_m,
        )
    for report in reports:
        click.echo(report.summary())
