"""Schema migrations (Alembic), run programmatically by ``gcrm db init``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from gcrm.core import DatabaseError

__all__ = ["current_revision", "head_revision", "init_schema"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def init_schema(engine: Engine, *, revision: str = "head") -> str | None:
    """Create or upgrade the ``gcrm`` schema to ``revision``; return the revision reached.

    The upgrade is one transaction: a failing migration leaves the schema where it was.

    Raises
    ------
    DatabaseError
        When a migration fails; the message names the revisions and PostgreSQL's reason.
    """
    cfg = _config()
    before = current_revision(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        msg = (
            f"upgrading the schema from revision {before or 'none'} to {revision} failed, "
            f"nothing was changed: {reason}; fix the cause (an object created by hand? a role "
            "without the right to create it?) and run `gcrm db init` again"
        )
        raise DatabaseError(msg) from exc
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or ``None`` before ``gcrm db init``."""
    with engine.connect() as conn:
        exists = conn.execute(text("select to_regclass('gcrm.alembic_version')")).scalar()
        if exists is None:
            return None
        return conn.execute(text("select version_num from gcrm.alembic_version")).scalar()


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
