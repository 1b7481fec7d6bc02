"""Saving and loading the region cube (Zarr)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from gcrm.core import NotFoundError
from gcrm.cube.build import SOURCE_VARIABLES

__all__ = ["load_cube", "save_cube"]


def save_cube(ds: xr.Dataset, path: Path) -> Path:
    """Write the cube to a Zarr store at ``path`` (replacing it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_zarr(path, mode="w", consolidated=False)
    return path


def load_cube(path: Path) -> xr.Dataset:
    """Load a cube written by :func:`save_cube` into memory.

    Raises
    ------
    NotFoundError
        When there is no cube at ``path``.
    """
    path = Path(path)
    if not path.exists():
        msg = f"no cube at {str(path)!r}; build it with `gcrm cube build`"
        raise NotFoundError(msg)
    ds = xr.open_zarr(path, consolidated=False).load()
    # Zarr hands strings back as numpy StringDType; pandas-friendly objects are easier downstream.
    strings = ("area", "segment", "precision", "level", "code", "name", "parent", "statistic")
    for name in (*strings, *SOURCE_VARIABLES):
        if name in ds.variables:  # a cube built before provenance has no statistic dim
            ds[name] = ds[name].astype(object)
    return ds
