"""``gcrm geocode`` and ``gcrm reverse-geocode``: any CSV/XLSX in, the same file plus results out.

Every input column is kept, in order and as text exactly as read; result columns (prefixed
``gcrm_``) are appended; the row count out equals the row count in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
import pandas as pd
from tqdm import tqdm

from gcrm.clicontext import pass_ctx
from gcrm.core import ValidationError
from gcrm.ingest.geocode import PRECISIONS, geocode_batch, reverse_geocode_frame
from gcrm.io import TABLE_FORMATS, check_suffix, read_table, write_frame

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gcrm.clicontext import Context
    from gcrm.ingest.providers import GeopyProvider

__all__ = [
    "ADDRESS_COLUMN_NAMES",
    "COORDINATE_COLUMN_NAMES",
    "RESULT_COLUMNS",
    "REVERSE_COLUMNS",
    "AddressColumns",
    "detect_address_columns",
    "geocode_command",
    "precision_summary",
    "read_any_table",
    "reverse_geocode_command",
    "write_any_table",
]

#: Header names recognised for each address part (compared lower case, spaces/dashes as _).
ADDRESS_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "address": ("address", "full_address", "addr", "address_line", "osoite"),
    "street": ("street", "street_name", "streetname", "katu", "katuosoite", "road"),
    "housenumber": ("house_number", "housenumber", "number", "nr", "no", "house_no", "talonumero"),
    "postcode": (
        "postcode",
        "zip",
        "zipcode",
        "zip_code",
        "postal_code",
        "postalcode",
        "postinumero",
    ),
    "city": ("city", "town", "locality", "kaupunki", "municipality", "kunta", "postitoimipaikka"),
}
COORDINATE_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
}
#: Columns ``gcrm geocode`` appends, from the geocoder's result columns.
RESULT_COLUMNS: dict[str, str] = {
    "lon": "gcrm_lon",
    "lat": "gcrm_lat",
    "precision": "gcrm_precision",
    "score": "gcrm_score",
    "source": "gcrm_source",
    "matched_address": "gcrm_matched_address",
}
#: Columns ``gcrm reverse-geocode`` appends.
REVERSE_COLUMNS: dict[str, str] = {
    "address": "gcrm_address",
    "ref": "gcrm_address_ref",
    "distance_m": "gcrm_distance_m",
}
#: Rows per chunk once a file is big enough for a progress bar to be worth watching; smaller
#: files go in the fewest chunks (each chunk pays a fixed pass over the reference).
PROGRESS_CHUNK = 5_000
_ONLINE_CHUNK = 50
_SEP = re.compile(r"[\s\-.]+")


# --------------------------------------------------------------------------- files


def read_any_table(path: Path, *, argument: str = "IN") -> pd.DataFrame:
    """Read a CSV or XLSX file with every cell as text, exactly as written (see
    :func:`gcrm.io.read_table`)."""
    return read_table(path, argument=argument)


def write_any_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or XLSX by the suffix of ``path``; return ``path``."""
    return write_frame(
        frame, path, layer="geocoded", sheet="Sheet1", formats=TABLE_FORMATS, argument="--out"
    )


def _check_no_result_columns(frame: pd.DataFrame, names: Mapping[str, str]) -> None:
    clash = [c for c in names.values() if c in frame.columns]
    if clash:
        msg = (
            f"IN already has columns {clash}: it looks like gcrm output; run on the original "
            "file, or rename or drop those columns"
        )
        raise ValidationError(msg)


# --------------------------------------------------------------------------- columns


def _key(header: object) -> str:
    return _SEP.sub("_", str(header).strip().lower())


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    by_key = {}
    for column in columns:
        by_key.setdefault(_key(column), column)
    return next((by_key[n] for n in names if n in by_key), None)


def _check_given(columns: list[str], option: str, value: str | None) -> str | None:
    if value is None or value in columns:
        return value
    found = _find(columns, (_key(value),))
    if found is None:
        msg = f"{option} {value!r} is not a column of IN; its columns are {columns}"
        raise ValidationError(msg)
    return found


class AddressColumns:
    """Which columns of the input hold which part of the address (``None``: absent)."""

    def __init__(self, parts: Mapping[str, str | None], *, given: set[str]) -> None:
        self.parts = {k: parts.get(k) for k in ADDRESS_COLUMN_NAMES}
        self.given = given

    def describe(self) -> str:
        """One line for people: ``street='Katu' (given), postcode='zip' (detected), ...``."""
        return ", ".join(
            f"{part}={column!r} ({'given' if part in self.given else 'detected'})"
            for part, column in self.parts.items()
            if column is not None
        )

    def frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """The geocoder's input: an ``address`` column, or split columns (blank = missing)."""

        def col(part: str) -> pd.Series:
            name = self.parts[part]
            if name is None:
                return pd.Series(pd.NA, index=table.index, dtype="string")
            values = table[name].astype("string").str.strip()
            return values.mask(values == "")

        if self.parts["address"] is None:
            return pd.DataFrame({p: col(p) for p in ("street", "housenumber", "postcode", "city")})
        # A one-line address, with postcode and city appended when they are columns of
        # their own (a common CRM layout: "Mannerheimintie 10" | "00100" | "Helsinki").
        line = col("address").fillna("")
        town = (col("postcode").fillna("") + " " + col("city").fillna("")).str.strip()
        joined = (line + ", " + town).str.strip(", ")
        return pd.DataFrame({"address": joined.mask(joined == "")})


