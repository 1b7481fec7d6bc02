"""Lead lists out: CSV, XLSX, GeoJSON, GeoPackage, chosen by file extension."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from gcrm.io import ALL_FORMATS, write_frame

if TYPE_CHECKING:
    from gcrm.leads.search import Origin

__all__ = ["EXPORT_FORMATS", "export_leads", "with_origin"]

#: File extensions :func:`export_leads` writes.
EXPORT_FORMATS = ALL_FORMATS


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
    return write_frame(
        with_origin(gdf, origin),
        Path(path),
        layer="leads",
        formats=EXPORT_FORMATS,
        number_formats={"distance_m": "#,##0"},
    )
