"""``gcrm route``: the day's visit order of a list of stops, with arrival times."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import out_option
from gcrm.core import ValidationError
from gcrm.geocode import geocode_frame
from gcrm.io import read_table
from gcrm.leads import resolve_origin
from gcrm.maps import ROUTE_FORMATS, write_route
from gcrm.routing import MAX_STOPS, plan_route

__all__ = ["route_command"]

_ADDRESS_COLUMNS = ("address", "street", "housenumber", "postcode", "city")


def read_stops(conn: object, path: Path) -> pd.DataFrame:
    """The stops of ``path`` with numeric ``lon``/``lat``, geocoding addresses when needed."""
    table = read_table(path, argument="STOPS")
    if {"lon", "lat"} <= set(table.columns):
        return table
    present = [c for c in _ADDRESS_COLUMNS if c in table.columns]
    if not present:
        msg = (
            f"STOPS {path}: no lon/lat and no address column (columns: {list(table.columns)}); "
            f"add lon and lat, or an address (one column 'address', or {', '.join(_ADDRESS_COLUMNS[1:])})"
        )
        raise ValidationError(msg)
    if len(table) > MAX_STOPS:
        msg = f"STOPS {path} has {len(table)} rows; a route takes at most {MAX_STOPS}: split it"
        raise ValidationError(msg)
    placed = geocode_frame(conn, table[present])  # type: ignore[arg-type]
    return table.assign(
        lon=placed["lon"].to_numpy(),
        lat=placed["lat"].to_numpy(),
        geocode_precision=placed["precision"].to_numpy(),
    )


@click.command("route")
@click.argument("stops", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--from", "from_address", default=None, help="Start at this address (geocoded).")
@click.option("--branch", default=None, help="Start at this branch code.")
@click.option("--customer", "customer_id", default=None, help="Start at this customer.")
@click.option("--lon", type=float, default=None, help="Start longitude (with --lat).")
@click.option("--lat", type=float, default=None, help="Start latitude (with --lon).")
@click.option("--start", "start_time", default="08:00", show_default=True, help="Leave at HH:MM.")
@click.option(
    "--day-hours", type=float, default=8.0, show_default=True, help="Back within this many hours."
)
@click.option(
    "--service-minutes",
    type=float,
    default=15.0,
    show_default=True,
    help="Minutes at each stop (a column service_minutes overrides it per stop).",
)
@click.option("--no-return", is_flag=True, help="End at the last stop, not back at the start.")
@out_option(
    formats=ROUTE_FORMATS,
    help="Write the route: .xlsx/.csv (visit order), .gpx (sat-navs), .html (offline map).",
)
@pass_ctx
def route_command(
    ctx: Context,
    stops: Path,
    from_address: str | None,
    branch: str | None,
    customer_id: str | None,
    lon: float | None,
    lat: float | None,
    start_time: str,
    day_hours: float,
    service_minutes: float,
    no_return: bool,
    out: Path,
) -> None:
    """Plan the day's visits to the stops in STOPS (CSV or XLSX, at most 200 rows).

    STOPS has lon and lat columns, or addresses (a column address, or street, housenumber,
    postcode, city), geocoded offline. Optional columns window_start and window_end (HH:MM)
    say when a visit may begin; service_minutes how long it takes. The order is solved on
    the road graph (VROOM over road drive times); rows come back in visit order with stop,
    arrival, wait_s, departure, drive_time_s and distance_m; stops left out carry a reason.
    Give one start: --from ADDRESS, --branch CODE, --customer ID, or --lon/--lat.

    \b
    Examples:
      gcrm route calls.xlsx --branch B03 -o route.xlsx
      gcrm route calls.csv --from "Mannerheimintie 10, Helsinki" --start 08:30 -o route.gpx
      gcrm route calls.csv --customer C00042 --day-hours 6 -o route.html
    """
    given = [x for x in (from_address, branch, customer_id, lon) if x is not None]
    if len(given) != 1:
        msg = "give exactly one start: --from ADDRESS, --branch CODE, --customer ID or --lon/--lat"
        raise click.UsageError(msg)
    if out.suffix.lower() not in ROUTE_FORMATS:
        msg = f"--out {out}: a route is written as {', '.join(ROUTE_FORMATS)}; pick one"
        raise click.BadParameter(msg)
    with ctx.engine.begin() as conn:
        table = read_stops(conn, stops)
        if branch is not None:
            start: tuple[float, float] | str = branch
            label = None
        else:
            origin = resolve_origin(
                conn, address=from_address, customer_id=customer_id, lon=lon, lat=lat
            )
            start, label = (origin.lon, origin.lat), origin.label
        with tqdm(total=1, desc="route", unit="plan") as bar:
            plan = plan_route(
                conn,
                table,
                start=start,
                start_time=start_time,
                day_hours=day_hours,
                service_minutes=service_minutes,
                returns=not no_return,
                start_label=label,
            )
            bar.update(1)
    write_route(plan, out)
    totals = plan.totals()
    click.echo(
        f"{totals['stops']} stops from {plan.start_label}: {totals['start_time']}-"
        f"{totals['end_time']}, {totals['drive_time_s'] / 60:.0f} min driving, "
        f"{totals['distance_m'] / 1000:.1f} km; written to {out}"
    )
    for row in plan.unserved.itertuples(index=False):
        name = getattr(row, "name", None) or "a stop"
        click.echo(f"not visited: {name}: {row.reason}")
