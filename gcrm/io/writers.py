"""Writing what users open: one writer, the format chosen by the file's suffix.

``.csv`` (geometry as lon/lat columns), ``.xlsx`` (bold, frozen header, fitted columns),
``.geojson`` and ``.gpkg`` (one named layer). An existing file is replaced, never appended
to; parent folders are created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gcrm.core.errors import ValidationError

__all__ = [
    "ALL_FORMATS",
    "SPATIAL_FORMATS",
    "TABLE_FORMATS",
    "check_suffix",
    "fit_columns",
    "style_header",
    "tabular",
    "write_frame",
]

TABLE_FORMATS = (".csv", ".xlsx")
SPATIAL_FORMATS = (".geojson", ".gpkg")
ALL_FORMATS = (*TABLE_FORMATS, *SPATIAL_FORMATS)
_DRIVERS = {".geojson": "GeoJSON", ".gpkg": "GPKG"}


def check_suffix(path: Path, formats: Sequence[str], *, argument: str = "path") -> str:
    """The lower-case suffix of ``path``; a ValidationError naming ``argument`` when it is
    not one of ``formats``."""
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        msg = (
            f"{argument}={str(path)!r} has extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(formats)}"
        )
        raise ValidationError(msg)
    return suffix


def tabular(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame for spreadsheets and CRMs: a GeoDataFrame's attributes plus lon/lat columns
    (its points, or a representative point of other shapes); other frames as they are."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame)
    geom = frame.geometry
    table = pd.DataFrame(frame.drop(columns=geom.name))
    points = geom if geom.geom_type.isin(["Point", None]).all() else geom.representative_point()
    table["lon"] = points.x.to_numpy()
    table["lat"] = points.y.to_numpy()
    return table


def style_header(ws: Worksheet) -> None:
    """Bold first row, frozen so it stays visible when scrolling."""
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"


def fit_columns(ws: Worksheet, table: pd.DataFrame, *, max_width: int = 60) -> None:
    """Set column widths from the longest header or value (capped at ``max_width``)."""
    for i, column in enumerate(table.columns, start=1):
        lengths = table[column].astype(str).str.len().fillna(0)
        longest = max(len(str(column)), int(lengths.max()) if len(lengths) else 0)
        ws.column_dimensions[get_column_letter(i)].width = min(longest + 2, max_width)


def _write_xlsx(
    table: pd.DataFrame, path: Path, *, sheet: str, number_formats: Mapping[str, str]
) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name=sheet, index=False)
        ws = writer.sheets[sheet]
        style_header(ws)
        fit_columns(ws, table)
        for column, fmt in number_formats.items():
            if column not in table:
                continue
            letter = get_column_letter(table.columns.get_loc(column) + 1)
            for (cell,) in ws[f"{letter}2:{letter}{len(table) + 1}"]:
                cell.number_format = fmt


def write_frame(
    frame: pd.DataFrame,
    path: Path,
    *,
    layer: str,
    formats: Sequence[str] = ALL_FORMATS,
    sheet: str | None = None,
    number_formats: Mapping[str, str] | None = None,
    argument: str = "path",
) -> Path:
    """Write ``frame`` to ``path`` in the format of its suffix; return ``path``.

    Parameters
    ----------
    frame
        A DataFrame, or a GeoDataFrame (EPSG:4326) for the spatial formats.
    path
        The target; parent folders are created and an existing file is replaced.
    layer
        The layer name in a GeoPackage or GeoJSON file.
    formats
        The suffixes the caller offers (a subset of :data:`ALL_FORMATS`).
    sheet
        The XLSX sheet name [default: ``layer`` capitalised].
    number_formats
        XLSX number formats by column, e.g. ``{"distance_m": "#,##0"}``.
    argument
        How the caller names ``path`` in messages (``"--out"``).

    Raises
    ------
    ValidationError
        When the suffix is not one of ``formats``, or a spatial format is asked of a frame
        without geometry.
    """
    path = Path(path)
    suffix = check_suffix(path, formats, argument=argument)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if suffix in _DRIVERS:
        if not isinstance(frame, gpd.GeoDataFrame):
            msg = f"{argument}={str(path)!r}: {suffix} needs geometry; write {', '.join(TABLE_FORMATS)} instead"
            raise ValidationError(msg)
        frame.to_file(path, driver=_DRIVERS[suffix], layer=layer, engine="pyogrio")
        return path
    table = tabular(frame)
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        _write_xlsx(
            table, path, sheet=sheet or layer.capitalize(), number_formats=number_formats or {}
        )
    return path
