"""``gcrm hotspots``: hot and cold spots of a cube measure, written as a file and a map."""

from __future__ import annotations

from pathlib import Path

import click

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.options import (
    branch_option,
    channel_option,
    html_option,
    level_option,
    measure_option,
    out_option,
    parent_option,
    period_option,
    segment_option,
)
from gcrm.cube import (
    CORRECTIONS,
    HOTSPOT_METHODS,
    ISLAND_RULES,
    MEASURES,
    describe_hotspots,
    find_hotspots,
    load_cube,
)
from gcrm.io import write_frame
from gcrm.maps import make_hotspot_map

__all__ = ["hotspots_command"]


@click.command("hotspots")
@level_option(required=True, help="Area level to test, e.g. district or hex.")
@measure_option(default="active", choices=list(MEASURES))
@period_option()
@segment_option()
@parent_option()
@channel_option()
@branch_option()
@click.option(
    "--method",
    type=click.Choice(list(HOTSPOT_METHODS)),
    default="gi",
    show_default=True,
    help="gi: Getis-Ord Gi* (hot and cold spots); moran: local Moran's I (high-high and "
    "low-low clusters, high-low and low-high outliers).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level, compared with the adjusted p-values.",
)
@click.option(
    "--correction",
    type=click.Choice(list(CORRECTIONS)),
    default="fdr",
    show_default=True,
    help="Multiple-testing correction over the areas tested: fdr (Benjamini-Hochberg), "
    "bonferroni, or none.",
)
@click.option(
    "--permutations",
    type=click.IntRange(99, 99_999),
    default=999,
    show_default=True,
    help="Conditional permutations for the pseudo p-values (the smallest p is 2/(N+1)).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the permutations: the same seed gives the same result.",
)
@click.option(
    "--islands",
    type=click.Choice(list(ISLAND_RULES)),
    default="nearest",
    show_default=True,
    help="An area with no contiguous neighbour: join it to the nearest area, or exclude it.",
)
@out_option(formats=(".gpkg", ".geojson", ".csv", ".xlsx"))
@html_option(help="Also write an offline HTML map of the classes.")
@requires("view_aggregates")
@pass_ctx
def hotspots_command(
    ctx: Context,
    level: str,
    measure: str,
    period: str | None,
    segment: str | None,
    parent: str | None,
    channel: str | None,
    branch: str | None,
    method: str,
    alpha: float,
    correction: str,
    permutations: int,
    seed: int,
    islands: str,
    out: Path,
    html_out: Path | None,
) -> None:
    """Find hot and cold spots of a measure over the areas of a level.

    Queen contiguity between the areas' outlines, row-standardised; pseudo p-values from
    conditional permutations, adjusted over every area tested and compared with --alpha.
    The file (GeoPackage, GeoJSON, CSV or XLSX, by suffix) has one row per area: value,
    statistic, p_value, p_adjusted and cluster.

    \b
    Examples:
      gcrm hotspots --level hex --measure revenue --period 2025 -o revenue_hotspots.gpkg
      gcrm hotspots --level hex --measure revenue --channel web -o web_hotspots.gpkg
      gcrm hotspots --level district --measure penetration --method moran -o lisa.csv
      gcrm hotspots --level hex --measure active --correction bonferroni --permutations 9999 \\
          -o active.geojson --html active_hotspots.html
    """
    cube = load_cube(ctx.cube_path())
    with ctx.engine.connect() as conn:
        result = find_hotspots(
            cube,
            conn,
            level=level,
            measure=measure,
            period=period,
            segment=segment,
            parent=parent,
            channel=channel,
            branch=branch,
            method=method,  # type: ignore[arg-type]
            alpha=alpha,
            correction=correction,  # type: ignore[arg-type]
            permutations=permutations,
            seed=seed,
            islands=islands,  # type: ignore[arg-type]
        )
    path = write_frame(result, out, layer="hotspots", argument="--out")
    click.echo(describe_hotspots(result))
    click.echo(f"written to {path}")
    if html_out is not None:
        click.echo(f"map written to {make_hotspot_map(result, out=html_out)}")
