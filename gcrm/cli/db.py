"""``gcrm db``: the database schema; ``gcrm backup`` and ``gcrm restore``: the whole database
to one file and back."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from gcrm.access import APP_ROLE
from gcrm.cli.context import Context, pass_ctx
from gcrm.store import backup_database, init_schema, restore_database

__all__ = ["backup_command", "db", "restore_command"]

#: The folder of pg_dump and pg_restore, for both commands.
_pg_bin = click.option(
    "--pg-bin",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    metavar="DIR",
    help="Folder of pg_dump / pg_restore [default: the server's version's, "
    "/usr/lib/postgresql/<major>/bin, else PATH].",
)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("init")
@pass_ctx
def db_init(ctx: Context) -> None:
    """Create the gcrm schema, or upgrade it to the latest revision (Alembic)."""
    rev = init_schema(ctx.engine)
    click.echo(f"schema gcrm at revision {rev}")


def _where(database_url: str) -> str:
    url = make_url(database_url)
    return f"database {url.database!r} on {url.host or 'localhost'}:{url.port or 5432}"


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "kB", "MB"):
        if size < 1024:
            return f"{n_bytes:,} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_pg_bin
@pass_ctx
def backup_command(ctx: Context, file: Path, pg_bin: Path | None) -> None:
    """Back up the whole database to FILE (pg_dump's custom format).

    Everything goes in: the schema with its row-level security, users, API tokens and the
    audit log, every customer, order, lead and layer. FILE appears complete or not at all;
    an existing FILE is replaced. Restore it with `gcrm restore FILE`.

    \b
    Example:
      gcrm backup backups/gcrm-$(date +%F).dump
    """
    url = ctx.settings.database_url
    click.echo(f"backing up {_where(url)} ...")
    done = backup_database(url, file, bin_dir=pg_bin)
    click.echo(
        f"wrote {file}: {_size(done.bytes)} in {done.seconds:.1f} s "
        f"(PostgreSQL {done.contents.server_version}, {done.tool})"
    )
    click.echo(f"  {done.contents.describe()}")
    click.echo(
        f"restore it with: gcrm restore {file}   (into a new or empty database; "
        "--clean replaces what is there)"
    )


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--clean",
    is_flag=True,
    help="Drop what the backup holds from a database that is not empty, then restore it.",
)
@_pg_bin
@pass_ctx
def restore_command(ctx: Context, file: Path, clean: bool, pg_bin: Path | None) -> None:
    """Restore a backup of `gcrm backup` into the database of GCRM_DATABASE_URL.

    The database is created if it does not exist; one that holds tables is refused unless
    --clean. The restore is one transaction: it lands whole or not at all. Roles belong to
    the server, not to a backup: into a new server, the application role gcrm_app is created
    (NOLOGIN) if missing; create the application's own logins again.

    \b
    Examples:
      GCRM_DATABASE_URL=postgresql+psycopg://gcrm@localhost/gcrm_copy gcrm restore gcrm.dump
      gcrm restore gcrm.dump --clean
    """
    url = ctx.settings.database_url
    click.echo(f"restoring {file} into {_where(url)}{' (--clean)' if clean else ''} ...")
    done = restore_database(url, file, clean=clean, roles=(APP_ROLE,), bin_dir=pg_bin)
    made = done.header
    if made:
        click.echo(
            f"  the backup of database {made.get('dbname', '?')!r}, made {made.get('created', '?')} "
            f"by pg_dump {made.get('Dumped by pg_dump version', '?')}"
        )
    if done.created_database:
        click.echo(f"  created database {done.contents.database!r}")
    for role in done.created_roles:
        click.echo(f"  created role {role!r} (NOLOGIN); create the application's logins again")
    click.echo(f"restored in {done.seconds:.1f} s: {done.contents.describe()}")
    click.echo("  planner statistics refreshed (ANALYZE)")
