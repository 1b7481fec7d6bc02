"""Area profiles out: CSV and XLSX (no geometry), GeoPackage and GeoJSON (with it)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gcrm.io import SPATIAL_FORMATS, check_suffix, write_frame

__all__ = ["PROFILE_FORMATS", "export_profiles"]

#: File extensions :func:`export_profiles` writes.
PROFILE_FORMATS = (".csv", ".xlsx", ".gpkg", ".geojson")


def export_profiles(profiles: gpd.GeoDataFrame, path: Path) -> Path:
    """Write area profiles: ``.csv`` / ``.xlsx`` (no geometry), ``.gpkg`` / ``.geojson``.

    Parameters
    ----------
    profiles
        From :func:`gcrm.areas.area_profiles`.
    path
        Target file; parent folders are created, an existing file is replaced. XLSX has a
        bold, frozen header; the GeoPackage layer is ``profiles``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValidationError
        When the extension is not one of :data:`PROFILE_FORMATS`.
    """
    suffix = check_suffix(path, PROFILE_FORMATS)
    if suffix not in SPATIAL_FORMATS:
        # A profile is a row of figures per area: its polygon has no place in a table.
        profiles = pd.DataFrame(profiles.drop(columns=profiles.geometry.name))
    return write_frame(profiles, Path(path), layer="profiles", formats=PROFILE_FORMATS)
