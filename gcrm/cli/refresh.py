"""Keeping the built cube current after commands that change what it counts."""

from __future__ import annotations

import click

from gcrm.cli.context import Context
from gcrm.cube import load_cube, refresh_region_cube, save_cube

__all__ = ["refresh_cube"]


def refresh_cube(ctx: Context) -> None:
    """Bring the region's cube (when one was built) up to date with the database, cell by
    cell where only cells changed (``gcrm.cube.refresh``), and say what was done. The users'
    scope cubes follow at their next use (they are rebuilt when older than the cube), so a
    cube in which nothing changed is not written again: that would rebuild every one."""
    path = ctx.settings.cube_path
    if not path.exists():
        return
    ds = load_cube(path)
    with ctx.engine.connect() as conn:
        fresh, report = refresh_region_cube(conn, ds)
    if report.changed:
        save_cube(fresh, path)
    click.echo(report.summary())
