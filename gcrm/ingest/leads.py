"""Lead and prospect lists as they come: a name, a location, and whatever else the file has.

A lead needs a ``name`` and a location, which may be

- a geometry (any file GDAL reads, GeoParquet; polygons stand in as a point on them),
- ``lon`` and ``lat`` columns of a table (EPSG:4326; also ``longitude``/``latitude``,
  ``lng``, ``x``/``y``, or any column named with ``--map lon=COL --map lat=COL``),
- an address: one column (``address``, or ``--map address=COL``) or in parts (``street``,
  ``housenumber``, ``postcode``, ``city``), geocoded with the customers' ladder
  (:func:`gcrm.geocode.geocode_frame`); such a lead carries ``geocode_precision``,
  ``geocode_score``, ``geocode_source`` and ``matched_address`` as customers do (they are
  empty for a lead whose file gave its location). An address the reference cannot place at
  all rejects its row with the reason.

``external_id``, ``category_group`` and ``category`` are optional (no category is stored as
an empty one). Every other column of the file is kept in ``attributes`` (jsonb, under the
file's own header) and written again by the lead exports.

**Lead ids.** A lead without ``external_id`` gets ``lead-`` followed by the first 16
hexadecimal digits of the SHA-256 of its name and its location as the file gives them: the
name, the one-line address, street, house number, postcode and city (each trimmed, runs of
spaces made one, lower case), and the geometry as WKT with 6 decimals (about 0.1 m), joined
with the unit separator (U+001F). The same row gives the same id on every import, so a
re-import updates the lead (a changed phone number, category or attribute) instead of
adding it again; a changed name or location is a new lead. Two rows of one file with the
same name and location are one lead: the second is rejected, naming the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from gcrm.core import STORAGE_CRS, ValidationError
from gcrm.geocode import geocode_frame, parse_addresses
from gcrm.ingest.codes import normalise_codes
from gcrm.ingest.load import as_text, load_layer
from gcrm.ingest.mapping import DISPLACED_PREFIX, ColumnMapping, apply_mapping, as_column_mapping
from gcrm.ingest.readers import HEADERS, read_layer_file, read_records
from gcrm.ingest.specs import LAYERS
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    check_text_fields,
    default_rejects_path,
    reject_empty_rows,
    require_columns,
    shown,
)
from gcrm.io import GEOMETRY_PROBLEM, READ_WARNINGS, TABLE_SUFFIXES

__all__ = ["ADDRESS_FIELDS", "LEAD_ID_PREFIX", "derive_lead_ids", "import_leads", "load_leads"]

#: The fields an address may come in: one line, or parts.
ADDRESS_FIELDS = ("address", "street", "housenumber", "postcode", "city")
_PARTS = ("street", "housenumber", "postcode", "city")
#: Column names read as coordinates (EPSG:4326), first found wins.
_LON_NAMES = ("lon", "lng", "long", "longitude", "x")
_LAT_NAMES = ("lat", "latitude", "y")
#: What a derived lead id starts with.
LEAD_ID_PREFIX = "lead-"
_ID_HEX_DIGITS = 16
_SEPARATOR = "\x1f"
_WKT_DECIMALS = 6
#: gcrm's own columns of a lead row, which are not the file's attributes.
_OWN = frozenset({*LAYERS["leads"].columns, *ADDRESS_FIELDS, "geometry", GEOMETRY_PROBLEM, "_row"})


def _read(path: Path, *, crs: str | None) -> pd.DataFrame:
    """A table as text (its coordinates, if any, are read after the mapping), or a spatial
    file with its attributes as text."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return read_records(path, argument="leads file")
    frame = read_layer_file(path, argument="leads file", crs=crs)
    headers = dict(frame.attrs.get(HEADERS, {}))
    frame = as_text(frame)
    frame.attrs[HEADERS] = headers
    return frame


