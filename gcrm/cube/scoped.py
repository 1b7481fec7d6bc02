"""The cube a user sees: the full cube for users of every area, else one built under their
scope (row-level security: only their areas, only their customers), so its totals are their
scope's totals.

A scope's cube is kept beside the full one (``<cube dir>/cubes/<scope key>.zarr``) and built
again when the full cube is newer, so ``gcrm cube build`` refreshes every scope at their next
read. Users with the same areas share one cube.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr
from sqlalchemy import Engine

from gcrm.access import Principal, act_as
from gcrm.core import NotFoundError
from gcrm.cube.build import LATEST, build_region_cube
from gcrm.cube.persist import load_cube, save_cube

__all__ = ["build_scope_cubes", "cube_mtime", "ensure_scope_cube", "scope_cube_path"]


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
    if path == cube_path or not _stale(path, full_mtime):
        return path
    # One builder per scope across processes (gunicorn's workers): the others wait, then
    # find it fresh.
    with _locked(path):
        if _stale(path, cube_mtime(cube_path)):
            vintage = _statistics_vintage(cube_path)
            with act_as(principal), engine.connect() as conn:
                save_cube(build_region_cube(conn, vintage=vintage), path)
    return path


def build_scope_cubes(
    engine: Engine,
    cube_path: Path,
    principals: Iterable[Principal],
    *,
    on_scope: Callable[[Principal, str], None] | None = None,
) -> dict[str, int]:
    """Build the cube of every distinct scope among ``principals`` that is older than the
    full cube, so that no request waits for one.

    A scope whose areas hold no customer has no cube (its users see an empty dashboard).
    ``on_scope`` is called with each scope's first principal and what was done ("built",
    "fresh", "empty"), for progress bars. Returns how many scopes ended each way.
    """
    done = {"built": 0, "fresh": 0, "empty": 0}
    seen: set[str] = set()
    for principal in principals:
        key = principal.scope_key
        if key in seen or key in ("all", "none"):
            continue
        seen.add(key)
        before = cube_mtime(scope_cube_path(cube_path, principal))
        try:
            after = cube_mtime(ensure_scope_cube(engine, cube_path, principal))
            outcome = "fresh" if after == before else "built"
        except NotFoundError:
            if cube_mtime(cube_path) is None:
                raise
            outcome = "empty"
        done[outcome] += 1
        if on_scope is not None:
            on_scope(principal, outcome)
    return done


def _stale(path: Path, full_mtime: float | None) -> bool:
    return (cube_mtime(path) or 0.0) < (full_mtime or 0.0)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``'s lock file, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
