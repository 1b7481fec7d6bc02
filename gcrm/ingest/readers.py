"""Input files as importers see them: :mod:`gcrm.io`'s readers, plus row numbers and
normalised headers for validation and rejects files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gcrm.io import TABLE_SUFFIXES, read_features, read_table

__all__ = ["read_layer_file", "read_records"]


def _normalise_headers(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [c if c == "geometry" else str(c).strip().lower() for c in frame.columns]
    return frame


def read_records(path: Path, *, argument: str = "FILE") -> pd.DataFrame:
    """A table (CSV/TSV in any common encoding and separator, or XLSX) with every column as
    text, headers lower case, and a ``_row`` column: the row number a person sees in a
    spreadsheet (header = row 1, first record = row 2)."""
    frame = _normalise_headers(read_table(Path(path), argument=argument))
    frame = frame.fillna("").astype(str)
    frame.insert(0, "_row", range(2, len(frame) + 2))
    return frame


def read_layer_file(
    path: Path, *, argument: str = "FILE", layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """A layer file (anything GDAL reads, GeoParquet, or a table with lon/lat) in EPSG:4326,
    headers lower case, with ``_row``: the feature number from 1, or for a table the
    spreadsheet row (from 2)."""
    path = Path(path)
    gdf = _normalise_headers(read_features(path, argument=argument, layer=layer, crs=crs))
    first = 2 if path.suffix.lower() in TABLE_SUFFIXES else 1
    gdf.insert(0, "_row", range(first, len(gdf) + first))
    return gdf
