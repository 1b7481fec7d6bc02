"""``gcrm import ...`` commands."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.ingest.customers import import_customers, import_orders
from gcrm.ingest.layers import import_areas, import_layer
from gcrm.ingest.validate import ImportReport

__all__ = ["import_group"]

_file = click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
_rejects = click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where rejected rows go, with row number and reason [default: FILE.rejects.csv].",
)


def _run(ctx: Context, fn, *args, **kwargs) -> ImportReport:  # type: ignore[no-untyped-def]
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
    good rows load.
    """


@import_group.command("customers")
@_file
@_rejects
@pass_ctx
def customers_cmd(ctx: Context, file: Path, rejects_path: Path | None) -> None:
    """Import a customer export (CSV or XLSX), geocoding every address.

    \b
    Columns: customer_id, name, street, house_number, postcode, city, segment, status,
             signup_date [, email, phone, churn_date]
    Example: gcrm import customers crm_export.xlsx
    """
    _run(ctx, import_customers, file, rejects_path=rejects_path)


@import_group.command("orders")
@_file
@_rejects
@pass_ctx
def orders_cmd(ctx: Context, file: Path, rejects_path: Path | None) -> None:
    """Import orders (CSV or XLSX): order_id, customer_id, order_date, amount [, channel, branch_code]."""
    _run(ctx, import_orders, file, rejects_path=rejects_path)


@import_group.command("areas")
@_file
@click.option(
    "--levels",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="CSV of levels (level, parent_level, rank, label, derivation), loaded first.",
)
@_rejects
@pass_ctx
def areas_cmd(ctx: Context, file: Path, levels: Path | None, rejects_path: Path | None) -> None:
    """Import areas (level, code, name, parent_code, derivation; polygons).

    Example: gcrm import areas areas.gpkg --levels area_levels.csv
    """
    _run(ctx, import_areas, file, levels=levels, rejects_path=rejects_path)


def _layer_command(kind: str, doc: str) -> click.Command:
    @import_group.command(kind, help=doc)
    @_file
    @_rejects
    @pass_ctx
    def command(ctx: Context, file: Path, rejects_path: Path | None) -> None:
        _run(ctx, import_layer, kind, file, rejects_path=rejects_path)

    return command


_layer_command(
    "addresses",
    "Import address points, the geocoding reference (ref, street, housenumber, unit, postcode, "
    "city; points). Any file GDAL reads, or CSV with lon/lat.",
)
_layer_command(
    "area-stats",
    "Import area statistics (level, code, measure, value, source, vintage [, method]) from CSV/XLSX.",
)
_layer_command(
    "postcodes",
    "Import postcode centroids (postcode, city; CSV with lon/lat or points): the geocoder's "
    "postcode-level reference where there are no address points.",
)
_layer_command("roads", "Import roads (ref, class, speed_kmh, name, oneway, surface; lines).")
_layer_command(
    "buildings",
    "Import buildings (ref, use: residential|commercial|industrial|public|other, building, "
    "levels, residential; polygons).",
)
_layer_command(
    "zones",
    "Import zoning / land use (ref, class: residential|commercial|industrial|mixed|other, "
    "landuse, name; polygons).",
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
