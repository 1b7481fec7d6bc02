"""Acting for a principal: every transaction of the application reads under their scope.

:func:`scoped_engine` makes an engine whose every transaction, as it begins, switches to the
application role ``gcrm_app`` (subject to row-level security) and sets ``gcrm.user_id`` to the
current principal's user (``SET LOCAL``: it ends with the transaction). The current principal
is a context variable, set per request or per command with :func:`act_as`; a transaction
begun with no principal names no user, and PostgreSQL shows it no customer, order, lead or
area. Library code runs unchanged: what it reads is what the principal may see.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine, event, text

from gcrm.access.roles import Principal
from gcrm.store import create_db_engine

__all__ = [
    "APP_ROLE",
    "act_as",
    "current_principal",
    "operator",
    "scoped_engine",
]

#: The role the application reads as (migration 0006).
APP_ROLE = "gcrm_app"
_CURRENT: ContextVar[Principal | None] = ContextVar("gcrm_principal", default=None)


def current_principal() -> Principal | None:
    """The principal the code runs for (None outside :func:`act_as`)."""
    return _CURRENT.get()


@contextmanager
def act_as(principal: Principal | None) -> Iterator[Principal | None]:
    """Run the block for ``principal`` (restored afterwards, also on errors)."""
    token = _CURRENT.set(principal)
    try:
        yield principal
    finally:
        _CURRENT.reset(token)


def operator() -> Principal:
    """The operator at the command line: the database owner's credentials, every row
    (row-level security does not restrict the owner), named ``cli:<user>`` in the audit log."""
    return Principal(name=f"cli:{getpass.getuser()}", role="admin", all_areas=True, scoped=False)


_ENTER = text("SELECT set_config('role', :role, true), set_config('gcrm.user_id', :user, true)")


def _enter_scope(conn: Connection) -> None:
    principal = _CURRENT.get()
    if principal is not None and not principal.scoped:
        return  # the owner's own work (imports, the full cube): no role switch
    user = "" if principal is None or principal.user_id is None else str(principal.user_id)
    # One round trip: set_config('role', ..., true) is SET LOCAL ROLE (membership checked).
    conn.execute(_ENTER, {"role": APP_ROLE, "user": user})


def scoped_engine(database_url: str, *, check: bool = True) -> Engine:
    """An engine whose every transaction reads under the current principal's scope.

    ``database_url`` is the application's login: a role that is a member of ``gcrm_app``
    (recommended in production: not a superuser, not the owner), or the owner's own URL,
    which may also switch to ``gcrm_app`` (it is granted the role by migration 0006).
    """
    engine = create_db_engine(database_url, check=check)
    event.listen(engine, "begin", _enter_scope)
    return engine
