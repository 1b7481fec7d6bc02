"""What the web server reads from: two engines and the cube of each scope.

- ``owner``: the owner's engine, for users, tokens, logins and the audit log;
- ``data``: every transaction under the request's principal (row-level security, see
  :mod:`gcrm.access.scoping`): the API and the dashboard read only through it;
- the cube of a scope: the full cube for users who see every area, else a cube built once
  under the user's scope (only their areas, only their customers), kept beside the full one
  and rebuilt when the full one is newer. The totals of a scoped cube are the scope's totals.
"""

from __future__ import annotations

import threading
from pathlib import Path

import xarray as xr
from sqlalchemy import Engine

from gcrm.access import Principal, scoped_engine
from gcrm.core import Settings
from gcrm.cube import cube_mtime, ensure_scope_cube, load_cube, scope_cube_path
from gcrm.store import create_db_engine

__all__ = ["Services"]


class Services:
    """Engines and cubes shared by every request of one server process.

    Parameters
    ----------
    settings
        Database URLs, data directory, cube path.
    owner, data
        Engines to reuse instead of opening them from ``settings`` (tests).
    """

    def __init__(
        self, settings: Settings, *, owner: Engine | None = None, data: Engine | None = None
    ) -> None:
        self.settings = settings
        self._owner = owner
        self._data = data
        self._cubes: dict[str, tuple[float, xr.Dataset]] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    @property
    def owner(self) -> Engine:
        """The owner's engine (users, tokens, audit); raises DatabaseError if down."""
        with self._lock:
            if self._owner is None:
                self._owner = create_db_engine(self.settings.database_url)
            return self._owner

    @property
    def data(self) -> Engine:
        """The engine every read of data goes through, under the current principal."""
        with self._lock:
            if self._data is None:
                url = self.settings.app_database_url or self.settings.database_url
                self._data = scoped_engine(url)
            return self._data

    def cube_path(self, principal: Principal) -> Path:
        """Where the cube of ``principal``'s scope is kept."""
        return scope_cube_path(self.settings.cube_path, principal)

    def cube_for(self, principal: Principal) -> xr.Dataset:
        """The cube ``principal`` sees (loaded once; reloaded when rebuilt on disk).

        Raises
        ------
        NotFoundError
            When there is no full cube yet (`gcrm cube build`).
        """
        key = principal.scope_key
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            path = ensure_scope_cube(self.data, self.settings.cube_path, principal)
            mtime = cube_mtime(path) or 0.0
            cached = self._cubes.get(key)
            if cached is None or cached[0] < mtime:
                cached = (mtime, load_cube(path))
                self._cubes[key] = cached
            return cached[1]

    def dispose(self) -> None:
        """Close both engines' pools."""
        for engine in (self._owner, self._data):
            if engine is not None:
                engine.dispose()