def import_leads(
    conn: Connection,
    path: Path,
    *,
    rejects_path: Path | None = None,
    mapping: ColumnMapping | Mapping[str, str] | None = None,
    crs: str | None = None,
) -> ImportReport:
    """Validate, locate (geocoding addresses) and upsert a lead or prospect list.

    Parameters
    ----------
    conn
        A connection inside the transaction the list lands in, whole or not at all.
    path
        CSV, TSV or XLSX (coordinates in lon/lat columns, or addresses), or any spatial file.
    rejects_path
        Where rejected rows go, with row number and reason [default: ``<file>.rejects.csv``].
    mapping
        Which file column holds which field (``--map``, ``--mapping``, ``--preset``).
    crs
        The CRS of a spatial file that declares none.

    Returns
    -------
    ImportReport
        Rows read = inserted + updated + unchanged + rejected; details say how many were
        geocoded, at which precision, and how many ids were derived.

    Raises
    ------
    ValidationError
        When the file cannot be read, has no ``name`` column, or no location of any kind.
    """
    path = Path(path)
    mapping = as_column_mapping(mapping)
    frame = _read(path, crs=crs)
    headers = dict(frame.attrs.get(HEADERS, {}))
    read_warnings = list(frame.attrs.get(READ_WARNINGS, []))
    frame = apply_mapping(frame, mapping, source=f"leads file {str(path)!r}")
    return load_leads(
        conn,
        frame,
        source=str(path),
        rejects_path=rejects_path or default_rejects_path(path),
        widths=mapping.widths,
        headers=headers,
        details={"warnings while reading the file": read_warnings} if read_warnings else None,
    )


def _coordinate_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _given_locations(frame: pd.DataFrame, checks: RowChecks) -> tuple[np.ndarray, set[str]]:
    """The geometry each row brings (None where it has none), and the columns it came from."""
    if "geometry" in frame.columns:
        geoms = np.asarray(frame["geometry"].to_numpy(), dtype=object)
        # A geometry that could not be decoded is rejected with its reason, not geocoded.
        if GEOMETRY_PROBLEM in frame.columns:
            broken = (frame[GEOMETRY_PROBLEM].astype("string").fillna("") != "").to_numpy()
            geoms[broken & shapely.is_missing(geoms)] = shapely.Point()
        return geoms, {"geometry"}
    lon_col, lat_col = _coordinate_column(frame, _LON_NAMES), _coordinate_column(frame, _LAT_NAMES)
    if lon_col is None or lat_col is None:
        return np.full(len(frame), None, dtype=object), set()
    lon_text = frame[lon_col].astype("string").fillna("").str.strip()
    lat_text = frame[lat_col].astype("string").fillna("").str.strip()
    lon = pd.to_numeric(lon_text.str.replace(",", ".", regex=False), errors="coerce")
    lat = pd.to_numeric(lat_text.str.replace(",", ".", regex=False), errors="coerce")
    written = (lon_text != "") | (lat_text != "")
    checks.reject(
        written & (lon.isna() | lat.isna()),
        f"{lon_col} "
        + shown(lon_text)
        + f" and {lat_col} "
        + shown(lat_text)
        + " are not both numbers (degrees, EPSG:4326); fix them or leave both empty",
    )
    located = (lon.notna() & lat.notna()).to_numpy()
    points = np.full(len(frame), None, dtype=object)
    points[located] = shapely.points(lon.to_numpy(float)[located], lat.to_numpy(float)[located])
    return points, {lon_col, lat_col}


def _address_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """Street, house number, postcode and city of every row: the file's parts, or its
    one-line address split where the row has no parts."""
    parts = (
        pd.DataFrame({p: frame[p] if p in frame.columns else "" for p in _PARTS}, index=frame.index)
        .astype("string")
        .fillna("")
    )
    if "housenumber" not in frame.columns:
        # The number in the street field, as CRMs keep it ("Mannerheimintie 10").
        numbered = parts["street"].str.contains(r"\d", regex=True)
        if numbered.any():
            split = parse_addresses(parts.loc[numbered, "street"]).fillna("")
            found = split["housenumber"] != ""
            rows = found[found].index
            parts.loc[rows, "street"] = split.loc[rows, "street"]
            parts.loc[rows, "housenumber"] = split.loc[rows, "housenumber"]
    if "address" not in frame.columns:
        return parts
    one_line = frame["address"].astype("string").fillna("").str.strip()
    todo = (parts == "").all(axis=1) & (one_line != "")
    if todo.any():
        parts.loc[todo] = parse_addresses(one_line[todo]).fillna("").to_numpy()
    return parts


