"""``gcrm import ...``: files and OpenStreetMap extracts into the database."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import (
    AliasedOption,
    crs_option,
    file_argument,
    level_option,
    mapping_options,
    rejects_option,
)
from gcrm.cli.refresh import refresh_cube
from gcrm.core import DatabaseError
from gcrm.ingest import (
    INTERPOLATION_METHODS,
    OSM_LAYERS,
    ColumnMapping,
    ImportReport,
    import_area_stats,
    import_areas,
    import_customers,
    import_layer,
    import_leads,
    import_orders,
    import_osm,
    load_preset,
    parse_code_widths,
    preset_names,
)
from gcrm.ingest.codes import DEFAULT_CODE_FIELD
from gcrm.io import first_line

__all__ = ["import_group"]

F = TypeVar("F", bound=Callable[..., Any])
_file = file_argument()


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """--rejects, --map and --mapping, shared by every importer."""
    return rejects_option(mapping_options(command))


def _codes(kind: str, *, preset: bool = False) -> Callable[[F], F]:
    """``--code-width`` (and with ``preset``, ``--preset NAME``), merged into the command's
    ``mapping``: the preset first, then ``--mapping FILE`` and ``--map``, then the widths.

    Goes below ``@_common`` (it receives the mapping those options make).
    """
    default_field = DEFAULT_CODE_FIELD[kind]

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def merged(
            *args: Any,
            mapping: ColumnMapping,
            code_widths: tuple[str, ...],
            preset_name: str | None = None,
            **kw: Any,
        ) -> Any:
            base = load_preset(kind, preset_name) if preset_name else ColumnMapping()
            widths = parse_code_widths(code_widths, default_field=default_field)
            return command(*args, mapping=base.merged(mapping).with_widths(widths), **kw)

        with_widths = click.option(
            "--code-width",
            "code_widths",
            multiple=True,
            metavar="N|FIELD=N",
            help=f"Codes of digits that lost their leading zeros (a number field: 30601 for "
            f"030601) are zero-padded to N digits: {default_field}, or FIELD=N for another "
            "field (postcode=5). Repeatable.",
        )(merged)
        if not preset:
            return with_widths  # type: ignore[return-value]
        return click.option(  # type: ignore[return-value]
            "--preset",
            "preset_name",
            type=click.Choice(preset_names(kind), case_sensitive=False),
            default=None,
            help="Read the export of this CRM as it writes it (column names, dates, "
            "statuses); --map and --mapping FILE override it.",
        )(with_widths)

    return decorate


@contextmanager
def _transaction(ctx: Context, file: Path) -> Iterator[Connection]:
    """One transaction per file: it lands whole or not at all; a lost connection says so."""
    try:
        with ctx.engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        msg = (
            f"the database failed during the import of {str(file)!r} "
            f"({first_line(exc.orig or exc, limit=150)}); nothing of it was loaded (an import "
            "is one transaction): run the same command again once the database is back"
        )
        raise DatabaseError(msg) from None


def _run(ctx: Context, fn: Callable[..., ImportReport], file: Path, **kwargs: Any) -> ImportReport:
    with _transaction(ctx, file) as conn:
        report = fn(conn, file, **kwargs)
    click.echo(report.summary())
    return report


@click.group("import")
def import_group() -> None:
    """Load files into the database: validate, normalise, geocode, upsert.

    Every import is one transaction and idempotent: re-running the same file changes
    nothing. Bad rows are written to a rejects file with their row number and reason; the
    good rows load. Columns named differently in your file: --map FIELD=COLUMN, or a TOML
    --mapping FILE ([map], [values.FIELD], [defaults], [widths], [dates]; see README). Codes
    read from number fields are written as integers (35.0 -> 35); --code-width pads those
    that lost leading zeros.
    """


@import_group.command("customers")
@_file
@_common
@_codes("customers", preset=True)
@pass_ctx
def customers_cmd(
    ctx: Context,
    file: Path,
    rejects_path: Path | None,
    mapping: ColumnMapping,
) -> None:
    """Import a customer export (CSV or XLSX), geocoding every address.

    \b
    Columns: customer_id, name, street, postcode, city, segment, status, signup_date
             [, house_number (else read from street), email, phone, churn_date]
    Presets (--preset): salesforce (Accounts report), hubspot (companies), hubspot-contacts,
             suitecrm (Accounts), odoo (contacts); or write your own --mapping FILE
    Examples:
      gcrm import customers crm_export.xlsx
      gcrm import customers export.csv --map customer_id=CustNo --map postcode=Zip
      gcrm import customers report1711890000000.csv --preset salesforce
      gcrm import customers accounts.csv --mapping our_crm.toml --code-width postcode=5

    A built cube is refreshed: the customer counts now, where they are after `gcrm enrich`.
    """
    _run(ctx, import_customers, file, rejects_path=rejects_path, mapping=mapping)
    refresh_cube(ctx)


@import_group.command("orders")
@_file
@_common
@_codes("orders")
@pass_ctx
def orders_cmd(
    ctx: Context,
    file: Path,
    rejects_path: Path | None,
    mapping: ColumnMapping,
) -> None:
    """Import orders (CSV or XLSX): order_id, customer_id, order_date, amount [, channel, branch_code].

    A built cube is refreshed: revenue and orders of the months whose orders changed.
    """
    _run(ctx, import_orders, file, rejects_path=rejects_path, mapping=mapping)
    refresh_cube(ctx)


@import_group.command("areas")
@_file
@click.option(
    "--levels",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV of levels (level, parent_level, rank, label, derivation), loaded first.",
)
@level_option(help="The level of every area in FILE (created if new).")
@click.option(
    "--parent-level",
    default=None,
    help="With --level: the level above it; parents are then derived by spatial nesting when FILE has no parent codes.",
)
@crs_option
@_common
@_codes("areas")
@pass_ctx
def areas_cmd(
    ctx: Context,
    file: Path,
    levels: Path | None,
    level: str | None,
    parent_level: str | None,
    crs: str | None,
    rejects_path: Path | None,
    mapping: ColumnMapping,
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
@level_option(help="The level of the areas (wide files; or fills a missing level column).")
@click.option(
    "--key",
    default=None,
    help="Wide file: the area code column; every other numeric column is a measure.",
)
@click.option(
    "--source",
    default=None,
    help="Wide file or --interpolate: where the figures come from [default: the file name].",
)
@click.option(
    "--vintage",
    default=None,
    help="Wide file or --interpolate: the figures' year or edition, e.g. 2022.",
)
@click.option(
    "--interpolate",
    type=click.Choice(INTERPOLATION_METHODS),
    default=None,
    help="FILE is a grid, other polygons or a raster (GeoTIFF): share its counts among the "
    "areas by surface (area) or by residential floor area (dasymetric).",
)
@click.option(
    "--value",
    "values",
    multiple=True,
    metavar="MEASURE[=COLUMN]",
    help="With --interpolate: a count to carry over, from COLUMN (a raster: band number) "
    "[default: the column named MEASURE; a raster's only band]. Repeatable.",
)
@crs_option
@_common
@_codes("area-stats")
@pass_ctx
def area_stats_cmd(
    ctx: Context,
    file: Path,
    level: str | None,
    key: str | None,
    source: str | None,
    vintage: str | None,
    interpolate: str | None,
    values: tuple[str, ...],
    crs: str | None,
    rejects_path: Path | None,
    mapping: ColumnMapping,
) -> None:
    """Import area statistics; every figure keeps its source and vintage, and vintages of
    one measure are kept side by side (readers take the latest unless told --vintage).

    \b
    Long CSV/XLSX: level, code, measure, value, source, vintage [, method]
    Wide CSV/XLSX: one row per area, one column per measure (--key, --level)
    Another geometry (--interpolate): counts per grid cell, polygon or raster pixel,
      shared among the areas of every level (or --level); totals are reported
    Examples:
      gcrm import area-stats area_stats.csv
      gcrm import area-stats acs.csv --level tract --key GEOID --source "ACS 5-year" --vintage 2022
      gcrm import area-stats grid_1km.gpkg --interpolate dasymetric \\
          --value population=vaesto --source "Statistics Finland 1 km grid" --vintage 2023
      gcrm import area-stats ghs_pop.tif --interpolate area --value population \\
          --source GHS-POP --vintage 2020
    """
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
        interpolate=interpolate,
        values=values,
        crs=crs,
    )


def _layer_command(kind: str, doc: str) -> click.Command:
    @import_group.command(kind, help=doc)
    @_file
    @crs_option
    @_common
    @_codes(kind)
    @pass_ctx
    def command(
        ctx: Context,
        file: Path,
        crs: str | None,
        rejects_path: Path | None,
        mapping: ColumnMapping,
    ) -> None:
        def load(conn: Connection, path: Path, **kwargs: Any) -> ImportReport:
            return import_layer(conn, kind, path, **kwargs)

        _run(ctx, load, file, rejects_path=rejects_path, mapping=mapping, crs=crs)

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


@import_group.command("leads")
@_file
@crs_option
@_common
@_codes("leads", preset=True)
@pass_ctx
def leads_cmd(
    ctx: Context,
    file: Path,
    crs: str | None,
    rejects_path: Path | None,
    mapping: ColumnMapping,
) -> None:
    """Import a lead or prospect list: a name and a location, and any other columns.

    The location is a geometry (any file GDAL reads), lon and lat columns, or an address in
    one column or in parts, geocoded like customers (geocode_precision, score, source and
    matched address are kept). external_id, category_group and category are optional: a
    lead without an id gets one derived from its name and location (the same row gives the
    same id on every import). Other columns are kept as the lead's attributes and exported
    again (gcrm leads export).

    \b
    Columns: name, and lon + lat, or address, or street, housenumber, postcode, city
             [, external_id, category_group, category, phone, website, source, ...]
    Presets (--preset): salesforce (Leads report), hubspot (companies)
    Examples:
      gcrm import leads shops.gpkg
      gcrm import leads prospects.xlsx --map name=Company --map address="Full address"
      gcrm import leads report1711890000000.csv --preset salesforce
    """
    _run(ctx, import_leads, file, rejects_path=rejects_path, mapping=mapping, crs=crs)


_layer_command(
    "branches",
    "Import branches (code, name, street, housenumber, postcode, city; CSV with lon/lat or points).",
)


def _parse_layers(click_ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    layers = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = sorted(set(layers) - set(OSM_LAYERS))
    if unknown or not layers:
        msg = f"{value!r} names {unknown or 'no layer'}; use a comma-separated subset of {','.join(OSM_LAYERS)}"
        raise click.BadParameter(msg, ctx=click_ctx, param=param)
    return layers


@import_group.command("osm")
@_file
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
    "--city-name",
    "--city",
    "city",
    cls=AliasedOption,
    aliases=("--city",),
    default=None,
    metavar="NAME",
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
      gcrm import osm helsinki.osm.pbf --city-name Helsinki --postcode-pattern '\\d{5}' \\
          --postcode-fill-m 300 --rejects-dir rejects/
    """
    # One transaction for the extract: it lands whole or not at all.
    with _transaction(ctx, file) as conn:
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
