"""Writing a demo region's files: one GeoPackage per layer, CSV tables, as importers read them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gcrm.core import STORAGE_CRS, ValidationError

__all__ = ["MIN_CUSTOMERS", "start_build", "write_csv", "write_layer"]

#: The fewest customers that carry every kind of injected mess of the synthetic CRM export.
MIN_CUSTOMERS = 50


def start_build(out_dir: Path, *, customers: int) -> Path:
    """Check the build's size and make ``out_dir``; return it as a Path.

    Raises
    ------
    ValidationError
        If ``customers`` is below :data:`MIN_CUSTOMERS`.
    """
    if customers < MIN_CUSTOMERS:
        msg = f"customers={customers} is too small to carry every kind of injected mess; use customers >= {MIN_CUSTOMERS}"
        raise ValidationError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_layer(frame: gpd.GeoDataFrame, out_dir: Path, name: str) -> Path:
    """One GeoPackage per layer, layer name = file stem, EPSG:4326."""
    path = out_dir / f"{name}.gpkg"
    if path.exists():
        path.unlink()
    polygonal = frame.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    pyogrio.write_dataframe(
        frame.to_crs(STORAGE_CRS), path, layer=name, driver="GPKG", promote_to_multi=polygonal
    )
    return path


def write_csv(frame: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """One CSV per table, UTF-8, Unix line ends."""
    path = out_dir / f"{name}.csv"
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path
