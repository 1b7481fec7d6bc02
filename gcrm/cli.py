"""The ``gcrm`` command line. Each command is a thin wrapper over a library function."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gcrm.clicontext import Context, pass_ctx
from gcrm.core import GcrmError, get_settings

__all__ = ["Context", "cli", "main", "pass_ctx"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where region files, cubes, maps and reports go [env GCRM_DATA_DIR; default ./data].",
)
@click.version_option(package_name="gcrm")
@click.pass_context
def cli(click_ctx: click.Context, data_dir: Path | None) -> None:
    """gcrm: a Geographic CRM. Customers, leads and territories on a map.

    \b
    Start with the demo (Helsinki, real OpenStreetMap data, synthetic customers):
      gcrm demo                     build everything and serve the dashboard
    Or step by step:
      gcrm db init                  create/upgrade the schema
      gcrm import customers crm.csv geocode and load a CRM export
      gcrm enrich                   area codes, zoning, nearest road for every point
      gcrm cube build               the area x month x segment cube
      gcrm map -o map.html          a standalone HTML map
      gcrm leads near "Mannerheimintie 10" --radius-m 500
      gcrm territories report --by district
      gcrm serve                    dashboard + JSON API

    The database is GCRM_DATABASE_URL (default: the local PostGIS set up by `make demo`).
    """
    click_ctx.obj = Context(get_settings(data_dir=data_dir))


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("init")
@pass_ctx
def db_init(ctx: Context) -> None:
    """Create the gcrm schema, or upgrade it to the latest revision (Alembic)."""
    from gcrm.store import init_schema

    rev = init_schema(ctx.engine)
    click.echo(f"schema gcrm at revision {rev}")


def _register_subcommands() -> None:
    # Each capability owns its commands; the CLI only collects them.
    from gcrm.cube.cli import cube
    from gcrm.enrich.cli import enrich
    from gcrm.enrich.profiles_cli import profiles_command
    from gcrm.exports_cli import customers, leads_export_command
    from gcrm.ingest.cli import import_group
    from gcrm.ingest.geocode_cli import geocode_command, reverse_geocode_command
    from gcrm.ingest.osm_cli import osm_command
    from gcrm.leads.cli import leads
    from gcrm.maps.cli import map_command
    from gcrm.pipeline_cli import demo_command, serve_command
    from gcrm.routing.cli import catchments_command, drive_times_command, flows_command
    from gcrm.territories.cli import territories

    import_group.add_command(osm_command)
    leads.add_command(leads_export_command)
    for command in (
        import_group,
        geocode_command,
        reverse_geocode_command,
        enrich,
        profiles_command,
        customers,
        cube,
        map_command,
        leads,
        territories,
        drive_times_command,
        catchments_command,
        flows_command,
        serve_command,
        demo_command,
    ):
        cli.add_command(command)


_register_subcommands()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: GcrmError becomes a one-line message and exit status 2."""
    try:
        cli.main(args=argv, prog_name="gcrm", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except GcrmError as exc:
        click.echo(f"gcrm: error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
