"""Coordinate reference systems used by gcrm.

Storage is EPSG:4326 (longitude/latitude). Distances and areas are computed in a named
metric CRS: for the Helsinki demo region ETRS-TM35FIN (EPSG:3067), the national grid.
In SQL, distances in metres use ``geography`` casts, which need no projection at all.
"""

from __future__ import annotations

from typing import Any

from gcrm.core.errors import CRSMismatchError

__all__ = ["METRIC_CRS", "STORAGE_CRS", "STORAGE_SRID", "require_crs", "to_storage_crs"]

STORAGE_SRID = 4326
STORAGE_CRS = f"EPSG:{STORAGE_SRID}"
#: ETRS-TM35FIN, metres; accurate for the Helsinki demo region.
METRIC_CRS = "EPSG:3067"


def require_crs(gdf: Any, *, source: str) -> None:
    """Raise when a GeoDataFrame carries no CRS; gcrm never guesses one."""
    if gdf.crs is None:
        msg = (
            f"{source} has no coordinate reference system; gcrm does not guess one. "
            "Set it in the file (e.g. ogr2ogr -a_srs EPSG:4326) or pass --crs."
        )
        raise CRSMismatchError(msg)


def to_storage_crs(gdf: Any, *, source: str) -> Any:
    """Reproject a GeoDataFrame to the storage CRS, explicitly from its own CRS."""
    require_crs(gdf, source=source)
    if gdf.crs.to_epsg() == STORAGE_SRID:
        return gdf
    return gdf.to_crs(STORAGE_CRS)