def _identity_text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().str.split().str.join(" ").str.lower()


def derive_lead_ids(frame: pd.DataFrame, geoms: np.ndarray) -> pd.Series:
    """The stable id of every row: ``lead-`` + 16 hex digits of SHA-256 of its name and
    location as written (see the module's documentation for the exact rule)."""
    columns = [
        _identity_text(frame[c]) if c in frame.columns else None for c in ("name", *ADDRESS_FIELDS)
    ]
    texts = [c for c in columns if c is not None]
    present = ~shapely.is_missing(geoms) if len(geoms) else np.zeros(0, dtype=bool)
    wkt = np.full(len(geoms), "", dtype=object)
    if present.any():
        wkt[present] = shapely.to_wkt(
            geoms[present].astype(object), rounding_precision=_WKT_DECIMALS, trim=True
        )
    identity = texts[0]
    for text in [*texts[1:], pd.Series(wkt, index=frame.index, dtype="string")]:
        identity = identity + _SEPARATOR + text
    # One hash per row; hashlib has no vectorised form, and it is fast next to geocoding.
    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in identity]
    return pd.Series(
        [LEAD_ID_PREFIX + d[:_ID_HEX_DIGITS] for d in digests], index=frame.index, dtype="string"
    )


def _attribute_columns(frame: pd.DataFrame, used: set[str]) -> list[str]:
    return [c for c in frame.columns if c not in _OWN and c not in used and not c.startswith("_")]


def _attributes(frame: pd.DataFrame, columns: list[str], headers: Mapping[str, str]) -> pd.Series:
    """The file's other columns of every row as a JSON object (empty cells left out)."""
    names = {
        c: headers.get(c.removeprefix(DISPLACED_PREFIX), c.removeprefix(DISPLACED_PREFIX))
        for c in columns
    }
    values = frame[columns].astype("string").fillna("").apply(lambda s: s.str.strip())
    # One object per row: JSON is written row by row (the column count is small).
    records = values.rename(columns=names).to_dict("records")
    return pd.Series(
        [json.dumps({k: v for k, v in r.items() if v}, ensure_ascii=False) for r in records],
        index=frame.index,
        dtype="string",
    )


def _geocode(
    conn: Connection, parts: pd.DataFrame, todo: pd.Series, checks: RowChecks
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Geocode the rows of ``todo``; reject those the reference cannot place at all."""
    result = pd.DataFrame(
        index=parts.index,
        columns=["lon", "lat", "precision", "score", "source", "matched_address"],
        dtype=object,
    )
    if not todo.any():
        return result, {}
    found = geocode_frame(conn, parts.loc[todo])
    result.loc[todo, list(result.columns)] = found[list(result.columns)].to_numpy()
    unplaced = todo & (result["precision"] == "none")
    address = (
        parts["street"]
        + " "
        + parts["housenumber"]
        + ", "
        + parts["postcode"]
        + " "
        + parts["city"]
    )
    checks.reject(
        unplaced,
        "address " + shown(address.str.strip(" ,")) + " could not be placed (geocode precision "
        "none); check it, import an address reference that has it, or give lon and lat",
    )
    placed = todo & ~unplaced
    return result, found.loc[placed[todo], "precision"].value_counts().to_dict()


def _lead_ids(frame: pd.DataFrame, geoms: np.ndarray, checks: RowChecks) -> tuple[pd.Series, int]:
    """The file's ids, or derived ones, and how many were derived; a derived id twice (the
    same name and place) rejects the second row."""
    ids = (
        frame["external_id"].astype("string").fillna("").str.strip()
        if "external_id" in frame
        else pd.Series("", index=frame.index, dtype="string")
    )
    derived = (ids == "").to_numpy()
    ids[derived] = derive_lead_ids(frame.loc[derived], geoms[derived])
    first = pd.Series(frame["_row"].to_numpy(), index=frame.index).groupby(ids.to_numpy())
    checks.reject(
        derived & ids.duplicated(keep="first"),
        "same name and location as row "
        + first.transform("min").astype(str)
        + " (one lead; this row is left out)",
    )
    return ids, int(derived.sum())


def _with_location(
    frame: pd.DataFrame, parts: pd.DataFrame, geoms: np.ndarray, found: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The rows with their address parts, geocoded points and geocode columns (empty where
    the file gave the location)."""
    placed = found["lon"].notna() & (found["precision"] != "none")
    geoms = geoms.copy()
    geoms[placed.to_numpy()] = shapely.points(
        found.loc[placed, "lon"].to_numpy(float), found.loc[placed, "lat"].to_numpy(float)
    )
    out = frame.drop(columns=["geometry"], errors="ignore").copy()
    for col in _PARTS:
        out[col] = parts[col]
    out["geocode_precision"] = found["precision"].where(placed, "")
    out["geocode_score"] = found["score"].where(placed, "").astype(str)
    out["geocode_source"] = found["source"].where(placed, "")
    out["matched_address"] = found["matched_address"].where(placed, "").fillna("")
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=STORAGE_CRS))


