"""Spatial files: anything GDAL reads (through pyogrio), GeoParquet, and tables with lon/lat."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gcrm.core.crs import STORAGE_CRS, to_storage_crs
from gcrm.core.errors import CRSMismatchError, ValidationError
from gcrm.io.tables import TABLE_SUFFIXES, check_exists, read_table

__all__ = ["VECTOR_SUFFIXES", "read_features"]

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".zip")


def _lon_lat_columns(table: pd.DataFrame, *, argument: str, path: Path) -> tuple[str, str]:
    by_key = {str(c).strip().lower(): c for c in table.columns}
    missing = [k for k in ("lon", "lat") if k not in by_key]
    if missing:
        msg = f"{argument} {str(path)!r} has no geometry; a table needs 'lon' and 'lat' columns (missing {missing})"
        raise ValidationError(msg)
    return by_key["lon"], by_key["lat"]


def read_features(
    path: Path, *, argument: str = "FILE", layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer (or a table with lon/lat columns) into EPSG:4326.

    The file's own CRS is required; a file without one is an error, never a guess, unless
    the caller states it with ``crs`` (e.g. ``--crs EPSG:3067``). A table's lon/lat are
    EPSG:4326; rows whose coordinates are not numbers get no geometry. The geometry column is
    named ``geometry``; attribute columns keep the file's names (a table's cells stay text).

    Raises
    ------
    ValidationError
        When the file does not exist, its suffix is unknown, or a table has no lon/lat.
    CRSMismatchError
        When the file has no CRS and none is given, or ``crs`` contradicts the file's.
    """
    path = Path(path)
    check_exists(path, argument=argument)
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
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf
