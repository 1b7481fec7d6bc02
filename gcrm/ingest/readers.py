"""Input files as importers see them: :mod:`gcrm.io`'s readers, plus row numbers and
normalised headers for validation and rejects files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gcrm.core import ValidationError
from gcrm.io import GEOMETRY_PROBLEM, TABLE_SUFFIXES, read_features, read_table

__all__ = ["HEADERS", "read_layer_file", "read_records"]

#: The key of ``frame.attrs`` that maps each normalised header to the file's own.
HEADERS = "headers"


def _normalise_headers(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Headers stripped and lower case; two that become the same, or one named ``_row``, is an error."""
    names = [
        c if c in ("geometry", GEOMETRY_PROBLEM) else str(c).strip().lower() for c in frame.columns
    ]
    originals: dict[str, list[str]] = {}
    for original, name in zip(frame.columns, names, strict=True):
        originals.setdefault(name, []).append(str(original))
    clash = next(((n, o) for n, o in originals.items() if len(o) > 1), None)
    if clash is not None:
        msg = f"{source}: columns {clash[1]} are all read as {clash[0]!r} (case and spaces do not count); rename or remove all but one"
        raise ValidationError(msg)
    if "_row" in names:
        msg = f"{source}: column '_row' is gcrm's row number; rename that column in the file"
        raise ValidationError(msg)
    frame.columns = names
    # The headers as the file wrote them: what columns kept as they are are called again.
    frame.attrs[HEADERS] = {name: written[0] for name, written in originals.items()}
    return frame


def read_records(path: Path, *, argument: str = "FILE") -> pd.DataFrame:
    """A table (CSV/TSV in any common encoding and separator, or XLSX) with every column as
    text, headers lower case, and a ``_row`` column: the row number a person sees in a
    spreadsheet (header = row 1, first record = row 2).

    Raises
    ------
    ValidationError
        When the file cannot be read as a table (see :func:`gcrm.io.read_table`), or two of
        its headers differ only in case or spaces.
    """
    path = Path(path)
    frame = read_table(path, argument=argument)
    frame = _normalise_headers(frame, source=f"{argument} {str(path)!r}")
    frame = frame.fillna("").astype(str)
    frame.insert(0, "_row", range(2, len(frame) + 2))
    return frame


def read_layer_file(
    path: Path, *, argument: str = "FILE", layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """A layer file (anything GDAL reads, GeoParquet, or a table with lon/lat) in EPSG:4326,
    headers lower case, with ``_row``: the feature number from 1, or for a table the
    spreadsheet row (from 2). Features whose geometry could not be decoded keep the reason
    in ``_geometry_problem`` (see :func:`gcrm.io.read_features`)."""
    path = Path(path)
    gdf = read_features(path, argument=argument, layer=layer, crs=crs)
    gdf = _normalise_headers(gdf, source=f"{argument} {str(path)!r}")
    first = 2 if path.suffix.lower() in TABLE_SUFFIXES else 1
    gdf.insert(0, "_row", range(first, len(gdf) + first))
    return gdf
