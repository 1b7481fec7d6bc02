"""``gcrm geocode`` and ``gcrm reverse-geocode``: any CSV/XLSX in, the same file plus results out;
``gcrm geocode --customers``: the stored customers geocoded again (:mod:`gcrm.ingest.regeocode`).

Every input column is kept, in order and as text exactly as read; result columns (prefixed
``gcrm_``) are appended; the row count out equals the row count in. The work is
:mod:`gcrm.geocode.user_tables`; this module parses options and draws progress.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from gcrm.cli.context import Context, pass_ctx
from gcrm.cli.options import AliasedOption, file_argument, out_option
from gcrm.core import ValidationError
from gcrm.geocode import GeopyProvider, nominatim_provider
from gcrm.geocode.columns import coordinate_column, detect_address_columns, read_coordinates
from gcrm.geocode.user_tables import (
    APPENDED_COLUMNS,
    REVERSE_COLUMNS,
    append_columns,
    check_no_result_columns,
    format_precision_summary,
    geocode_rows,
    online_todo,
    precision_summary,
    refine_rows_online,
    reverse_rows,
    reverse_summary,
)
from gcrm.ingest import parse_where, regeocode_customers
from gcrm.ingest.regeocode import DEFAULT_BATCH_SIZE
from gcrm.io import TABLE_FORMATS, check_suffix, read_table, write_frame

__all__ = ["geocode_command", "reverse_geocode_command"]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    return write_frame(
        frame, path, layer="geocoded", sheet="Sheet1", formats=TABLE_FORMATS, argument="--out"
    )


def _online_provider(
    online: str | None, *, user_agent: str | None, min_delay_s: float, use_cache: bool
) -> GeopyProvider | None:
    if online is None:
        if user_agent is not None:
            msg = "--user-agent is only used with --online; add --online nominatim or drop it"
            raise ValidationError(msg)
        return None
    return nominatim_provider(user_agent=user_agent, min_delay_s=min_delay_s, use_cache=use_cache)


@click.command("geocode")
@click.argument(
    "in_path",
    metavar="[IN]",
    required=False,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
)
@out_option(
    required=False,
    help="Result file, .csv or .xlsx: IN's columns plus gcrm_lon, gcrm_lat, gcrm_precision, "
    "gcrm_score, gcrm_source, gcrm_matched_address.",
)
@click.option(
    "--customers",
    "customers",
    is_flag=True,
    help="Geocode the customers already stored again (after a better reference was "
    "imported), instead of a file.",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="precision=P[,P...]",
    help="With --customers: only customers placed at these precisions now, e.g. "
    "precision=street,postcode [default: every customer].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="With --customers: customers per batch; each batch is one transaction.",
)
@click.option("--address", "address", metavar="COL", help="Column of one-line addresses.")
@click.option("--street", metavar="COL", help="Column of street names.")
@click.option("--number", "housenumber", metavar="COL", help="Column of house numbers.")
@click.option("--postcode", metavar="COL", help="Column of postcodes.")
@click.option("--city", metavar="COL", help="Column of cities / localities.")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="Parallel database connections.",
)
@click.option("--no-cache", is_flag=True, help="Ignore (and do not fill) the geocode cache.")
@click.option(
    "--online",
    type=click.Choice(["nominatim"]),
    default=None,
    help="Also ask this online service about rows the offline reference placed at postcode "
    "level or worse [default: offline only]. Sends those addresses over the network.",
)
@click.option(
    "--user-agent",
    default=None,
    help="With --online: your app and a contact, required by Nominatim.",
)
@click.option(
    "--min-delay-s",
    type=click.FloatRange(1.0),
    default=1.0,
    show_default=True,
    help="With --online: seconds between calls (Nominatim's policy: at least 1).",
)
@pass_ctx
def geocode_command(
    ctx: Context,
    in_path: Path | None,
    out: Path | None,
    customers: bool,
    where: tuple[str, ...],
    batch_size: int,
    address: str | None,
    street: str | None,
    housenumber: str | None,
    postcode: str | None,
    city: str | None,
    workers: int,
    no_cache: bool,
    online: str | None,
    user_agent: str | None,
    min_delay_s: float,
) -> None:
    """Geocode every row of IN (CSV or XLSX) against the offline address reference, or
    with --customers the customers already stored.

    Address columns are found by their usual names (address, street, house_number, postcode,
    zip, city, katu, postinumero, kaupunki, ...) unless named with the options; what was found
    is printed. Every column of IN is kept as it was; no row is dropped: rows that cannot be
    placed get precision "none" and empty coordinates. A table of precisions ends the run.

    \b
    Precision, best first: rooftop, interpolated, street, postcode, locality, none.
    \b
    Examples:
      gcrm geocode crm_export.csv -o crm_geocoded.csv
      gcrm geocode leads.xlsx -o leads_geo.xlsx --address "Full address"
      gcrm geocode shops.csv -o out.csv --street Katu --number Nro --postcode Postinumero --city Kaupunki
      gcrm geocode big.csv -o big_geo.csv --workers 2 --no-cache
      gcrm geocode crm.csv -o crm_geo.csv --online nominatim --user-agent "acme-crm (ops@acme.example)"
      gcrm geocode --customers --where precision=street,postcode,locality

    \b
    With --customers, the stored customers (all, or those placed at the precisions of
    --where) are geocoded again in batches, each batch one transaction (a run that stops
    leaves the batches done; run it again to finish), and a table says how many went from
    which precision to which. Moved customers are enriched again by gcrm enrich.
    """
    if customers:
        _check_customers_options(
            in_path=in_path,
            out=out,
            online=online,
            columns=[address, street, housenumber, postcode, city],
        )
        _regeocode(ctx, where=where, batch_size=batch_size, use_cache=not no_cache)
        return
    if where:
        msg = "--where chooses stored customers; add --customers, or drop --where to geocode IN"
        raise ValidationError(msg)
    if in_path is None or out is None:
        msg = "give IN and -o/--out (gcrm geocode IN -o OUT), or --customers to geocode the stored customers again"
        raise click.UsageError(msg)
    check_suffix(out, TABLE_FORMATS, argument="--out")
    provider = _online_provider(
        online, user_agent=user_agent, min_delay_s=min_delay_s, use_cache=not no_cache
    )
    table = read_table(in_path, argument="IN")
    check_no_result_columns(table, APPENDED_COLUMNS)
    columns = detect_address_columns(
        [str(c) for c in table.columns],
        address=address,
        street=street,
        housenumber=housenumber,
        postcode=postcode,
        city=city,
    )
    click.echo(f"{len(table):,} rows; address columns: {columns.describe()}")
    frame = columns.frame(table).set_axis(pd.RangeIndex(len(table)))
    with tqdm(total=len(frame), desc="geocode", unit="row", mininterval=0.5) as bar:
        results = geocode_rows(
            ctx.engine, frame, workers=workers, use_cache=not no_cache, on_rows=bar.update
        )
    if provider is not None:
        todo = online_todo(results)
        click.echo(
            f"asking {provider.name} about {len(todo):,} rows placed at postcode level or worse"
        )
        with tqdm(total=len(todo), desc=provider.name, unit="row") as bar:
            results = refine_rows_online(
                ctx.engine, frame, results, provider=provider, on_rows=bar.update
            )
        click.echo(
            f"{provider.name}: {provider.calls:,} calls to the service (the rest from cache)"
        )
    written = _write(append_columns(table, results, APPENDED_COLUMNS), out)
    click.echo(format_precision_summary(precision_summary(results["precision"])))
    click.echo(f"{len(table):,} rows written to {written}")


def _check_customers_options(
    *, in_path: Path | None, out: Path | None, online: str | None, columns: list[str | None]
) -> None:
    """--customers geocodes the database's customers: a file, its columns and --online do
    not apply."""
    given = [
        name
        for name, value in (("IN", in_path), ("-o/--out", out), ("--online", online))
        if value is not None
    ]
    if any(c is not None for c in columns):
        given.append("the address column options")
    if given:
        msg = (
            f"--customers geocodes the stored customers: {', '.join(given)} do not apply; "
            "drop them (or drop --customers to geocode a file)"
        )
        raise click.UsageError(msg)


def _regeocode(ctx: Context, *, where: tuple[str, ...], batch_size: int, use_cache: bool) -> None:
    precisions = parse_where(where)
    chosen = f"placed at {', '.join(precisions)}" if precisions else "all"
    with tqdm(desc="geocode customers", unit="customer", mininterval=0.5) as bar:

        def start(total: int) -> None:
            bar.reset(total=total)
            click.echo(f"{total:,} customers ({chosen}); {batch_size:,} per transaction")

        report = regeocode_customers(
            ctx.engine,
            precisions=precisions,
            batch_size=batch_size,
            use_cache=use_cache,
            on_start=start,
            on_batch=bar.update,
        )
    click.echo(report.summary())
    if report.moved:
        click.echo("moved customers are enriched again by: gcrm enrich")


@click.command("reverse-geocode")
@file_argument("in_path", metavar="IN")
@out_option(
    help="Result file, .csv or .xlsx: IN's columns plus gcrm_address, gcrm_address_ref, "
    "gcrm_distance_m."
)
@click.option(
    "--lon-column",
    "--lon",
    "lon_col",
    cls=AliasedOption,
    aliases=("--lon",),
    metavar="COL",
    default=None,
    help="Longitude column (EPSG:4326) [default: lon/lng/longitude/x].",
)
@click.option(
    "--lat-column",
    "--lat",
    "lat_col",
    cls=AliasedOption,
    aliases=("--lat",),
    metavar="COL",
    default=None,
    help="Latitude column (EPSG:4326) [default: lat/latitude/y].",
)
@click.option(
    "--max-distance-m",
    type=click.FloatRange(0, 50_000, min_open=True),
    default=250.0,
    show_default=True,
    help="Farthest an address may be from the point.",
)
@pass_ctx
def reverse_geocode_command(
    ctx: Context,
    in_path: Path,
    out: Path,
    lon_col: str | None,
    lat_col: str | None,
    max_distance_m: float,
) -> None:
    """Find the nearest reference address to every point of IN (CSV or XLSX).

    Every column of IN is kept; gcrm_address (e.g. "Mannerheimintie 10, 00100 Helsinki"),
    gcrm_address_ref and gcrm_distance_m (metres, on the ellipsoid) are appended, empty where
    no address lies within --max-distance-m or the coordinates are missing or invalid.

    \b
    Examples:
      gcrm reverse-geocode visits.csv -o visits_addresses.csv
      gcrm reverse-geocode gps.xlsx -o gps_out.xlsx --lon-column Longitude --lat-column Latitude \\
          --max-distance-m 100
    """
    check_suffix(out, TABLE_FORMATS, argument="--out")
    table = read_table(in_path, argument="IN")
    check_no_result_columns(table, REVERSE_COLUMNS)
    names = [str(c) for c in table.columns]
    lon = coordinate_column(names, "lon", lon_col)
    lat = coordinate_column(names, "lat", lat_col)
    click.echo(f"{len(table):,} rows; coordinates: lon={lon!r}, lat={lat!r} (EPSG:4326)")
    table = table.set_axis(pd.RangeIndex(len(table)))
    coords = read_coordinates(table, lon, lat)
    with tqdm(total=len(coords), desc="reverse-geocode", unit="row", mininterval=0.5) as bar:
        results = reverse_rows(
            ctx.engine,
            coords,
            max_distance_m=max_distance_m,
            index=table.index,
            on_rows=bar.update,
        )
    written = _write(append_columns(table, results, REVERSE_COLUMNS), out)
    invalid = len(table) - len(coords)
    click.echo(reverse_summary(results, invalid=invalid, max_distance_m=max_distance_m))
    click.echo(f"{len(table):,} rows written to {written}")
