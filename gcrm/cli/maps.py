"""``gcrm map``: a standalone HTML map of one area level; ``gcrm view``: the dashboard's view
exported as a table (CSV, XLSX) or a map (HTML, PNG)."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    area_option,
    branch_option,
    channel_option,
    level_option,
    measure_option,
    out_option,
    parent_option,
    period_option,
    precision_option,
    segment_option,
)
from gcrm.core import NotFoundError, ValidationError
from gcrm.cube import MEASURES, load_cube
from gcrm.io import check_suffix
from gcrm.maps import SCHEMES, make_region_map

__all__ = ["map_command", "view_command"]

#: What ``gcrm view`` writes, by the suffix of ``--out``.
VIEW_FORMATS = (".csv", ".xlsx", ".html", ".png")


@click.command("map")
@level_option(default="district", help="Area level to draw.")
@measure_option(default="active", choices=list(MEASURES))
@period_option()
@segment_option()
@click.option(
    "--colour-by",
    type=click.Choice(["status", "precision"]),
    default="status",
    show_default=True,
    help="Colour customer points by status or by geocode precision.",
)
@precision_option()
@click.option(
    "--classes",
    "scheme",
    type=click.Choice(list(SCHEMES)),
    default="quantiles",
    show_default=True,
    help="How area values are classed: quantiles (equal counts), natural_breaks "
    "(Fisher-Jenks) or equal_interval.",
)
@out_option(required=False, help="HTML file to write [default: <data-dir>/out/map.html].")
@requires("view_aggregates")
@pass_ctx
def map_command(
    ctx: Context,
    level: str,
    measure: str,
    period: str | None,
    segment: str | None,
    colour_by: str,
    precision: tuple[str, ...] | None,
    scheme: str,
    out: Path | None,
) -> None:
    """Write a standalone HTML map that opens offline (no tiles, no CDN).

    \b
    Examples:
      gcrm map
      gcrm map --level postcode --measure revenue --period 2025-Q1 -o revenue.html
      gcrm map --measure penetration --segment business --colour-by precision
      gcrm map --precision rooftop,interpolated -o trusted.html
      gcrm map --measure approximate_share --precision street,postcode,locality --colour-by precision
      gcrm map --measure revenue --classes natural_breaks
    """
    cube = load_cube(ctx.cube_path())
    target = out or ctx.settings.out_dir / "map.html"
    with ctx.engine.connect() as conn:
        path = make_region_map(
            conn,
            cube=cube,
            level=level,
            measure=measure,
            period=period,
            segment=segment,
            colour_points_by=colour_by,  # type: ignore[arg-type]
            precisions=precision,
            scheme=scheme,
            out=target,
        )
    click.echo(f"map written to {path}")


@click.command("view")
@level_option(help="Area level drawn [default: the coarsest level, as the dashboard opens].")
@parent_option()
@area_option(help="The selected area, LEVEL:CODE (the table then ranks its children).")
@measure_option(default="revenue", choices=list(MEASURES))
@period_option()
@click.option(
    "--compare",
    type=click.Choice(["none", "previous", "yoy"]),
    default="none",
    show_default=True,
    help="Compare the period with the previous one or the same period last year.",
)
@segment_option()
@channel_option()
@branch_option()
@click.option(
    "--classes",
    "scheme",
    type=click.Choice(list(SCHEMES)),
    default="quantiles",
    show_default=True,
    help="How area values are classed, as the dashboard's Classes control.",
)
@click.option("--hotspots", is_flag=True, help="Draw the hot spots layer (see --method).")
@click.option(
    "--method",
    type=click.Choice(["gi", "moran"]),
    default="gi",
    show_default=True,
    help="Hot spots by Getis-Ord Gi* (hot and cold spots) or local Moran's I (clusters and "
    "outliers); alpha 0.05, false discovery rate, 999 permutations.",
)
@out_option(
    formats=VIEW_FORMATS, help="File to write: .csv or .xlsx (the table), .html or .png (the map)."
)
@requires("view_aggregates")
@pass_ctx
def view_command(
    ctx: Context,
    level: str | None,
    parent: str | None,
    area: str | None,
    measure: str,
    period: str | None,
    compare: str,
    segment: str | None,
    channel: str | None,
    branch: str | None,
    scheme: str,
    hotspots: bool,
    method: str,
    out: Path,
) -> None:
    """Export a view of the dashboard: the table of its areas or its map, with its filters.

    \b
    Examples:
      gcrm view --measure revenue --period 2025-Q2 -o revenue.xlsx
      gcrm view --level hex --parent district:kamppi --compare yoy --period 2025-Q2 -o kamppi.png
      gcrm view --measure active --hotspots -o hotspots.html
    """
    # The dashboard's own functions: the file holds what the dashboard shows for this view.
    from dashboard import view as v
    from dashboard.cache import DashboardData
    from dashboard.export import describe_view, export_file

    suffix = check_suffix(out, VIEW_FORMATS, argument="--out")
    cube = load_cube(ctx.cube_path())
    region = str(cube.attrs.get("region_name") or "") or "Region"
    data = DashboardData(engine=ctx.engine, cube=cube, region_name=region)
    view = v.view_for_level(level) if level else v.initial_view(data.levels, cube)
    if view["level"] not in {o["value"] for o in v.level_options(data.levels, cube)}:
        msg = f"--level={level!r} is not a level of the cube; use one of {[o['value'] for o in v.level_options(data.levels, cube)]}"
        raise ValidationError(msg)
    if parent:
        v.area_coord(cube, parent, "level")  # an unknown area: NotFoundError naming it
        view["parent"] = parent
    if area:
        if area not in v.areas_in_view(cube, level=view["level"], parent=view["parent"]):
            msg = f"--area={area!r} is not drawn at level {view['level']!r}{f' in {parent}' if parent else ''}; pick one of its areas"
            raise NotFoundError(msg)
        view["selected"] = area
    controls = {
        "measure": measure,
        "period": period or "all",
        "compare": compare,
        "segment": segment or "all",
        "channel": channel or "all",
        "branch": branch or "all",
        "scheme": scheme,
        "hotspots": hotspots,
        "method": method,
    }
    export = describe_view(data, view, controls)
    content, _ = export_file(data, export, suffix.lstrip("."))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    click.echo(f"{export.title} ({export.scope}) written to {out}")
