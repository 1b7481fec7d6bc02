"""``gcrm drive-times``, ``gcrm catchments`` and ``gcrm flows``."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from gcrm.clicontext import Context, pass_ctx
from gcrm.core import ValidationError

__all__ = ["catchments_command", "drive_times_command", "flows_command"]

_ENTITIES = ("customers", "leads")
_CATCHMENT_SUFFIXES = {".gpkg": "GPKG", ".geojson": "GeoJSON"}
_FLOW_SUFFIXES = (".csv", ".xlsx")


def _parse_minutes(value: str) -> tuple[float, ...]:
    try:
        minutes = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        minutes = ()
    if not minutes or any(m <= 0 for m in minutes):
        msg = f"--minutes {value!r} is not a list of positive minutes; use e.g. 5,10,15"
        raise click.BadParameter(msg)
    return minutes


def _check_suffix(path: Path, allowed: tuple[str, ...], *, option: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        msg = f"{option} {str(path)!r} has suffix {suffix!r}; use one of {list(allowed)}"
        raise ValidationError(msg)
    return suffix


@click.command("drive-times")
@click.option(
    "--only-missing", is_flag=True, help="Only points with no drive time yet (new or unreachable)."
)
@click.option(
    "--only",
    type=click.Choice(_ENTITIES),
    multiple=True,
    help="Only these tables (repeatable) [default: customers and leads].",
)
@pass_ctx
def drive_times_command(ctx: Context, only_missing: bool, only: tuple[str, ...]) -> None:
    """Drive time from every customer and lead to its nearest branch.

    Reads the road graph (stored in PostGIS once per roads import, built from gcrm.roads
    when missing or stale), snaps each point to its nearest road node, runs one
    multi-source shortest-path search from all branches, and writes drive_time_s and
    branch_reached (NULL where no branch can be reached). Idempotent.

    \b
    Examples:
      gcrm drive-times
      gcrm drive-times --only-missing --only customers
    """
    from gcrm.enrich import DRIVE_TIME_STAGES, compute_drive_times

    entities = only or _ENTITIES
    total = 1 + len(entities) * (len(DRIVE_TIME_STAGES) - 1)
    with tqdm(total=total, desc="drive times", unit="stage") as bar:

        def stage(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        with ctx.engine.begin() as conn:
            counts = compute_drive_times(
                conn, entities=entities, only_missing=only_missing, on_stage=stage
            )
    click.echo("drive times: " + ", ".join(f"{n} {entity}" for entity, n in counts.items()))


@click.command("catchments")
@click.option(
    "--minutes",
    default="5,10,15",
    show_default=True,
    help="Drive-time limits in minutes, comma-separated.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="GeoPackage (.gpkg) or GeoJSON (.geojson) to write.",
)
@click.option(
    "--map",
    "map_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write an offline HTML map of the catchments.",
)
@pass_ctx
def catchments_command(ctx: Context, minutes: str, out: Path, map_out: Path | None) -> None:
    """Drive-time catchments of every branch: the area that reaches it within N minutes.

    \b
    Examples:
      gcrm catchments -o catchments.gpkg
      gcrm catchments --minutes 3,6,9 -o catchments.geojson --map catchments.html
    """
    from gcrm.routing.catchments import branch_catchments

    limits = _parse_minutes(minutes)
    driver = _CATCHMENT_SUFFIXES[_check_suffix(out, tuple(_CATCHMENT_SUFFIXES), option="--out")]
    # A transaction that commits: a road graph built on the way is stored for the next run.
    with ctx.engine.begin() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM gcrm.branches").scalar_one()
        with tqdm(total=n, desc="catchments", unit="branch") as bar:

            def branch(code: str) -> None:
                bar.set_postfix_str(code)
                bar.update(1)

            gdf = branch_catchments(conn, minutes=limits, on_branch=branch)
        out.parent.mkdir(parents=True, exist_ok=True)
        gdf.to_file(out, driver=driver, engine="pyogrio")
        click.echo(f"{len(gdf)} catchments ({gdf['code'].nunique()} branches) written to {out}")
        if map_out is not None:
            from gcrm.maps.catchment_map import make_catchment_map

            make_catchment_map(conn, catchments=gdf, out=map_out)
            click.echo(f"map written to {map_out}")


@click.command("flows")
@click.option("--level", default="district", show_default=True, help="Area level of the origins.")
@click.option("--period", default=None, help="2025, 2025-Q1 or 2025-03 [default: all orders].")
@click.option(
    "--weight",
    type=click.Choice(["customers", "revenue"]),
    default="customers",
    show_default=True,
    help="What the map's line width shows.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="CSV (.csv) or Excel (.xlsx) table to write.",
)
@click.option(
    "--map",
    "map_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write an offline HTML flow map.",
)
@pass_ctx
def flows_command(
    ctx: Context, level: str, period: str | None, weight: str, out: Path, map_out: Path | None
) -> None:
    """Customer flows: customers, orders and revenue per (origin area, branch).

    \b
    Examples:
      gcrm flows --level district -o flows.csv
      gcrm flows --level postcode --period 2025 --weight revenue -o flows.xlsx --map flows.html
    """
    from gcrm.areas import origin_destination_flows
    from gcrm.maps.flow_map import make_flow_map

    suffix = _check_suffix(out, _FLOW_SUFFIXES, option="--out")
    with ctx.engine.connect() as conn:
        flows = origin_destination_flows(conn, level=level, period=period)
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            flows.to_csv(out, index=False)
        else:
            flows.to_excel(out, index=False, sheet_name="flows")
        click.echo(
            f"{len(flows)} flows, {int(flows['customers'].sum())} customer-branch pairs, "
            f"{flows['orders'].sum()} orders, revenue {flows['revenue'].sum():,.2f} written to {out}"
        )
        if map_out is not None:
            make_flow_map(
                conn,
                flows=flows,
                level=level,
                out=map_out,
                weight=weight,
                period=period,  # type: ignore[arg-type]
            )
            click.echo(f"map written to {map_out}")
