"""``gcrm leads``: nearby leads and lead lists."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.access import record_access
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import area_option, out_option
from gcrm.exports import EXPORT_FORMATS, export_points
from gcrm.leads import export_leads, find_nearby_leads, format_lead_table, resolve_origin

__all__ = ["leads"]


@click.group()
def leads() -> None:
    """Prospecting: leads near an address, a customer or a point."""


@leads.command("near")
@click.argument("address", required=False)
@click.option("--customer", "customer_id", default=None, help="Search around this customer id.")
@click.option("--lon", type=float, default=None, help="Origin longitude (EPSG:4326).")
@click.option("--lat", type=float, default=None, help="Origin latitude (EPSG:4326).")
@click.option("--radius-m", type=float, default=1000, show_default=True, help="Radius, metres.")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--category", "categories", multiple=True, help="Keep this category (repeatable).")
@click.option(
    "--zoning",
    "zoning",
    multiple=True,
    help="Keep this zoning class (repeatable), e.g. commercial.",
)
@out_option(required=False, help=f"Also write the list ({', '.join(EXPORT_FORMATS)}).")
@requires("read_leads")
@pass_ctx
def near(
    ctx: Context,
    address: str | None,
    customer_id: str | None,
    lon: float | None,
    lat: float | None,
    radius_m: float,
    limit: int,
    categories: tuple[str, ...],
    zoning: tuple[str, ...],
    out: Path | None,
) -> None:
    """List the leads nearest to ADDRESS, a customer or a point, by distance.

    Give exactly one origin: an ADDRESS (geocoded offline), --customer ID, or --lon and --lat.

    \b
    Examples:
      gcrm leads near "Mannerheimintie 10, Helsinki"
      gcrm leads near "Fredrikinkatu 20" --radius-m 500 --category cafe --category restaurant
      gcrm leads near --customer C00042 --zoning commercial -o calls.xlsx
      gcrm leads near --lon 24.94 --lat 60.17 --limit 20 -o leads.gpkg
    """
    with ctx.engine.connect() as conn:
        origin = resolve_origin(conn, address=address, customer_id=customer_id, lon=lon, lat=lat)
        found = find_nearby_leads(
            conn,
            lon=origin.lon,
            lat=origin.lat,
            radius_m=radius_m,
            limit=limit,
            categories=list(categories) or None,
            zoning_classes=list(zoning) or None,
        )
    click.echo(
        f"{len(found)} leads within {radius_m:g} m of {origin.label} "
        f"({origin.lat:.5f}, {origin.lon:.5f}; precision {origin.precision})"
    )
    click.echo(format_lead_table(found))
    if out is not None:
        path = export_leads(found, out, origin=origin)
        with ctx.engine.begin() as conn:
            record_access(
                conn,
                action="leads near",
                rows=len(found),
                fields=[c for c in found.columns if c != found.geometry.name],
                target=str(path),
                detail={"origin": origin.label, "radius_m": radius_m},
            )
        click.echo(f"written to {path}")


@leads.command("export")
@out_option(formats=EXPORT_FORMATS)
@area_option(help="Only leads in this area, e.g. district:D01.")
@click.option("--category", multiple=True, help="Keep this category (repeatable), e.g. cafe.")
@requires("read_leads")
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
    with ctx.engine.begin() as conn:  # commits the audit record
        path = export_points(conn, entity="leads", path=out, area=area, category=category)
    click.echo(f"leads -> {path}")
