"""``gcrm serve``: the dashboard and the JSON API, on gunicorn (or Flask's server with --dev)."""

from __future__ import annotations

import click

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import host_option, port_option
from gcrm.core import Settings
from gcrm.store import create_db_engine
from gcrm.web import check_auth_off, gunicorn_options, load_secret_key, run_gunicorn

__all__ = ["serve", "serve_command"]


def _create_app(settings: Settings, region_name: str | None):  # type: ignore[no-untyped-def]
    # The console script is the composition root: it may import the Dash app, the library
    # not. Imported here: Dash costs a second that `gcrm --help` need not pay.
    from dashboard import create_app

    return create_app(settings, region_name=region_name)


def _warn_auth_off(host: str, port: int) -> None:
    banner = "!" * 78
    click.secho(
        f"{banner}\nWARNING: GCRM_AUTH=off: no login. Everyone who can reach "
        f"http://{host}:{port}/ acts as an admin\nwho sees every area and every customer. "
        f"For one person on their own machine only.\n{banner}",
        fg="red",
        bold=True,
        err=True,
    )


def serve(
    settings: Settings,
    *,
    host: str | None,
    port: int | None,
    dev: bool = False,
    debug: bool = False,
    workers: int | None = None,
    threads: int | None = None,
    graceful_timeout_s: int = 30,
    region_name: str | None = None,
) -> None:
    """Serve the dashboard and the API for ``settings`` until interrupted.

    gunicorn (``workers`` processes of ``threads`` threads; SIGTERM drains requests for
    ``graceful_timeout_s`` seconds), or with ``dev`` Flask's development server.

    Raises
    ------
    click.UsageError
        When ``debug`` is asked for without ``dev``.
    gcrm.core.ConfigurationError
        When ``GCRM_AUTH=off`` and ``host`` is not the machine's own (or a proxy is in
        front), or the session key cannot be kept.
    gcrm.core.DatabaseError
        When the database cannot be reached.
    """
    if debug and not dev:
        msg = "--debug runs Flask's debugger, which executes code sent to it: only with --dev"
        raise click.UsageError(msg)
    host = host or settings.host
    port = port or settings.port
    if settings.auth == "off":
        check_auth_off(host, proxy_hops=settings.proxy_hops)
        _warn_auth_off(host, port)
    # Before any worker starts: a wrong database URL or an unwritable data directory fails
    # here with its message, and every worker reads the one session key made now.
    create_db_engine(settings.database_url).dispose()
    load_secret_key(settings)
    click.echo(f"gcrm dashboard: http://{host}:{port}/   API: http://{host}:{port}/api/health")
    if dev:
        click.echo("Flask development server (--dev): not for production", err=True)
        _create_app(settings, region_name).run(host=host, port=port, debug=debug)
        return
    options = gunicorn_options(
        host=host,
        port=port,
        workers=workers or settings.workers,
        threads=threads or settings.threads,
        graceful_timeout_s=graceful_timeout_s,
    )
    run_gunicorn(lambda: _create_app(settings, region_name).server, options)


@click.command("serve")
@host_option()
@port_option()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes, about one per core [env GCRM_WORKERS; default 2].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads per worker [env GCRM_THREADS; default 8].",
)
@click.option(
    "--graceful-timeout",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds requests in flight get to finish after SIGTERM.",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option("--debug", is_flag=True, help="With --dev: debugger and reload on code change.")
@click.option(
    "--title",
    default=None,
    help="Region name shown in the dashboard header [default: the region's own, `gcrm region set`].",
)
@pass_ctx
def serve_command(
    ctx: Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    threads: int | None,
    graceful_timeout: int,
    dev: bool,
    debug: bool,
    title: str | None,
) -> None:
    """Serve the dashboard and the JSON API (gunicorn; Flask's server with --dev).

    \b
    Dashboard: http://HOST:PORT/ (log in at /login; `gcrm users add` makes users)
    API:       /api/health, /api/leads/near?lon=..&lat=..&radius_m=..,
               /api/cube/slice?level=district&measure=revenue&period=2025
    Probes:    /healthz (alive), /readyz (database reachable)
    Behind a reverse proxy: GCRM_PROXY_HOPS=1. Without login on your own machine only:
    GCRM_AUTH=off with --host 127.0.0.1.
    """
    serve(
        ctx.settings,
        host=host,
        port=port,
        dev=dev,
        debug=debug,
        workers=workers,
        threads=threads,
        graceful_timeout_s=graceful_timeout,
        region_name=title,
    )
