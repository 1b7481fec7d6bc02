"""``gcrm profiles`` and ``gcrm flows``: what each area holds, and where its customers buy;
``gcrm areas hexes``: H3 hexagon levels under a region's own areas."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from gcrm.areas import area_profiles, origin_destination_flows, profile_sources
from gcrm.areas.hexes import build_hex_levels, parse_resolutions
from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    html_option,
    level_option,
    out_option,
    period_option,
    rejects_option,
    vintage_option,
)
from gcrm.exports import PROFILE_FORMATS, export_profiles
from gcrm.io import TABLE_FORMATS, check_suffix, write_frame
from gcrm.maps import FLOW_WEIGHTS, make_flow_map
from gcrm.maps.flow_map import FlowWeight

__all__ = ["areas", "flows_command", "profiles_command"]


@click.command("profiles")
@level_option(required=True, help="Area level to profile, e.g. district.")
@vintage_option()
@out_option(formats=PROFILE_FORMATS)
@requires("view_aggregates")
@pass_ctx
def profiles_command(ctx: Context, level: str, vintage: str | None, out: Path) -> None:
    """Profile every area of a level: population, households, dwellings (by type: detached,
    semi-detached/terraced, apartment), businesses and any other statistic, buildings and
    building density, building forms and heights, residential floor-area share, road km by
    class, zoning mix, customers, active customers, leads, penetration and approximate
    market share; the sources and vintages of the figures (column `sources`, and printed).

    Customers and leads are counted by their enriched area codes: run `gcrm enrich` first.

    \b
    Examples:
      gcrm profiles --level district -o districts.xlsx
      gcrm profiles --level hex -o hex_profiles.gpkg
      gcrm profiles --level postcode --vintage 2019 -o postcodes_2019.csv
    """
    with ctx.engine.connect() as conn:
        profiles = area_profiles(conn, level=level, vintage=vintage)
        sources = profile_sources(conn, level=level, vintage=vintage)
    path = export_profiles(profiles, out)
    click.echo(f"{len(profiles)} areas of level {level!r} -> {path}")
    if not sources.empty:
        click.echo(f"sources ({vintage or 'latest vintage of each figure'}):")
    for row in sources.itertuples(index=False):
        click.echo(f"  {row.measure}: {row.text} [{row.areas} areas]")


@click.command("flows")
@level_option(default="district", help="Area level of the origins.")
@period_option(help="2025, 2025-Q1 or 2025-03 [default: all orders].")
@click.option(
    "--weight",
    type=click.Choice(FLOW_WEIGHTS),
    default="customers",
    show_default=True,
    help="What the map's line width shows.",
)
@out_option(formats=TABLE_FORMATS, help="CSV (.csv) or Excel (.xlsx) table to write.")
@html_option(help="Also write an offline HTML flow map.")
@requires("view_aggregates")
@pass_ctx
def flows_command(
    ctx: Context, level: str, period: str | None, weight: str, out: Path, html_out: Path | None
) -> None:
    """Customer flows: customers, orders and revenue per (origin area, branch).

    \b
    Examples:
      gcrm flows --level district -o flows.csv
      gcrm flows --level postcode --period 2025 --weight revenue -o flows.xlsx --html flows.html
    """
    check_suffix(out, TABLE_FORMATS, argument="--out")
    with ctx.engine.connect() as conn:
        flows = origin_destination_flows(conn, level=level, period=period)
        write_frame(
            flows, out, layer="flows", sheet="flows", formats=TABLE_FORMATS, argument="--out"
        )
        click.echo(
            f"{len(flows)} flows, {int(flows['customers'].sum())} customer-branch pairs, "
            f"{flows['orders'].sum()} orders, revenue {flows['revenue'].sum():,.2f} written to {out}"
        )
        if html_out is not None:
            make_flow_map(
                conn,
                flows=flows,
                level=level,
                out=html_out,
                weight=cast(FlowWeight, weight),  # click.Choice(FLOW_WEIGHTS) checked it
                period=period,
            )
            click.echo(f"map written to {html_out}")


@click.group("areas")
def areas() -> None:
    """Area levels built from the areas already stored (import areas with `gcrm import areas`)."""


@areas.command("hexes")
@click.option(
    "--resolution",
    "resolutions",
    required=True,
    metavar="R[,R...]",
    help="H3 resolutions, one level each, e.g. 7,8,9 (7 about 5 km², 8 about 0.7 km², "
    "9 about 0.1 km² a hexagon).",
)
@click.option(
    "--under",
    default=None,
    metavar="LEVEL",
    help="The level the coarsest hexagons nest under [default: the one top level].",
)
@rejects_option
@pass_ctx
def hexes_command(
    ctx: Context, resolutions: str, under: str | None, rejects_path: Path | None
) -> None:
    """Build H3 hexagon levels covering the areas of a level: one level per resolution,
    named h3_r<R>, each nested under the next coarser, the coarsest under --under.

    Hexagons are clipped to the areas they cover. A hexagon straddling two parents belongs
    to the parent that holds its centroid (else to the one it overlaps most). Run
    `gcrm enrich` and `gcrm cube build` afterwards to count customers in the new levels.

    \b
    Examples:
      gcrm areas hexes --resolution 7,8,9
      gcrm areas hexes --resolution 8 --under district
    """
    parsed = parse_resolutions(resolutions)
    rejects = rejects_path or ctx.settings.out_dir / "h3_areas.rejects.csv"
    with ctx.engine.begin() as conn:
        built = build_hex_levels(conn, resolutions=parsed, under=under, rejects_path=rejects)
    for lv in built.levels:
        click.echo(
            f"{lv.level}: {lv.areas} hexagons (H3 res {lv.resolution}) under {lv.parent_level}"
        )
    click.echo(built.level_report.summary())
    click.echo(built.area_report.summary())
    click.echo("next: gcrm enrich, then gcrm cube build, to count customers in the new levels")
