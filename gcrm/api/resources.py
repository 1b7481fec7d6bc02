"""What the API reads from: an engine and the cube, opened on first use and kept."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from gcrm.core import Settings
from gcrm.cube import load_cube
from gcrm.store import create_db_engine

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["Resources"]


class Resources:
    """Lazily opened engine and cube, shared by every request of one blueprint.

    Parameters
    ----------
    settings
        Where the database (``database_url``) and the cube (``cube_path``) are.
    engine
        An engine to reuse instead of opening one from ``settings``.
    cube
        A cube already loaded (the dashboard's), instead of reading ``settings.cube_path``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        cube: xr.Dataset | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._cube = cube
        self._lock = threading.Lock()

    @property
    def cube_path(self) -> Path:
        """Where the cube is read from."""
        return self.settings.cube_path

    @property
    def engine(self) -> Engine:
        """The engine; raises :class:`gcrm.core.DatabaseError` if the server is down."""
        with self._lock:
            if self._engine is None:
                self._engine = create_db_engine(self.settings.database_url)
            return self._engine

    @property
    def cube(self) -> xr.Dataset:
        """The cube; raises the cube module's error when it has not been built."""
        with self._lock:
            if self._cube is None:
                self._cube = load_cube(self.cube_path)
            return self._cube
