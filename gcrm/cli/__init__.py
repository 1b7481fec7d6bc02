"""The ``gcrm`` command line: thin commands over library functions.

Each module holds the commands of one capability (``imports`` for ``gcrm import``,
``geocode``, ``enrich``, ``routing``, ``areas``, ``cube``, ``maps``, ``leads``, ``customers``,
``territories``, ``demo``, ``serve``); :mod:`gcrm.cli.options` declares the options they share.
A command parses, calls the library, and prints; it holds no logic of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gcrm.access import act_as
from gcrm.cli.areas import areas, flows_command, profiles_command
from gcrm.cli.campaigns import campaigns
from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.cube import cube
from gcrm.cli.customers import customers
from gcrm.cli.db import backup_command, db, restore_command
from gcrm.cli.demo import demo_command
from gcrm.cli.enrich import drive_times_command, enrich_command
from gcrm.cli.forecast import forecast_command
from gcrm.cli.geocode import geocode_command, reverse_geocode_command
from gcrm.cli.hotspots import hotspots_command
from gcrm.cli.imports import import_group
from gcrm.cli.leads import leads
from gcrm.cli.maps import map_command, view_command
from gcrm.cli.region import region
from gcrm.cli.route import route_command
from gcrm.cli.routing import catchments_command
from gcrm.cli.serve import serve_command
from gcrm.cli.territories import territories
from gcrm.cli.territory_plans import plans_command  # noqa: F401 (registers the plan commands)
from gcrm.cli.territory_publish import publish_command  # noqa: F401  (registers `territories publish`)
from gcrm.cli.users import audit_command, tokens, users
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
@click.option(
    "--as",
    "as_user",
    default=None,
    metavar="USER",
    help="Run the command for this gcrm user: it sees (and exports) only their scope, and "
    "the audit log names them [default: the operator, every row].",
)
@click.version_option(package_name="gcrm")
@click.pass_context
def cli(click_ctx: click.Context, data_dir: Path | None, as_user: str | None) -> None:
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
      gcrm territories report --level district
      gcrm serve                    dashboard + JSON API

    The database is GCRM_DATABASE_URL (default: the local PostGIS set up by `make demo`).
    """
    ctx = Context(get_settings(data_dir=data_dir), as_user=as_user)
    click_ctx.obj = ctx
    # Whom every transaction and audit record of the command is for, until it ends.
    click_ctx.with_resource(act_as(ctx.acting()))


for _command in (
    db,
    backup_command,
    restore_command,
    import_group,
    geocode_command,
    reverse_geocode_command,
    enrich_command,
    profiles_command,
    areas,
    region,
    customers,
    cube,
    map_command,
    view_command,
    hotspots_command,
    leads,
    campaigns,
    territories,
    drive_times_command,
    catchments_command,
    route_command,
    flows_command,
    serve_command,
    demo_command,
    users,
    tokens,
    audit_command,
):
    cli.add_command(_command)
# `gcrm cube forecast` lives in its own module beside the group of gcrm/cli/cube.py.
cube.add_command(forecast_command)


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
