"""Reading input files: tables (CSV, XLSX) and vector layers (anything GDAL reads)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gcrm.crs import STORAGE_CRS, to_storage_crs
from gcrm.errors import CRSMismatchError, ValidationError

__all__ = ["TABLE_SUFFIXES", "VECTOR_SUFFIXES", "read_features", "read_table"]

TABLE_SUFFIXES = (".csv", ".xlsx")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".zip")


def _check_exists(path: Path, *, argument: str) -> None:
    if not path.exists():
        msg = f"{argument} {str(path)!r} does not exist; check the path"
        raise ValidationError(msg)


def read_table(path: Path, *, argument: str = "FILE") -> pd.DataFrame:
    """Read a CSV or XLSX file with every column as text, header in the first row.

    The returned frame has a ``_row`` column: the row number a person sees in a spreadsheet
    (header = row 1, first record = row 2).
    """
    path = Path(path)
    _check_exists(path, argument=argument)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=False
        )
    elif suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    else:
        msg = f"{argument} {str(path)!r} has suffix {suffix!r}; expected one of {list(TABLE_SUFFIXES)}"
        raise ValidationError(msg)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.fillna("").astype(str)
    frame.insert(0, "_row", range(2, len(frame) + 2))
    return frame


def read_features(
    path: Path, *, argument: str = "FILE", layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer (or a CSV with lon/lat columns) into EPSG:4326.

    The file's own CRS is required; a file without one is an error, never a guess, unless
    the caller states it with ``crs`` (e.g. ``--crs EPSG:3067``). The returned frame has a
    ``_row`` column: the feature number, from 1.
    """
    path = Path(path)
    _check_exists(path, argument=argument)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table = read_table(path, argument=argument)
        missing = {"lon", "lat"} - set(table.columns)
        if missing:
            msg = f"{argument} {str(path)!r} has no geometry; a table needs 'lon' and 'lat' columns (missing {sorted(missing)})"
            raise ValidationError(msg)
        lon = pd.to_numeric(table["lon"], errors="coerce")
        lat = pd.to_numeric(table["lat"], errors="coerce")
        gdf = gpd.GeoDataFrame(
            table.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(lon, lat),
            crs=STORAGE_CRS,
        )
        gdf.loc[lon.isna() | lat.isna(), "geometry"] = None
        return gdf
    if suffix not in VECTOR_SUFFIXES:
        allowed = list(VECTOR_SUFFIXES + TABLE_SUFFIXES)
        msg = f"{argument} {str(path)!r} has suffix {suffix!r}; expected one of {allowed}"
        raise ValidationError(msg)
    if suffix == ".parquet":
        # GeoParquet: pyogrio's GDAL has no Parquet driver; geopandas reads it with pyarrow.
        gdf = gpd.read_parquet(path)
    else:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    elif crs is not None and gdf.crs is not None and gdf.crs != gdf.crs.from_user_input(crs):
        msg = f"{argument} {str(path)!r} declares {gdf.crs.to_string()}, but --crs says {crs}; drop --crs or fix the file"
        raise CRSMismatchError(msg)
    gdf = to_storage_crs(gdf, source=f"{argument} {str(path)!r}")
    gdf.columns = [c if c == gdf.geometry.name else str(c).strip().lower() for c in gdf.columns]
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf.insert(0, "_row", range(1, len(gdf) + 1))
    return gdf
