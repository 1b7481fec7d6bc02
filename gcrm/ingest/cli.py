"""``gcrm import ...`` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.ingest import (
    import_area_stats,
    import_areas,
    import_customers,
    import_layer,
    import_orders,
)
from gcrm.ingest.mapping import parse_map_options
from gcrm.ingest.validate import ImportReport

__all__ = ["import_group"]

_file = click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """--rejects, --map and --mapping, shared by every importer."""
    command = click.option(
        "--mapping",
        "mapping_file",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help='TOML file with a [map] table of FIELD = "COLUMN" lines.',
    )(command)
    command = click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="Take gcrm field FIELD from file column COLUMN (repeatable), e.g. --map code=GEOID.",
    )(command)
    return click.option(
        "--rejects",
        "rejects_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Where rejected rows go, with row number and reason [default: FILE.rejects.csv].",
    )(command)


_crs = click.option(
    "--crs",
    default=None,
    help="The CRS of a file that declares none (e.g. EPSG:3067); gcrm never guesses one.",
)


def _run(ctx: Context, fn: Callable[..., ImportReport], *args: Any, **kwargs: Any) -> ImportReport:
    # One transaction per file: it lands whole or not at all.
    with ctx.engine.begin() as conn:
        report = fn(conn, *args, **kwargs)
    click.echo(report.summary())
    return report


@click.group("import")
def import_group() -> None:
    """Load files into the database: validate, normalise, geocode, upsert.

    Every import is one transaction and idempotent: re-running the same file changes
    nothing. Bad rows are written to a rejects file with their row number and reason; the
    good rows load. Columns named differently in your file: --map FIELD=COLUMN.
    """


@import_group.command("customers")
@_file
@_common
@pass_ctx
def customers_cmd(
    ctx: Context,
    file: Path,
    rejects_path: Path | None,
    maps: tuple[str, ...],
    mapping_file: Path | None,
) -> None:
    """Import a customer export (CSV or XLSX), geocoding every address.

    \b
    Columns: customer_id, name, street, house_number, postcode, city, segment, status,
             signup_date [, email, phone, churn_date]
    Examples:
      gcrm import customers crm_export.xlsx
      gcrm import customers export.csv --map customer_id=CustNo --map postcode=Zip
    """
    mapping = parse_map_options(maps, mapping_file=mapping_file)
    _run(ctx, import_customers, file, rejects_path=rejects_path, mapping=mapping)


@import_group.command("orders")
@_file
@_common
@pass_ctx
def orders_cmd(
    ctx: Context,
    file: Path,
    rejects_path: Path | None,
    maps: tuple[str, ...],
    mapping_file: Path | None,
) -> None:
    """Import orders (CSV or XLSX): order_id, customer_id, order_date, amount [, channel, branch_code]."""
    mapping = parse_map_options(maps, mapping_file=mapping_file)
    _run(ctx, import_orders, file, rejects_path=rejects_path, mapping=mapping)


@import_group.command("areas")
@_file
@click.option(
    "--levels",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV of levels (level, parent_level, rank, label, derivation), loaded first.",
)
@click.option("--level", default=None, help="The level of every area in FILE (created if new).")
@click.option(
    "--parent-level",
    default=None,
    help="With --level: the level above it; parents are then derived by spatial nesting when FILE has no parent codes.",
)
@_crs
@_common
@pass_ctx
def areas_cmd(
    ctx: Context,
    file: Path,
    levels: Path | None,
    level: str | None,
    parent_level: str | None,
    crs: str | None,
    rejects_path: Path | None,
    maps: tuple[str, ...],
    mapping_file: Path | None,
) -> None:
    """Import areas (level, code, name, parent_code, derivation; polygons), any GDAL format.

    The hierarchy is checked on every import: missing parent codes are derived by spatial
    nesting, and areas without a parent, overlaps and gaps are reported.

    \b
    Examples:
      gcrm import areas areas.gpkg --levels area_levels.csv
      gcrm import areas tracts.shp --level tract --parent-level county \\
          --map code=GEOID --map name=NAME --map parent=COUNTY
    """
    mapping = parse_map_options(maps, mapping_file=mapping_file)
    _run(
        ctx,
        import_areas,
        file,
        levels=levels,
        level=level,
        parent_level=parent_level,
        crs=crs,
        rejects_path=rejects_path,
        mapping=mapping,
    )


@import_group.command("area-stats")
@_file
@click.option(
    "--level",
    default=None,
    help="The level of the areas (wide files; or fills a missing level column).",
)
@click.option(
    "--key",
    default=None,
    help="Wide file: the area code column; every other numeric column is a measure.",
)
@click.option(
    "--source",
    default=None,
    help="Wide file: where the figures come from [default: the file name].",
)
@click.option("--vintage", default=None, help="Wide file: the figures' year or edition, e.g. 2022.")
@_common
@pass_ctx
def area_stats_cmd(
    ctx: Context,
    file: Path,
    level: str | None,
    key: str | None,
    source: str | None,
    vintage: str | None,
    rejects_path: Path | None,
    maps: tuple[str, ...],
    mapping_file: Path | None,
) -> None:
    """Import area statistics; every figure keeps its source and vintage.

    \b
    Long CSV/XLSX: level, code, measure, value, source, vintage [, method]
    Wide CSV/XLSX: one row per area, one column per measure (--key, --level)
    Examples:
      gcrm import area-stats area_stats.csv
      gcrm import area-stats acs.csv --level tract --key GEOID --source "ACS 5-year" --vintage 2022
    """
    mapping = parse_map_options(maps, mapping_file=mapping_file)
    _run(
        ctx,
        import_area_stats,
        file,
        level=level,
        key=key,
        source=source,
        vintage=vintage,
        rejects_path=rejects_path,
        mapping=mapping,
    )


def _layer_command(kind: str, doc: str) -> click.Command:
    @import_group.command(kind, help=doc)
    @_file
    @_crs
    @_common
    @pass_ctx
    def command(
        ctx: Context,
        file: Path,
        crs: str | None,
        rejects_path: Path | None,
        maps: tuple[str, ...],
        mapping_file: Path | None,
    ) -> None:
        mapping = parse_map_options(maps, mapping_file=mapping_file)
        _run(ctx, import_layer, kind, file, rejects_path=rejects_path, mapping=mapping, crs=crs)

    return command


_layer_command(
    "addresses",
    "Import address points, the geocoding reference (ref, street, housenumber, unit, postcode, "
    "city; points), from any file GDAL reads or CSV with lon/lat. OpenAddresses CSVs work as they "
    "are (NUMBER, STREET, UNIT, CITY, POSTCODE, LON, LAT; ref from HASH/ID).",
)
_layer_command(
    "postcodes",
    "Import postcode centroids (postcode, city; CSV with lon/lat or points): the geocoder's "
    "postcode-level reference where there are no address points.",
)
_layer_command(
    "roads",
    "Import roads (ref, class, speed_kmh, name, oneway, surface; lines). E.g. --map class=FUNC_CLASS.",
)
_layer_command(
    "zones",
    "Import zoning / land use (ref, class: residential|commercial|industrial|mixed|other, "
    "landuse, name; polygons). E.g. gcrm import zones zoning.geojson --map class=ZONE_TYPE",
)
_layer_command(
    "buildings",
    "Import buildings (ref, use: residential|commercial|industrial|public|other, building, "
    "levels, residential; polygons).",
)
_layer_command(
    "leads",
    "Import leads (external_id, name, category_group, category, street, housenumber, postcode, "
    "city, phone, website; points).",
)
_layer_command(
    "branches",
    "Import branches (code, name, street, housenumber, postcode, city; CSV with lon/lat or points).",
)