def detect_address_columns(
    columns: list[str],
    *,
    address: str | None = None,
    street: str | None = None,
    housenumber: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
) -> AddressColumns:
    """Which columns hold the address: the ones given, the others found by common names.

    A one-line ``address`` column is used only when no street column is given or found.

    Raises
    ------
    ValidationError
        When a given column does not exist, or no address column is given or found.
    """
    options = {
        "address": ("--address", address),
        "street": ("--street", street),
        "housenumber": ("--number", housenumber),
        "postcode": ("--postcode", postcode),
        "city": ("--city", city),
    }
    given = {p: _check_given(columns, opt, v) for p, (opt, v) in options.items()}
    parts = {p: given[p] or _find(columns, ADDRESS_COLUMN_NAMES[p]) for p in ADDRESS_COLUMN_NAMES}
    if given["address"] is not None:
        parts["street"] = parts["housenumber"] = None
    elif parts["street"] is not None:
        parts["address"] = None
    if not any(parts.values()):
        msg = (
            f"no address column found among {columns}; name them with --address COL (one-line "
            "addresses) or --street COL --number COL --postcode COL --city COL"
        )
        raise ValidationError(msg)
    return AddressColumns(parts, given={p for p, v in given.items() if v is not None})


def _coordinate_column(columns: list[str], part: str, given: str | None) -> str:
    option = f"--{part}"
    found = _check_given(columns, option, given) or _find(columns, COORDINATE_COLUMN_NAMES[part])
    if found is None:
        msg = f"no {part} column found among {columns}; name it with {option} COL"
        raise ValidationError(msg)
    return found


# --------------------------------------------------------------------------- summary


def precision_summary(precision: pd.Series) -> pd.DataFrame:
    """Rows placed at each precision, best first: ``count`` and ``share`` (0-1), and a total."""
    counts = precision.value_counts().reindex(list(PRECISIONS), fill_value=0).astype(int)
    total = int(counts.sum())
    table = pd.DataFrame({"count": counts, "share": counts / total if total else 0.0})
    table.loc["total"] = [total, 1.0 if total else 0.0]
    table["count"] = table["count"].astype(int)
    table.index.name = "precision"
    return table


def _format_summary(table: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "count": table["count"].map("{:,}".format),
            "share": table["share"].map("{:.1%}".format),
        },
        index=table.index,
    )
    return shown.to_string()


# --------------------------------------------------------------------------- geocode


def _chunk_size(rows: int) -> int | None:
    return PROGRESS_CHUNK if rows > 2 * PROGRESS_CHUNK else None


def _reference_results(
    engine: Engine, frame: pd.DataFrame, *, workers: int, use_cache: bool
) -> pd.DataFrame:
    with tqdm(total=len(frame), desc="geocode", unit="row", mininterval=0.5) as bar:
        results = geocode_batch(
            engine,
            frame,
            workers=workers,
            chunk_size=_chunk_size(len(frame)),
            use_cache=use_cache,
            on_chunk=bar.update,
        )
    return results.set_axis(frame.index)


def _online_results(
    engine: Engine, frame: pd.DataFrame, results: pd.DataFrame, *, provider: GeopyProvider
) -> pd.DataFrame:
    from gcrm.ingest.providers import FALLBACK_PRECISIONS, refine_with_provider

    todo = results.index[results["precision"].isin(FALLBACK_PRECISIONS).to_numpy()]
    click.echo(f"asking {provider.name} about {len(todo):,} rows placed at postcode level or worse")
    with tqdm(total=len(todo), desc=provider.name, unit="row") as bar:
        # Small chunks, each committed: the cache keeps every answer even if the run stops.
        for start in range(0, len(todo), _ONLINE_CHUNK):
            part = todo[start : start + _ONLINE_CHUNK]
            with engine.begin() as conn:
                refined = refine_with_provider(
                    conn, frame.loc[part], results.loc[part], provider=provider
                )
            results.loc[part, list(refined.columns)] = refined
            bar.update(len(part))
    click.echo(f"{provider.name}: {provider.calls:,} calls to the service (the rest from cache)")
    return results


