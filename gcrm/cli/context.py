"""The object every ``gcrm`` command receives: settings, whom it acts for, and an engine.

``--as USER`` runs a reading command for a gcrm user: the command first asks for the
permission it needs (:func:`requires`, or :func:`takes_as_user` for a command that asks
itself), and its engine reads under the user's scope. Commands that change data or administer
gcrm ask for none, and refuse ``--as``, naming those that take it (:func:`reading_commands`,
read from the command tree, so the list cannot go stale).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from gcrm.access import PERMISSION_LABELS, Principal, operator, principal_by_name, scoped_engine
from gcrm.core import Settings
from gcrm.cube import ensure_scope_cube
from gcrm.store import create_db_engine

__all__ = ["Context", "pass_ctx", "reading_commands", "requires", "takes_as_user"]

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute that marks a command's callback as taking ``--as``.
_TAKES_AS = "gcrm_takes_as_user"


def takes_as_user(function: F) -> F:
    """Mark a command that takes ``--as`` and asks for its permission itself
    (:meth:`Context.require`), e.g. when the permission depends on what it reads."""
    setattr(function, _TAKES_AS, True)
    return function


def reading_commands(group: click.Group, *, prefix: str = "") -> list[str]:
    """The commands under ``group`` that take ``--as`` (declared with :func:`requires` or
    :func:`takes_as_user`), as typed after ``gcrm``, e.g. ``"campaigns export"``."""
    found: list[str] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += reading_commands(command, prefix=f"{path} ")
        elif getattr(command.callback, _TAKES_AS, False):
            found.append(path)
    return found


def _reading_commands_here() -> str:
    """The commands that take ``--as``, from the running command line's own tree."""
    current = click.get_current_context(silent=True)
    root = current.find_root().command if current is not None else None
    if not isinstance(root, click.Group):
        return "see `gcrm --help`"
    return ", ".join(reading_commands(root))


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
        self._principal: Principal | None = None
        self._checked = False

    @property
    def owner_engine(self) -> Engine:
        """The owner's engine (``GCRM_DATABASE_URL``), checked on first use."""
        if self._owner is None:
            self._owner = create_db_engine(self.settings.database_url)
        return self._owner

    @property
    def engine(self) -> Engine:
        """The engine commands use: the owner's, or with ``--as`` one under the user's scope.

        Raises
        ------
        click.UsageError
            With ``--as``, in a command that did not ask for a permission (it changes data).
        """
        if self._engine is None:
            if self.as_user is None:
                self._engine = self.owner_engine
            elif not self._checked:
                msg = (
                    f"--as {self.as_user}: this command changes data or administers gcrm, so it "
                    f"runs as the operator only; drop --as (commands that take --as: "
                    f"{_reading_commands_here()})"
                )
                raise click.UsageError(msg)
            else:
                url = self.settings.app_database_url or self.settings.database_url
                self._engine = scoped_engine(url)
        return self._engine

    def principal(self) -> Principal | None:
        """The user of ``--as`` (None: the operator)."""
        if self.as_user is None:
            return None
        if self._principal is None:
            with self.owner_engine.connect() as conn:
                self._principal = principal_by_name(conn, self.as_user)
        return self._principal

    def acting(self) -> Principal:
        """Whom the command acts for: the ``--as`` user or the operator."""
        return self.principal() or operator()

    def require(self, permission: str) -> None:
        """Allow the command under ``--as`` when the user's role has ``permission``.

        Raises
        ------
        click.UsageError
            When it does not.
        """
        principal = self.principal()
        if principal is not None and not principal.can(permission):
            msg = (
                f"--as {principal.name}: role {principal.role} may not use "
                f"{PERMISSION_LABELS[permission]}; see `gcrm users --help` for the roles"
            )
            raise click.UsageError(msg)
        self._checked = True

    def cube_path(self) -> Path:
        """The cube the command reads: the full one, or with ``--as`` the user's scope's
        (built under their scope first when the full one is newer)."""
        principal = self.principal()
        if principal is None:
            return self.settings.cube_path
        return ensure_scope_cube(self.engine, self.settings.cube_path, principal)


pass_ctx = click.make_pass_decorator(Context)


def requires(permission: str) -> Callable[[F], F]:
    """Declare the permission a reading command needs under ``--as`` (checked before it runs)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            click.get_current_context().find_object(Context).require(permission)  # type: ignore[union-attr]
            return function(*args, **kwargs)

        return takes_as_user(wrapper)  # type: ignore[return-value]

    return decorate
