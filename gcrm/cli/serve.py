"""``gcrm serve``: the dashboard and the JSON API in one process."""

from __future__ import annotations

import click

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import host_option, port_option
from gcrm.core import Settings

__all__ = ["serve", "serve_command"]


def serve(
    settings: Settings,
    *,
    host: str | None,
    port: int | None,
    debug: bool,
    region_name: str | None = None,
) -> None:
    """Build the dashboard app for ``settings`` and serve it until interrupted."""
    # The console script is the composition root: it may import the Dash app, the library
    # not. Imported here: Dash costs a second that `gcrm --help` need not pay.
    from dashboard import create_app

    host = host or settings.host
    port = port or settings.port
    app = create_app(settings, region_name=region_name) if region_name else create_app(settings)
    click.echo(f"gcrm dashboard: http://{host}:{port}/   API: http://{host}:{port}/api/health")
    app.run(host=host, port=port, debug=debug)


@click.command("serve")
@host_option()
@port_option()
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
    serve(ctx.settings, host=host, port=port, debug=debug, region_name=title)
