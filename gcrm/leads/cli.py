"""``gcrm leads``: nearby-lead lists on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import geopandas as gpd
import pandas as pd

from gcrm.leads.export import EXPORT_FORMATS, export_leads
from gcrm.leads.search import find_nearby_leads, resolve_origin

if TYPE_CHECKING:
    from gcrm.clicontext import Context

__all__ = ["format_lead_table", "leads"]


def format_lead_table(gdf: gpd.GeoDataFrame, *, name_width: int = 40) -> str:
    """A plain-text table: rank, name, category, distance_m, address."""
    if gdf.empty:
        return "(no leads)"
    street = (gdf["street"].fillna("") + " " + gdf["housenumber"].fillna("")).str.strip()
    town = (gdf["postcode"].fillna("") + " " + gdf["city"].fillna("")).str.strip()
    address = (street + ", " + town).str.strip(", ")
    table = pd.DataFrame(
        {
            "rank": gdf["rank"],
            "name": gdf["name"].str.slice(0, name_width),
            "category": gdf["category"],
            "distance_m": gdf["distance_m"].round().astype(int),
            "address": address,
        }
    )
    return table.to_string(index=False)


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
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Also write the list ({', '.join(EXPORT_FORMATS)}).",
)
@click.pass_obj
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
        click.echo(f"written to {export_leads(found, out, origin=origin)}")
