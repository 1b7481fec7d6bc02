"""``gcrm territories publish``: a plan's territories and reps onto every customer and lead,
and into the cube as an area level."""

from __future__ import annotations

import click
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx, requires
from gcrm.cli.territories import territories
from gcrm.territories import PUBLISHED_LEVEL, publish_plan, rebuild_cube, unit_level_name

__all__ = ["publish_command"]


@territories.command("publish")
@click.argument("plan")
@click.option(
    "--level-name",
    default=PUBLISHED_LEVEL,
    show_default=True,
    help="The area level the territories become; their units go to <level-name>_unit.",
)
@click.option(
    "--cube/--no-cube",
    "rebuild",
    default=True,
    show_default=True,
    help="Rebuild the cube afterwards, so the dashboard and reports have the territories "
    "(--no-cube: run `gcrm cube build` yourself).",
)
@requires("plan_territories")
@pass_ctx
def publish_command(ctx: Context, plan: str, level_name: str, rebuild: bool) -> None:
    """Publish PLAN (an id, a name, name@version or `current`): every customer and lead gets
    its territory and rep, and the plan becomes an area level of the cube.

    \b
    In one transaction: the plan's territories become the areas of level `territory` (codes
    T01.., named after the territory and its rep, each the union of its units), its units a
    level `territory_unit` nested under it (the dashboard drills from a territory into its
    units), every customer's and lead's area codes get both (from the unit each is in), the
    publication is recorded and the plan marked current. Publishing again replaces the
    level's areas. Then the cube is rebuilt.

    \b
    Afterwards:
      gcrm territories report --level territory     KPIs, PDF and GeoPackage per territory
      gcrm customers export -o c.xlsx               with columns territory and rep
      GET /api/customers                            each customer's territory and rep
    `gcrm enrich` keeps the codes: new customers get their territory by location.

    \b
    Examples:
      gcrm territories publish "2026 plan"
      gcrm territories publish "2026 plan@2" --level-name territory
      gcrm --as planner territories publish current --no-cube
    """
    by = ctx.acting().name
    with tqdm(total=3, desc="publish", unit="step") as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        # The owner's engine: publishing rewrites areas and area codes, which the
        # application role (--as) may only read; the permission was checked above.
        with ctx.owner_engine.begin() as conn:
            publication = publish_plan(conn, plan, level=level_name, published_by=by, on_step=step)
    click.echo(publication.summary())
    if not rebuild:
        click.echo("the cube was not rebuilt: run `gcrm cube build` to see the territories")
        return
    _rebuild_cube(ctx)
    click.echo(
        f"report by territory: gcrm territories report --level {publication.level}  "
        f"(units: --level {unit_level_name(publication.level)})"
    )


def _rebuild_cube(ctx: Context) -> None:
    """Build the region's cube again, whole (the areas changed), under a progress bar."""
    with tqdm(total=1, desc="cube", unit="build") as bar:
        ds = rebuild_cube(ctx.owner_engine, ctx.settings.cube_path)
        bar.update(1)
    click.echo(
        f"cube: {ds.sizes['area']} areas x {ds.sizes['month']} months -> {ctx.settings.cube_path}"
    )
