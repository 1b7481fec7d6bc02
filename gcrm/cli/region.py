"""``gcrm region``: the region's own name and currency, shown in the dashboard and reports."""

from __future__ import annotations

import click

from gcrm.areas import read_region, set_region
from gcrm.cli.context import Context, pass_ctx, requires

__all__ = ["region"]


@click.group("region", invoke_without_command=True)
@click.pass_context
def region(click_ctx: click.Context) -> None:
    """The region's name and currency: `gcrm region` shows them, `gcrm region set` sets them.

    The dashboard's header says the name; revenue is shown in the currency. Both go into the
    cube when it is built: run `gcrm cube build` after setting them.
    """
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.find_object(Context)
        with ctx.engine.connect() as conn:  # type: ignore[union-attr]
            info = read_region(conn)
        click.echo(f"name: {info.name}\ncurrency: {info.currency or '(none)'}")


@region.command("set")
@click.option("--name", default=None, help="The region's name, e.g. 'Uusimaa' or 'Bay Area'.")
@click.option(
    "--currency",
    default=None,
    help="ISO 4217 code of the revenue's currency: EUR, USD, SEK, ... ('' for none).",
)
@requires("administer")
@pass_ctx
def set_command(ctx: Context, name: str | None, currency: str | None) -> None:
    """Set the region's name and/or currency (what is not given stays).

    \b
    Examples:
      gcrm region set --name "San Francisco Bay Area" --currency USD
      gcrm region set --currency SEK
    """
    if name is None and currency is None:
        raise click.UsageError("give --name, --currency or both; `gcrm region` shows them")
    with ctx.engine.begin() as conn:
        info = set_region(conn, name=name, currency=currency)
    click.echo(f"region: {info.name}, currency {info.currency or '(none)'}")
    click.echo("run `gcrm cube build` so that the dashboard shows them")
