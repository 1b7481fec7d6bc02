"""The object every ``gcrm`` command receives: settings, and an engine made on first use."""

from __future__ import annotations

import click
from sqlalchemy import Engine

from gcrm.access import Principal, principal_by_name, scoped_engine
from gcrm.core import Settings
from gcrm.store import create_db_engine

__all__ = ["Context", "pass_ctx"]


class Context:
    """What every command gets: settings, whom it acts for, and an engine made on first use.

    The operator (no ``--as``) works with the owner's credentials: every row. ``--as USER``
    runs the command for that user: every transaction reads under their scope (row-level
    security) and the audit log names them.
    """

    def __init__(self, settings: Settings, *, as_user: str | None = None) -> None:
        self.settings = settings
        self.as_user = as_user
        self._engine: Engine | None = None
        self._owner: Engine | None = None

    @property
    def owner_engine(self) -> Engine:
        """The owner's engine (``GCRM_DATABASE_URL``), checked on first use."""
        if self._owner is None:
            self._owner = create_db_engine(self.settings.database_url)
        return self._owner

    @property
    def engine(self) -> Engine:
        """The engine commands use: the owner's, or with ``--as`` one under the user's scope."""
        if self._engine is None:
            if self.as_user is None:
                self._engine = self.owner_engine
            else:
                url = self.settings.app_database_url or self.settings.database_url
                self._engine = scoped_engine(url)
        return self._engine

    def principal(self) -> Principal | None:
        """The user of ``--as`` (None: the operator)."""
        if self.as_user is None:
            return None
        with self.owner_engine.connect() as conn:
            return principal_by_name(conn, self.as_user)


pass_ctx = click.make_pass_decorator(Context)