def _where_from(
    frame: pd.DataFrame, checks: RowChecks, *, where: str
) -> tuple[np.ndarray, set[str], pd.DataFrame]:
    """Each row's given geometry, the columns it came from, and its address parts; rows with
    neither are rejected, a file with no location column at all is an error."""
    geoms, used = _given_locations(frame, checks)
    if not used and not any(f in frame.columns for f in ADDRESS_FIELDS):
        msg = (
            f"{where} has no location: give a geometry (a spatial file), lon and lat columns, "
            "or an address (--map address=COLUMN, or street, housenumber, postcode and city)"
        )
        raise ValidationError(msg)
    parts = _address_parts(frame)
    # An empty geometry counts as given: the geometry check rejects it with its reason.
    given = ~shapely.is_missing(geoms)
    checks.reject(
        ~given & ~(parts != "").any(axis=1).to_numpy(),
        "no location: the row has neither coordinates nor an address",
    )
    return geoms, used, parts


def load_leads(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    source: str,
    rejects_path: Path,
    widths: Mapping[str, int] | None = None,
    headers: Mapping[str, str] | None = None,
    details: dict[str, object] | None = None,
) -> ImportReport:
    """Locate, check and upsert lead rows (text columns, ``_row``, maybe ``geometry``).

    The file importer and :func:`gcrm.ingest.import_frame` (OSM extracts) both land here;
    see the module's documentation for what a lead needs and how its id is derived.

    Raises
    ------
    ValidationError
        When ``frame`` has no ``name`` column, or no location of any kind.
    """
    where = f"leads file {source!r}"
    require_columns(frame, ("name",), source=where, hint="Name the column with --map name=COLUMN.")
    frame = normalise_codes(frame, widths=widths)
    checks = RowChecks(frame)
    reject_empty_rows(frame, checks)
    checks.reject(frame["name"].astype("string").fillna("").str.strip() == "", "name is empty")
    geoms, used, parts = _where_from(frame, checks, where=where)
    extra = _attribute_columns(frame, used)
    check_text_fields(frame, checks, extra)
    ids, derived = _lead_ids(frame, geoms, checks)
    todo = checks.ok & pd.Series(shapely.is_missing(geoms), index=frame.index)
    found, by_precision = _geocode(conn, parts, todo & (parts != "").any(axis=1), checks)
    out = _with_location(frame, parts, geoms, found)
    out["external_id"] = ids
    out["attributes"] = _attributes(frame, extra, headers or {})
    names = [(headers or {}).get(c.removeprefix(DISPLACED_PREFIX), c) for c in extra]
    report_details = {
        **(details or {}),
        **({"geocoded by precision": by_precision} if by_precision else {}),
        **({"ids derived from name and location": derived} if derived else {}),
        **({"columns kept as attributes": names} if names else {}),
    }
    return load_layer(
        conn,
        LAYERS["leads"],
        out,
        source=source,
        rejects_path=rejects_path,
        details=report_details,
        widths=widths,
        # The same rows, located and with their ids: the rejects file shows them as read.
        checks=checks,
    )
