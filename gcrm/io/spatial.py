"""Spatial files: anything GDAL reads (through pyogrio), GeoParquet, and tables with lon/lat.

A file gcrm cannot read is a :class:`~gcrm.core.errors.ValidationError` with one line that
names the file, the line where there is one (GeoJSON that is not JSON), and the fix. A
feature whose geometry GEOS cannot decode (an unclosed ring, a line of one point) does not
stop the read: its geometry is missing and the column ``_geometry_problem`` says why, so an
importer rejects that row with the reason. What GDAL warns about while reading is kept in
``frame.attrs["read_warnings"]`` rather than printed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.raw import read as read_raw
from pyproj import CRS
from pyproj.exceptions import ProjError

from gcrm.core.crs import STORAGE_CRS, to_storage_crs
from gcrm.core.errors import CRSMismatchError, ValidationError
from gcrm.io.tables import TABLE_SUFFIXES, check_exists, first_line, read_table

__all__ = ["GEOMETRY_PROBLEM", "READ_WARNINGS", "VECTOR_SUFFIXES", "read_features"]

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".zip")
#: The column that says why a feature's geometry could not be decoded ("" when it could).
GEOMETRY_PROBLEM = "_geometry_problem"
#: The key of ``frame.attrs`` that holds what GDAL warned about while reading.
READ_WARNINGS = "read_warnings"
_FORMATS = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON file",
    ".json": "GeoJSON file",
    ".shp": "Shapefile",
    ".fgb": "FlatGeobuf file",
    ".zip": "zipped Shapefile",
}
_GEOJSON_TYPES = {"FeatureCollection", "Feature"}


def _lon_lat_columns(table: pd.DataFrame, *, argument: str, path: Path) -> tuple[str, str]:
    by_key = {str(c).strip().lower(): c for c in table.columns}
    missing = [k for k in ("lon", "lat") if k not in by_key]
    if missing:
        msg = f"{argument} {str(path)!r} has no geometry; a table needs 'lon' and 'lat' columns (missing {missing})"
        raise ValidationError(msg)
    return by_key["lon"], by_key["lat"]


def _json_problem(path: Path) -> str | None:
    """Why a .geojson file is not GeoJSON, with the line; None when it looks like GeoJSON."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        return (
            f"line {line} has byte 0x{byte}, which is not UTF-8 (GeoJSON is always UTF-8); "
            "save it again as UTF-8"
        )
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = (
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else "nested too deeply"
        )
        return f"it is not JSON ({where}); export it again (a cut-off download or a hand edit breaks it)"
    if not isinstance(data, dict) or data.get("type") not in _GEOJSON_TYPES:
        top = f"type {data.get('type')!r}" if isinstance(data, dict) else f"a {type(data).__name__}"
        return f"it is JSON but not GeoJSON (the top level is {top}); expected a FeatureCollection"
    return None


def _unreadable(path: Path, exc: BaseException, *, source: str) -> ValidationError:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        problem = _json_problem(path)
        if problem is not None:
            return ValidationError(f"{source}: {problem}")
    if isinstance(exc, UnicodeDecodeError):
        msg = (
            f"{source} has text that is not in the encoding it declares ({first_line(exc)}); "
            "export it again as UTF-8 (for a Shapefile, a .cpg file beside it names the encoding)"
        )
        return ValidationError(msg)
    reason = first_line(str(exc).split("; It might help")[0], limit=150)
    what = _FORMATS.get(suffix, "spatial file")
    msg = (
        f"{source} is not a {what} GDAL can read ({reason}); export it again from your GIS, "
        "and check that the file is complete"
    )
    return ValidationError(msg)


