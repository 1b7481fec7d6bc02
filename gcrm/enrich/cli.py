"""``gcrm enrich``."""

from __future__ import annotations

import click
from tqdm import tqdm

from gcrm.clicontext import Context, pass_ctx
from gcrm.enrich.points import STEP_NAMES, enrich_points

__all__ = ["enrich"]


@click.command("enrich")
@click.option(
    "--all", "full", is_flag=True, help="Recompute every point, not only new or changed ones."
)
@click.option(
    "--only",
    type=click.Choice(["customers", "leads"]),
    multiple=True,
    help="Enrich only these tables (repeatable) [default: both].",
)
@pass_ctx
def enrich(ctx: Context, full: bool, only: tuple[str, ...]) -> None:
    """Join every customer and lead to the layers around it, in SQL.

    \b
    Adds: area code at every level (area_codes), zoning class, nearest road (class, name,
    distance in metres). Re-runs touch only new or changed points unless --all.
    """
    entities = only or ("customers", "leads")
    with tqdm(total=len(entities) * len(STEP_NAMES), desc="enrich", unit="step") as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        with ctx.engine.begin() as conn:
            report = enrich_points(conn, entities=entities, full=full, on_step=step)
    click.echo(report.summary())
