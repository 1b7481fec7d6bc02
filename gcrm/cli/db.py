"""``gcrm db``: the database schema."""

from __future__ import annotations

import click

from gcrm.cli.context import Context, pass_ctx
from gcrm.store import init_schema

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database schema."""


@db.command("init")
@pass_ctx
def db_init(ctx: Context) -> None:
    """Create the gcrm schema, or upgrade it to the latest revision (Alembic)."""
    rev = init_schema(ctx.engine)
    click.echo(f"schema gcrm at revision {rev}")