def _undecodable_geometries(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    """The layer with the geometries GEOS cannot decode left empty and their problem named."""
    gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
    _, _, wkb, _ = read_raw(path, layer=layer, columns=[])
    present = np.array([w is not None for w in wkb], dtype=bool)
    broken = np.flatnonzero(present & gdf.geometry.isna().to_numpy())
    problems = np.full(len(gdf), "", dtype=object)
    # A loop over the broken features only (few): each one's own GEOS message.
    for i in broken:
        try:
            shapely.from_wkb(wkb[i])
            problems[i] = "cannot be decoded"
        except shapely.errors.GEOSException as exc:
            problems[i] = first_line(str(exc).split(": ", 1)[-1], limit=120)
    gdf[GEOMETRY_PROBLEM] = problems
    return gdf


def _read_dataframe(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    """The layer through GDAL's Arrow stream (a million points: 1.2 s against 3.6 s), or,
    when that fails, through the classic reader, whose errors :func:`_unreadable` explains."""
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
        _check_utf8(gdf)
        return gdf
    # The Arrow reader fails in its own ways; the classic reader then reads the file or
    # fails as it always has.
    except Exception:
        return pyogrio.read_dataframe(path, layer=layer)


def _check_utf8(gdf: gpd.GeoDataFrame) -> None:
    """Raise when a text column holds bytes that are not UTF-8: GDAL's Arrow stream passes
    them through (a cp1252 GeoJSON), where the classic reader raises."""
    for col in gdf.columns:
        values = gdf[col].array
        if isinstance(gdf[col].dtype, pd.StringDtype | pd.ArrowDtype) and hasattr(
            values, "__arrow_array__"
        ):
            values.__arrow_array__().validate(full=True)


def _read_vector(path: Path, *, source: str, layer: str | None) -> gpd.GeoDataFrame:
    if path.suffix.lower() == ".parquet":
        try:
            return gpd.read_parquet(path)
        # Any failure of pyarrow or of the geo metadata means: not GeoParquet gcrm reads.
        except Exception as exc:
            msg = (
                f"{source} is not a GeoParquet file gcrm can read ({type(exc).__name__}: "
                f"{first_line(exc, limit=120)}); write it with GeoDataFrame.to_parquet or "
                "ogr2ogr -f Parquet"
            )
            raise ValidationError(msg) from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            try:
                gdf = _read_dataframe(path, layer=layer)
            except shapely.errors.GEOSException:
                gdf = _undecodable_geometries(path, layer=layer)
        # GDAL, pyogrio and shapely fail in many ways on a broken file; to the user each is
        # the same: this file cannot be read, and here is what to do.
        except Exception as exc:
            raise _unreadable(path, exc, source=source) from None
    gdf.attrs[READ_WARNINGS] = sorted({first_line(w.message, limit=150) for w in caught})
    return gdf


def _set_crs(gdf: gpd.GeoDataFrame, crs: str | None, *, source: str) -> gpd.GeoDataFrame:
    if crs is None:
        return gdf
    try:
        stated = CRS.from_user_input(crs)
    except ProjError:
        msg = f"--crs {crs!r} is not a coordinate reference system pyproj knows; write it as EPSG:<code>, e.g. --crs EPSG:3067"
        raise CRSMismatchError(msg) from None
    if gdf.crs is None:
        return gdf.set_crs(stated)
    if gdf.crs != stated:
        msg = f"{source} declares {gdf.crs.to_string()}, but --crs says {crs}; drop --crs or fix the file"
        raise CRSMismatchError(msg)
    return gdf


def _to_storage(gdf: gpd.GeoDataFrame, *, source: str) -> Any:
    try:
        return to_storage_crs(gdf, source=source)
    except ProjError as exc:
        msg = (
            f"{source} is in {gdf.crs.name!r}, which cannot be converted to {STORAGE_CRS} "
            f"({first_line(exc, limit=120)}); state the right CRS with --crs or fix the file's"
        )
        raise CRSMismatchError(msg) from None


def read_features(
    path: Path, *, argument: str = "FILE", layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer (or a table with lon/lat columns) into EPSG:4326.

    The file's own CRS is required; a file without one is an error, never a guess, unless
    the caller states it with ``crs`` (e.g. ``--crs EPSG:3067``). A table's lon/lat are
    EPSG:4326; rows whose coordinates are not numbers get no geometry. The geometry column is
    named ``geometry``; attribute columns keep the file's names (a table's cells stay text).
    Features whose geometry cannot be decoded have none, and :data:`GEOMETRY_PROBLEM` says
    why; GDAL's warnings are in ``attrs[READ_WARNINGS]``.

    Raises
    ------
    ValidationError
        When the file does not exist, is empty, its suffix is unknown, it cannot be read
        (not the format its suffix says, not UTF-8 where it must be, cut off), or a table
        has no lon/lat.
    CRSMismatchError
        When the file has no CRS and none is given, ``crs`` is not a CRS or contradicts the
        file's, or the file's CRS cannot be converted to EPSG:4326.
    """
    path = Path(path)
    check_exists(path, argument=argument)
    source = f"{argument} {str(path)!r}"
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table = read_table(path, argument=argument)
        lon_col, lat_col = _lon_lat_columns(table, argument=argument, path=path)
        lon = pd.to_numeric(table[lon_col], errors="coerce")
        lat = pd.to_numeric(table[lat_col], errors="coerce")
        gdf = gpd.GeoDataFrame(
            table.drop(columns=[lon_col, lat_col]),
            geometry=gpd.points_from_xy(lon, lat),
            crs=STORAGE_CRS,
        )
        gdf.loc[lon.isna() | lat.isna(), "geometry"] = None
        return gdf
    if suffix not in VECTOR_SUFFIXES:
        allowed = list(VECTOR_SUFFIXES + TABLE_SUFFIXES)
        msg = f"{source} has suffix {suffix!r}; expected one of {allowed}"
        raise ValidationError(msg)
    if path.stat().st_size == 0:
        msg = f"{source} is empty (0 bytes); export the layer again"
        raise ValidationError(msg)
    gdf = _read_vector(path, source=source, layer=layer)
    read_warnings = gdf.attrs.get(READ_WARNINGS, [])
    gdf = _to_storage(_set_crs(gdf, crs, source=source), source=source)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf.attrs[READ_WARNINGS] = read_warnings
    return gdf
