"""Saving and loading the region cube (Zarr)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import xarray as xr

from gcrm.core import NotFoundError
from gcrm.cube.build import SOURCE_VARIABLES

__all__ = ["load_cube", "save_cube"]


#: How long a reader waits for a cube being replaced (between two renames) to appear.
_SWAP_WAIT_S = 5.0


def save_cube(ds: xr.Dataset, path: Path) -> Path:
    """Write the cube to a Zarr store at ``path``, replacing it whole.

    The store is written beside ``path`` first and then renamed into place, so a server that
    reads the cube meanwhile (other processes, other workers) reads the old one or the new one,
    never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    fresh = path.with_name(f".{path.name}.new-{stamp}")
    ds.to_zarr(fresh, mode="w", consolidated=False)
    stale = path.with_name(f".{path.name}.old-{stamp}")
    if path.exists():
        path.rename(stale)
    fresh.rename(path)
    shutil.rmtree(stale, ignore_errors=True)
    return path


def load_cube(path: Path) -> xr.Dataset:
    """Load a cube written by :func:`save_cube` into memory.

    Raises
    ------
    NotFoundError
        When there is no cube at ``path``.
    """
    path = Path(path)
    deadline = time.monotonic() + _SWAP_WAIT_S
    while True:
        # A cube being replaced is missing between two renames: wait for the new one.
        while not path.exists() and _being_replaced(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            before = path.stat().st_ino
        except FileNotFoundError:
            msg = f"no cube at {str(path)!r}; build it with `gcrm cube build`"
            raise NotFoundError(msg) from None
        try:
            ds = xr.open_zarr(path, consolidated=False).load()
        except (OSError, KeyError, ValueError):
            # The store was renamed away while it was read: read the new one.
            if _same_store(path, before) or time.monotonic() >= deadline:
                raise
            continue
        if _same_store(path, before):
            break
        # Replaced during the read (old metadata, new chunks, perhaps): read it again.
    # Zarr hands strings back as numpy StringDType; pandas-friendly objects are easier downstream.
    strings: tuple[str, ...] = (
        "area",
        "segment",
        "precision",
        "level",
        "code",
        "name",
        "parent",
        "statistic",
    )
    strings = (*strings, "channel", "branch", "branch_name")
    for name in (*strings, *SOURCE_VARIABLES):
        if name in ds.variables:  # a cube built before provenance has no statistic dim
            ds[name] = ds[name].astype(object)
    return ds


def _same_store(path: Path, inode: int) -> bool:
    """``path`` is still the store whose directory had ``inode`` when reading began."""
    try:
        return path.stat().st_ino == inode
    except FileNotFoundError:
        return False


def _being_replaced(path: Path) -> bool:
    """A new store for ``path`` is being renamed into place (see :func:`save_cube`)."""
    return any(path.parent.glob(f".{path.name}.old-*"))
