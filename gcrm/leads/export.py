"""Lead lists out: CSV, XLSX, GeoJSON, GeoPackage, chosen by file extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gcrm.core import ValidationError

if TYPE_CHECKING:
    from gcrm.leads.search import Origin

__all__ = ["EXPORT_FORMATS", "export_leads", "fit_columns", "style_header", "with_origin"]


def _tabular(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes plus lon/lat columns (no WKT): what spreadsheets and CRMs read."""
    geom = gdf.geometry
    table = pd.DataFrame(gdf.drop(columns=geom.name))
    table["lon"] = geom.x.to_numpy()
    table["lat"] = geom.y.to_numpy()
    return table


def _write_csv(gdf: gpd.GeoDataFrame, path: Path) -> None:
    _tabular(gdf).to_csv(path, index=False)


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


def _write_xlsx(gdf: gpd.GeoDataFrame, path: Path) -> None:
    table = _tabular(gdf)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="Leads", index=False)
        ws = writer.sheets["Leads"]
        style_header(ws)
        fit_columns(ws, table)
        if "distance_m" in table:
            col = get_column_letter(table.columns.get_loc("distance_m") + 1)
            for (cell,) in ws[f"{col}2:{col}{len(table) + 1}"]:
                cell.number_format = "#,##0"


def _write_vector(driver: str) -> Callable[[gpd.GeoDataFrame, Path], None]:
    def write(gdf: gpd.GeoDataFrame, path: Path) -> None:
        # Replace, never append: an export is one list.
        path.unlink(missing_ok=True)
        gdf.to_file(path, driver=driver, layer="leads", engine="pyogrio")

    return write


_WRITERS: dict[str, Callable[[gpd.GeoDataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".xlsx": _write_xlsx,
    ".geojson": _write_vector("GeoJSON"),
    ".gpkg": _write_vector("GPKG"),
}
#: File extensions :func:`export_leads` writes.
EXPORT_FORMATS = tuple(_WRITERS)


def with_origin(gdf: gpd.GeoDataFrame, origin: Origin | None) -> gpd.GeoDataFrame:
    """``gdf`` with ``origin_precision`` and ``origin_matched_address`` columns when the
    search started from an address, so a list says how well its centre was placed."""
    if origin is None or origin.matched_address is None:
        return gdf
    return gdf.assign(
        origin_precision=origin.precision, origin_matched_address=origin.matched_address
    )


def export_leads(gdf: gpd.GeoDataFrame, path: Path, *, origin: Origin | None = None) -> Path:
    """Write a lead list in the format of ``path``'s extension.

    Parameters
    ----------
    gdf
        Leads, e.g. from :func:`gcrm.leads.find_nearby_leads` (EPSG:4326 points).
    origin
        Where the search started (:func:`gcrm.leads.resolve_origin`); when it was an
        address, every row gets ``origin_precision`` and ``origin_matched_address``.
    path
        Target file: ``.csv`` (lon/lat columns), ``.xlsx`` (bold frozen header),
        ``.geojson`` or ``.gpkg`` (layer ``leads``). Parent folders are created; an existing
        file is replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValidationError
        When the extension is not one of :data:`EXPORT_FORMATS`.
    """
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        msg = (
            f"path={str(path)!r} has extension {path.suffix or '(none)'!r}, which gcrm cannot "
            f"export leads to; use one of {', '.join(EXPORT_FORMATS)}"
        )
        raise ValidationError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(with_origin(gdf, origin), path)
    return path