def _append(table: pd.DataFrame, results: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    added = results[list(names)].rename(columns=dict(names))
    added.index = table.index
    return pd.concat([table, added], axis=1)


def _online_provider(
    online: str | None, *, user_agent: str | None, min_delay_s: float, use_cache: bool
) -> GeopyProvider | None:
    if online is None:
        if user_agent is not None:
            msg = "--user-agent is only used with --online; add --online nominatim or drop it"
            raise ValidationError(msg)
        return None
    from gcrm.ingest.providers import nominatim_provider

    return nominatim_provider(user_agent=user_agent, min_delay_s=min_delay_s, use_cache=use_cache)


@click.command("geocode")
@click.argument(
    "in_path", metavar="IN", type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Result file, .csv or .xlsx: IN's columns plus gcrm_lon, gcrm_lat, gcrm_precision, "
    "gcrm_score, gcrm_source, gcrm_matched_address.",
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
    in_path: Path,
    out: Path,
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
    """Geocode every row of IN (CSV or XLSX) against the offline address reference.

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
    """
    check_suffix(out, TABLE_FORMATS, argument="--out")
    provider = _online_provider(
        online, user_agent=user_agent, min_delay_s=min_delay_s, use_cache=not no_cache
    )
    table = read_any_table(in_path)
    _check_no_result_columns(table, RESULT_COLUMNS)
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
    results = _reference_results(ctx.engine, frame, workers=workers, use_cache=not no_cache)
    if provider is not None:
        results = _online_results(ctx.engine, frame, results, provider=provider)
    written = write_any_table(_append(table, results, RESULT_COLUMNS), out)
    click.echo(_format_summary(precision_summary(results["precision"])))
    click.echo(f"{len(table):,} rows written to {written}")


# --------------------------------------------------------------------------- reverse


def _coordinates(table: pd.DataFrame, lon: str, lat: str) -> pd.DataFrame:
    def number(name: str) -> pd.Series:
        # Decimal commas are common in Finnish spreadsheets.
        text_ = table[name].astype("string").str.strip().str.replace(",", ".", regex=False)
        return pd.to_numeric(text_, errors="coerce").astype(float)

    coords = pd.DataFrame({"lon": number(lon), "lat": number(lat)})
    valid = coords["lon"].between(-180, 180) & coords["lat"].between(-90, 90)
    return coords[valid.to_numpy()]


def _reverse_results(
    engine: Engine, coords: pd.DataFrame, *, max_distance_m: float, index: pd.Index
) -> pd.DataFrame:
    parts = []
    with tqdm(total=len(coords), desc="reverse-geocode", unit="row", mininterval=0.5) as bar:
        for start in range(0, len(coords), PROGRESS_CHUNK):
            chunk = coords.iloc[start : start + PROGRESS_CHUNK]
            with engine.begin() as conn:
                parts.append(reverse_geocode_frame(conn, chunk, max_distance_m=max_distance_m))
            bar.update(len(chunk))
    empty = pd.DataFrame(columns=["address", "ref", "distance_m"], index=pd.Index([], dtype=int))
    found = pd.concat(parts) if parts else empty
    return found[["address", "ref", "distance_m"]].reindex(index)


def _reverse_summary(results: pd.DataFrame, *, invalid: int, max_distance_m: float) -> str:
    found = int(results["ref"].notna().sum())
    missing = len(results) - found - invalid
    lines = [
        f"address found within {max_distance_m:g} m: {found:,}",
        f"no address within {max_distance_m:g} m:   {missing:,}",
        f"missing or invalid coordinates:  {invalid:,}",
    ]
    if found:
        d = results["distance_m"].dropna()
        lines.append(f"distance (m): median {np.median(d):.1f}, max {d.max():.1f}")
    return "\n".join(lines)


@click.command("reverse-geocode")
@click.argument(
    "in_path", metavar="IN", type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Result file, .csv or .xlsx: IN's columns plus gcrm_address, gcrm_address_ref, "
    "gcrm_distance_m.",
)
@click.option(
    "--lon",
    "lon_col",
    metavar="COL",
    default=None,
    help="Longitude column (EPSG:4326) [default: lon/lng/longitude/x].",
)
@click.option(
    "--lat",
    "lat_col",
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
      gcrm reverse-geocode gps.xlsx -o gps_out.xlsx --lon Longitude --lat Latitude --max-distance-m 100
    """
    check_suffix(out, TABLE_FORMATS, argument="--out")
    table = read_any_table(in_path)
    _check_no_result_columns(table, REVERSE_COLUMNS)
    names = [str(c) for c in table.columns]
    lon = _coordinate_column(names, "lon", lon_col)
    lat = _coordinate_column(names, "lat", lat_col)
    click.echo(f"{len(table):,} rows; coordinates: lon={lon!r}, lat={lat!r} (EPSG:4326)")
    table = table.set_axis(pd.RangeIndex(len(table)))
    coords = _coordinates(table, lon, lat)
    results = _reverse_results(ctx.engine, coords, max_distance_m=max_distance_m, index=table.index)
    written = write_any_table(_append(table, results, REVERSE_COLUMNS), out)
    invalid = len(table) - len(coords)
    click.echo(_reverse_summary(results, invalid=invalid, max_distance_m=max_distance_m))
    click.echo(f"{len(table):,} rows written to {written}")
