"""The object every ``gcrm`` command receives: settings, and an engine made on first use."""

from __future__ import annotations

import click
from sqlalchemy import Engine

from gcrm.core import Settings
from gcrm.store import create_db_engine

__all__ = ["Context", "pass_ctx"]


class Context:
    """What every command gets: settings, and an engine made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The engine of ``settings.database_url``, made (and checked) on first use."""
        if self._engine is None:
            self._engine = create_db_engine(self.settings.database_url)
        return self._engine


pass_ctx = click.make_pass_decorator(Context)
