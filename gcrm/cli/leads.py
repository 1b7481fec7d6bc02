"""``gcrm leads``: nearby leads and lead lists."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.access import record_access
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import area_option, out_option
from gcrm.core import ValidationError
from gcrm.exports import EXPORT_FORMATS, export_points
from gcrm.leads import (
    MAX_LIMIT,
    export_leads,
    find_leads_by_drive_time,
    find_leads_within,
    find_nearby_leads,
    format_lead_table,
    read_polygon,
    resolve_origin,
)

__all__ = ["leads"]


@click.group()
def leads() -> None:
    """Prospecting: leads near an address, a customer or a point, or inside an area."""


@leads.command("near")
@click.argument("address", required=False)
@click.option("--customer", "customer_id", default=None, help="Search around this customer id.")
@click.option("--lon", type=float, default=None, help="Origin longitude (EPSG:4326).")
@click.option("--lat", type=float, default=None, help="Origin latitude (EPSG:4326).")
@click.option(
    "--radius-m",
    type=float,
    default=None,
    help="Radius, metres [default: 1000]. Not with --minutes.",
)
@click.option(
    "--minutes",
    type=float,
    default=None,
    help="Drive time by road from the origin, minutes (at most 180); rows carry drive_time_s. "
    "Not with --radius-m.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--category", "categories", multiple=True, help="Keep this category (repeatable).")
@click.option(
    "--zoning",
    "zoning",
    multiple=True,
    help="Keep this zoning class (repeatable), e.g. commercial.",
)
@area_option(help="Only leads in this area, e.g. district:D01.")
@out_option(required=False, help=f"Also write the list ({', '.join(EXPORT_FORMATS)}).")
@requires("read_leads")
@pass_ctx
def near(
    ctx: Context,
    address: str | None,
    customer_id: str | None,
    lon: float | None,
    lat: float | None,
    radius_m: float | None,
    minutes: float | None,
    limit: int,
    categories: tuple[str, ...],
    zoning: tuple[str, ...],
    area: str | None,
    out: Path | None,
) -> None:
    """List the leads nearest to ADDRESS, a customer or a point, by distance or drive time.

    Give exactly one origin: an ADDRESS (geocoded offline), --customer ID, or --lon and --lat.
    Search by --radius-m (straight line, the default) or by --minutes (drive time on the road
    graph of `gcrm import roads`, quickest first); the two are mutually exclusive.

    \b
    Examples:
      gcrm leads near "Mannerheimintie 10, Helsinki"
      gcrm leads near "Fredrikinkatu 20" --radius-m 500 --category cafe --category restaurant
      gcrm leads near --customer C00042 --zoning commercial -o calls.xlsx
      gcrm leads near --lon 24.94 --lat 60.17 --limit 20 -o leads.gpkg
      gcrm leads near --customer C00042 --minutes 15 --limit 200 -o calls.xlsx
    """
    if radius_m is not None and minutes is not None:
        msg = (
            f"--radius-m {radius_m:g} and --minutes {minutes:g} are mutually exclusive; "
            "search by one of them"
        )
        raise ValidationError(msg)
    cats, zones = list(categories) or None, list(zoning) or None
    with ctx.engine.connect() as conn:
        origin = resolve_origin(conn, address=address, customer_id=customer_id, lon=lon, lat=lat)
        if minutes is not None:
            found = find_leads_by_drive_time(
                conn,
                origin,
                minutes=minutes,
                limit=limit,
                categories=cats,
                zoning_classes=zones,
                area=area,
            )
            reach = f"{minutes:g} min drive"
        else:
            radius_m = 1000.0 if radius_m is None else radius_m
            found = find_nearby_leads(
                conn,
                lon=origin.lon,
                lat=origin.lat,
                radius_m=radius_m,
                # With --area the nearest leads are cut to the area, then to --limit.
                limit=limit if area is None else MAX_LIMIT,
                categories=cats,
                zoning_classes=zones,
            )
            if area is not None:
                in_area = find_leads_within(conn, area=area, categories=cats, zoning_classes=zones)
                found = found[found["external_id"].isin(in_area["external_id"])].head(limit)
                found = found.assign(rank=range(1, len(found) + 1)).reset_index(drop=True)
            reach = f"{radius_m:g} m"
    click.echo(
        f"{len(found)} leads within {reach} of {origin.label} "
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
                detail={"origin": origin.label, "radius_m": radius_m, "minutes": minutes},
            )
        click.echo(f"written to {path}")


@leads.command("within")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@area_option(help="Leads in this area (their area code), e.g. district:D01.")
@click.option("--limit", type=int, default=10_000, show_default=True, help="At most this many.")
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
def within(
    ctx: Context,
    file: Path | None,
    area: str | None,
    limit: int,
    categories: tuple[str, ...],
    zoning: tuple[str, ...],
    out: Path | None,
) -> None:
    """List the leads inside the polygons of FILE (GeoJSON, GeoPackage...) or in an --area.

    Give FILE, --area LEVEL:CODE, or both (leads inside the polygon and in the area).

    \b
    Examples:
      gcrm leads within drawn.geojson -o calls.xlsx
      gcrm leads within --area district:D02 --category cafe -o cafes.gpkg
    """
    if file is None and area is None:
        msg = "FILE and --area are both missing; pass a GeoJSON file or --area LEVEL:CODE"
        raise ValidationError(msg)
    polygon = read_polygon(file) if file is not None else None
    with ctx.engine.connect() as conn:
        found = find_leads_within(
            conn,
            polygon=polygon,
            area=area,
            limit=limit,
            categories=list(categories) or None,
            zoning_classes=list(zoning) or None,
        )
    inside = " and ".join(x for x in (file and f"{file}", area and f"area {area}") if x)
    click.echo(f"{len(found)} leads inside {inside}")
    click.echo(format_lead_table(found))
    if out is not None:
        path = export_leads(found, out)
        with ctx.engine.begin() as conn:
            record_access(
                conn,
                action="leads within",
                rows=len(found),
                fields=[c for c in found.columns if c != found.geometry.name],
                target=str(path),
                detail={"file": str(file) if file else None, "area": area},
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
