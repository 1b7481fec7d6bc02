"""``gcrm enrich`` and ``gcrm drive-times``: derived columns of every customer and lead."""

from __future__ import annotations

import click
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import ENTITIES, only_option
from gcrm.cli.refresh import refresh_cube
from gcrm.enrich import DRIVE_TIME_STAGES, compute_drive_times, enrich_points

__all__ = ["drive_times_command", "enrich_command"]


@click.command("enrich")
@click.option(
    "--all", "full", is_flag=True, help="Recompute every point, not only new or changed ones."
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "sql", "vector"]),
    default="auto",
    show_default=True,
    help="Where to compute: PostGIS (sql), Shapely next to it (vector), or by size (auto).",
)
@only_option(help="Enrich only these tables (repeatable) [default: both].")
@pass_ctx
def enrich_command(ctx: Context, full: bool, engine: str, only: tuple[str, ...]) -> None:
    """Join every customer and lead to the layers around it.

    \b
    Adds: area code at every level (area_codes), zoning class, distance to the nearest
    business park (industrial/commercial zone), nearest road (class, name, speed, distance in
    metres), and drive time to the nearest branch when there are roads and branches. Results
    go to gcrm.customer_enrichment / gcrm.lead_enrichment and show in the gcrm.customers and
    gcrm.leads views. Re-runs touch only new points and points whose location changed, or
    every point when areas, zones, roads or branches were imported again since; --all
    recomputes everything.

    \b
    Examples:
      gcrm enrich
      gcrm enrich --all --engine vector     # a million customers: Shapely next to PostGIS

    A built cube is refreshed where the customers' or leads' areas changed.
    """
    entities = only or ENTITIES
    with tqdm(desc="enrich", unit="step") as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        with ctx.engine.begin() as conn:
            report = enrich_points(conn, entities=entities, full=full, engine=engine, on_step=step)  # type: ignore[arg-type]
    click.echo(report.summary())
    refresh_cube(ctx)


@click.command("drive-times")
@click.option(
    "--only-missing", is_flag=True, help="Only points with no drive time yet (new or unreachable)."
)
@only_option(help="Only these tables (repeatable) [default: customers and leads].")
@pass_ctx
def drive_times_command(ctx: Context, only_missing: bool, only: tuple[str, ...]) -> None:
    """Drive time from every customer and lead to its nearest branch.

    Reads the road graph (stored in PostGIS once per roads import, built from gcrm.roads
    when missing or stale), snaps each point to its nearest road node, runs one
    multi-source shortest-path search from all branches, and writes drive_time_s and
    branch_reached (NULL where no branch can be reached). Idempotent.

    \b
    Examples:
      gcrm drive-times
      gcrm drive-times --only-missing --only customers
    """
    entities = only or ENTITIES
    total = 1 + len(entities) * (len(DRIVE_TIME_STAGES) - 1)
    with tqdm(total=total, desc="drive times", unit="stage") as bar:

        def stage(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        with ctx.engine.begin() as conn:
            counts = compute_drive_times(
                conn, entities=entities, only_missing=only_missing, on_stage=stage
            )
    click.echo("drive times: " + ", ".join(f"{n} {entity}" for entity, n in counts.items()))
