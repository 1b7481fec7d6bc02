"""The cube a user sees: the full cube for users of every area, else one built under their
scope (row-level security: only their areas, only their customers), so its totals are their
scope's totals.

A scope's cube is kept beside the full one (``<cube dir>/cubes/<scope key>.zarr``) and built
again when the full cube is newer, so ``gcrm cube build`` refreshes every scope at their next
read. Users with the same areas share one cube.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr
from sqlalchemy import Engine

from gcrm.access import Principal, act_as
from gcrm.cube.build import LATEST, build_region_cube
from gcrm.cube.persist import load_cube, save_cube

__all__ = ["cube_mtime", "ensure_scope_cube", "scope_cube_path"]


def scope_cube_path(cube_path: Path, principal: Principal) -> Path:
    """Where the cube of ``principal``'s scope is kept (``cube_path`` itself for all areas)."""
    if principal.scope_key == "all":
        return cube_path
    return cube_path.parent / "cubes" / f"{principal.scope_key}.zarr"


def ensure_scope_cube(engine: Engine, cube_path: Path, principal: Principal) -> Path:
    """The path of the cube ``principal`` sees, built first when missing or older than the full one.

    Parameters
    ----------
    engine
        An engine whose transactions read under the current principal
        (:func:`gcrm.access.scoped_engine`).
    cube_path
        The full cube (``gcrm cube build``).
    principal
        Whose scope.

    Raises
    ------
    NotFoundError
        When there is no full cube yet: its message says to run ``gcrm cube build``.
    """
    path = scope_cube_path(cube_path, principal)
    full_mtime = cube_mtime(cube_path)
    if full_mtime is None:
        load_cube(cube_path)  # raises the message that says how to build it
    if path == cube_path:
        return path
    if (cube_mtime(path) or 0.0) < (full_mtime or 0.0):
        vintage = _statistics_vintage(cube_path)
        with act_as(principal), engine.connect() as conn:
            save_cube(build_region_cube(conn, vintage=vintage), path)
    return path


def _statistics_vintage(cube_path: Path) -> str | None:
    """The vintage the full cube read its statistics at (None: the latest), so a scope's
    cube shows the same figures."""
    attrs = xr.open_zarr(cube_path, consolidated=False).attrs
    chosen = attrs.get("statistics_vintage", LATEST)
    return None if chosen == LATEST else str(chosen)


def cube_mtime(path: Path) -> float | None:
    """When the cube at ``path`` was last written (None: no cube there)."""
    # A Zarr store is a folder; its metadata file changes when the store is rewritten.
    for candidate in (path / "zarr.json", path / ".zgroup", path):
        if candidate.exists():
            return candidate.stat().st_mtime
    return None
