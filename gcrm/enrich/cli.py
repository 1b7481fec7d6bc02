"""``gcrm enrich``."""

from __future__ import annotations

import click
from tqdm import tqdm

from gcrm.clicontext import Context, pass_ctx
from gcrm.enrich.points import enrich_points

__all__ = ["enrich"]


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
@click.option(
    "--only",
    type=click.Choice(["customers", "leads"]),
    multiple=True,
    help="Enrich only these tables (repeatable) [default: both].",
)
@pass_ctx
def enrich(ctx: Context, full: bool, engine: str, only: tuple[str, ...]) -> None:
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
    """
    entities = only or ("customers", "leads")
    with tqdm(desc="enrich", unit="step") as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        with ctx.engine.begin() as conn:
            report = enrich_points(conn, entities=entities, full=full, engine=engine, on_step=step)  # type: ignore[arg-type]
    click.echo(report.summary())
