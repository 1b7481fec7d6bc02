"""Which commands take ``--as``: read from the command tree, so the refusal's list is true."""

from __future__ import annotations

import click

from gcrm.cli import cli
from gcrm.cli.context import Context, pass_ctx, reading_commands, requires, takes_as_user


def test_reading_commands_are_the_ones_declared_so() -> None:
    @click.group()
    def root() -> None: ...

    @root.group()
    def things() -> None: ...

    @things.command("show")
    @requires("view_aggregates")
    @pass_ctx
    def show(ctx: Context) -> None: ...

    @things.command("export")
    @takes_as_user
    @pass_ctx
    def export(ctx: Context) -> None: ...

    @things.command("delete")
    @pass_ctx
    def delete(ctx: Context) -> None: ...

    @root.command("map")
    @requires("view_aggregates")
    def map_command() -> None: ...

    assert reading_commands(root) == ["map", "things export", "things show"]


def test_the_campaign_commands_that_read_take_as() -> None:
    found = reading_commands(cli)
    assert {"campaigns list", "campaigns show", "campaigns results", "campaigns export"} <= set(
        found
    )
    assert {"leads near", "leads within", "leads export", "customers export"} <= set(found)
    # Commands that change data do not.
    assert not {"campaigns create", "campaigns responses", "enrich", "customers churn-risk"} & set(
        found
    )
