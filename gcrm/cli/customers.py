"""``gcrm customers export``: customer lists with their enrichment."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import area_option, out_option, precision_option, segment_option
from gcrm.exports import EXPORT_FORMATS, export_points
from gcrm.privacy import forget_customer

__all__ = ["customers"]


@click.group()
def customers() -> None:
    """Customer lists out."""


@customers.command("export")
@out_option(formats=EXPORT_FORMATS)
@segment_option(multiple=True)
@click.option("--status", multiple=True, help="Keep this status (repeatable): active, churned.")
@area_option(help="Only customers in this area, e.g. district:D01.")
@precision_option()
@requires("read_customers")
@pass_ctx
def customers_export_command(
    ctx: Context,
    out: Path,
    segment: tuple[str, ...],
    status: tuple[str, ...],
    area: str | None,
    precision: tuple[str, ...] | None,
) -> None:
    """Export customers with geocoding, area codes and names at every level, zoning, road,
    drive time and the housing context of their area.

    \b
    Examples:
      gcrm customers export -o customers.xlsx
      gcrm customers export -o smb_d01.csv --segment smb --status active --area district:D01
      gcrm customers export -o rough.gpkg --precision street,postcode
    """
    with ctx.engine.begin() as conn:  # commits the audit record
        path = export_points(
            conn,
            entity="customers",
            path=out,
            segment=segment,
            status=status,
            area=area,
            precision=precision or (),
        )
    click.echo(f"customers -> {path}")


@customers.command("forget")
@click.argument("customer_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def customers_forget_command(ctx: Context, customer_id: str, yes: bool) -> None:
    """Forget a customer: their record, orders, enrichment and what the geocode cache
    remembers of their address; the next cube build no longer counts them. Logged in the
    audit log (the id only). Cannot be undone.

    \b
    Example:
      gcrm customers forget C000042 --yes
    """
    if not yes:
        click.confirm(
            f"Forget customer {customer_id!r} everywhere? This cannot be undone", abort=True
        )
    with ctx.engine.begin() as conn:
        gone = forget_customer(conn, customer_id)
    click.echo(
        f"customer {gone.external_id!r} forgotten: record, {gone.orders} orders, "
        f"{gone.enrichment_rows} enrichment row(s), {gone.cache_entries} geocode cache entr(y/ies); "
        "rebuild the cube (gcrm cube build) to drop them from its figures now"
    )
