"""The object every ``gcrm`` command receives: settings, and an engine made on first use.

Kept apart from ``gcrm.cli`` so that each capability's ``cli.py`` can import it without
importing the command collection (which imports them).
"""

from __future__ import annotations

import click
from sqlalchemy import Engine

from gcrm.core import Settings

__all__ = ["Context", "pass_ctx"]


class Context:
    """What every command gets: settings, and an engine made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from gcrm.store import create_db_engine

            self._engine = create_db_engine(self.settings.database_url)
        return self._engine


pass_ctx = click.make_pass_decorator(Context)


pass_ctx = click.make_pass_decorator(Context)
