"""Backups: a whole gcrm database to one file (pg_dump's custom format) and back.

:func:`backup_database` runs ``pg_dump --format=custom`` of the server's own major version
(``/usr/lib/postgresql/<major>/bin``, else ``PATH``): the schema with its row-level security
policies, grants and views, the extensions, every row. :func:`restore_database` runs
``pg_restore`` into the database of a URL, in one transaction (a failed restore leaves
nothing behind), owned by the restoring login (``--no-owner``), then refreshes the planner's
statistics. It refuses a database that holds tables unless told to replace them (``clean``).

Roles are not in a backup: they belong to the cluster. Restored into the same cluster, the
policies and grants find their roles. Restored into a new cluster, the roles named in
``roles`` (gcrm's application role, ``gcrm_app``) are created first when missing (NOLOGIN, no
superuser, no BYPASSRLS) and granted to the restoring login; application logins
(``GCRM_APP_DATABASE_URL``) must be created again by their administrator.

The password of the URL travels in a temporary password file (mode 0600), never on a
command line other users can see.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from gcrm.core.errors import ConfigurationError, DatabaseError, ValidationError
from gcrm.store.engine import _admin_engine, create_db_engine
from gcrm.store.migrate import current_revision
from gcrm.store.wire import quote_ident

__all__ = [
    "ARCHIVE_MAGIC",
    "BackupSummary",
    "DatabaseSummary",
    "RestoreSummary",
    "archive_header",
    "backup_database",
    "check_archive",
    "describe_database",
    "find_pg_tool",
    "restore_database",
    "user_relations",
]

#: The first bytes of every pg_dump custom-format archive.
ARCHIVE_MAGIC = b"PGDMP"
#: Where Debian and Ubuntu install the server binaries of each major version.
_PG_BIN = "/usr/lib/postgresql/{major}/bin"
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
#: Entries of an archive's table of contents: an extension, and its comment.
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)")
_EXTENSION_COMMENT = re.compile(r"^\d+; \d+ \d+ COMMENT - EXTENSION ")


@dataclass(frozen=True)
class DatabaseSummary:
    """What a database holds: where it is, its schema revision, its tables and their rows,
    and its row-level security."""

    database: str
    server: str
    server_version: str
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)
    secured_tables: tuple[str, ...] = ()
    policies: int = 0

    def describe(self) -> str:
        """One line: revision, tables, rows, row-level security."""
        security = (
            f"row-level security on {len(self.secured_tables)} tables ({self.policies} policies)"
            if self.secured_tables
            else "no row-level security"
        )
        return (
            f"schema gcrm at revision {self.revision or '(none)'}, {len(self.rows)} tables, "
            f"{sum(self.rows.values()):,} rows; {security}"
        )


@dataclass(frozen=True)
class BackupSummary:
    """A backup written: the file, its size, what it holds, and the tool that made it."""

    path: Path
    bytes: int
    seconds: float
    tool: Path
    contents: DatabaseSummary


def _server_major(conn: Connection) -> int:
    return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _tool_major(tool: Path) -> int | None:
    try:
        done = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stdout)
    return int(match.group(1)) if match else None


def find_pg_tool(name: str, *, server_major: int, bin_dir: Path | None = None) -> Path:
    """The ``pg_dump`` or ``pg_restore`` to use with a server of ``server_major``.

    Looks in ``bin_dir`` if given, else in ``/usr/lib/postgresql/<major>/bin``, then on
    ``PATH``; the tool must be of the server's major version or newer (an older pg_dump
    refuses a newer server).

    Raises
    ------
    ConfigurationError
        When no such tool is found; the message says where it looked and how to install it.
    """
    candidates = (
        [Path(bin_dir) / name]
        if bin_dir is not None
        else [Path(_PG_BIN.format(major=server_major)) / name]
    )
    on_path = shutil.which(name)
    if bin_dir is None and on_path is not None:
        candidates.append(Path(on_path))
    found = []
    for tool in candidates:
        major = _tool_major(tool) if tool.is_file() else None
        if major is not None and major >= server_major:
            return tool
        found.append(f"{tool} ({'PostgreSQL ' + str(major) if major else 'missing'})")
    msg = (
        f"{name} for PostgreSQL {server_major} not found (tried {', '.join(found)}); install "
        f"it (apt install postgresql-client-{server_major}) or name its folder with --pg-bin DIR"
    )
    raise ConfigurationError(msg)


def user_relations(conn: Connection) -> list[str]:
    """Tables, views and sequences of the database outside the system schemas and not part
    of an extension (PostGIS's ``spatial_ref_sys`` is not counted), as ``schema.name``."""
    rows = conn.execute(
        text(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            "AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"
        )
    )
    return [r[0] for r in rows]


def describe_database(engine: Engine) -> DatabaseSummary:
    """The revision, the row count of every table of schema ``gcrm``, and its row-level
    security (tables with it on, and the number of policies)."""
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'gcrm' AND c.relkind IN ('r', 'p') ORDER BY 1"
            )
        ).all()
        rows = {
            name: int(
                conn.execute(text(f"SELECT count(*) FROM gcrm.{quote_ident(name)}")).scalar_one()
            )
            for name, _ in tables
        }
        policies = conn.execute(
            text("SELECT count(*) FROM pg_policies WHERE schemaname = 'gcrm'")
        ).scalar_one()
        version = conn.execute(text("SHOW server_version")).scalar_one()
    url = engine.url
    return DatabaseSummary(
        database=str(url.database),
        server=f"{url.host or 'localhost'}:{url.port or 5432}",
        server_version=str(version).split()[0],
        revision=current_revision(engine),
        rows=rows,
        secured_tables=tuple(name for name, secured in tables if secured),
        policies=int(policies),
    )


def _libpq_value(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _dsn(url: URL, passfile: Path | None) -> str:
    """A libpq connection string for ``url`` (its query settings kept, the password left to
    ``passfile``)."""
    params: dict[str, object] = {
        key: value for key, value in url.query.items() if isinstance(value, str)
    }
    for key, value in (
        ("host", url.host),
        ("port", url.port),
        ("dbname", url.database),
        ("user", url.username),
        ("passfile", passfile),
    ):
        if value is not None:
            params[key] = value
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in params.items())


@contextmanager
def _password_file(url: URL) -> Iterator[Path | None]:
    if not url.password:
        yield None
        return
    escaped = str(url.password).replace("\\", "\\\\").replace(":", "\\:")
    fd, name = tempfile.mkstemp(prefix="gcrm-pgpass-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"*:*:*:*:{escaped}\n")
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _reason(stderr: str, returncode: int) -> str:
    """The line of a tool's stderr that says what went wrong (the first with "error")."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
    return found or f"exit status {returncode}"


def _run(command: list[str], *, what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"{what} failed ({_reason(done.stderr, done.returncode)})"
        raise DatabaseError(msg)


def backup_database(database_url: str, path: Path, *, bin_dir: Path | None = None) -> BackupSummary:
    """Write the whole database of ``database_url`` to ``path`` (pg_dump custom format).

    The file appears complete or not at all: pg_dump writes beside it, and the result is
    renamed into place. An existing file is replaced.

    Parameters
    ----------
    database_url
        The database to back up (``GCRM_DATABASE_URL``).
    path
        The backup file, e.g. ``gcrm-2025-06-01.dump``.
    bin_dir
        The folder of pg_dump (default: the server's version's, see :func:`find_pg_tool`).

    Raises
    ------
    DatabaseError
        When the database cannot be reached or pg_dump fails.
    ConfigurationError
        When no pg_dump of the server's version is found.
    """
    path = Path(path)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            major = _server_major(conn)
        tool = find_pg_tool("pg_dump", server_major=major, bin_dir=bin_dir)
        contents = describe_database(engine)
    finally:
        engine.dispose()
    url = make_url(database_url)
    partial = path.with_name(path.name + ".partial")
    start = time.perf_counter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _password_file(url) as passfile:
            command = [str(tool), "--format=custom", "--no-password", "--file", str(partial)]
            _run(
                [*command, "--dbname", _dsn(url, passfile)],
                what=f"pg_dump of {contents.database!r}",
            )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(
        path=path,
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - start,
        tool=tool,
        contents=contents,
    )


def _table_of_contents(path: Path, *, tool: Path) -> list[str]:
    done = subprocess.run(
        [str(tool), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = _reason(done.stderr, done.returncode)
        msg = f"FILE {str(path)!r} cannot be read as a backup ({reason}); make one with `gcrm backup FILE`"
        raise ValidationError(msg)
    return done.stdout.splitlines()


def archive_header(contents: Sequence[str]) -> dict[str, str]:
    """What an archive's table of contents (``pg_restore --list``) says of it: when it was
    made, of which database, by which pg_dump (``{"created": ..., "dbname": ..., ...}``)."""
    header: dict[str, str] = {}
    for line in contents:
        if not line.startswith(";"):
            break
        entry = line.lstrip("; ").strip()
        if entry.startswith("Archive created at "):
            header["created"] = entry.removeprefix("Archive created at ")
            continue
        key, sep, value = entry.partition(": ")
        if sep and value.strip():
            header[key.strip()] = value.strip()
    return header


def _extensions(contents: Sequence[str]) -> list[str]:
    return [m.group(1) for line in contents if (m := _EXTENSION_ENTRY.match(line))]


def _without_extensions(contents: Sequence[str]) -> list[str]:
    """The entries to restore: all but the extensions and their comments, which the
    restore creates beforehand when missing and never drops (see :func:`restore_database`)."""
    return [
        line
        for line in contents
        if not _EXTENSION_ENTRY.match(line) and not _EXTENSION_COMMENT.match(line)
    ]


def check_archive(path: Path, *, argument: str = "FILE") -> None:
    """Raise a ValidationError unless ``path`` is a pg_dump custom-format archive."""
    path = Path(path)
    if not path.is_file():
        msg = f"{argument} {str(path)!r} does not exist; give the file `gcrm backup` wrote"
        raise ValidationError(msg)
    with path.open("rb") as handle:
        magic = handle.read(len(ARCHIVE_MAGIC))
    if magic != ARCHIVE_MAGIC:
        msg = (
            f"{argument} {str(path)!r} is not a gcrm backup (a pg_dump custom-format archive "
            f"starts with {ARCHIVE_MAGIC.decode()}); make one with `gcrm backup FILE`"
        )
        raise ValidationError(msg)


def _ensure_target(database_url: str) -> bool:
    """Create the target database when it does not exist; True if it was created."""
    name = make_url(database_url).database
    admin = _admin_engine(database_url)
    try:
        with admin.connect() as conn:
            if conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar():
                return False
            conn.execute(text(f"CREATE DATABASE {quote_ident(name)}"))
            return True
    except DBAPIError as exc:
        msg = (
            f"database {name!r} does not exist and cannot be created "
            f"({str(exc.orig).strip().splitlines()[0]}); create it (createdb {name}) and run "
            "the restore again"
        )
        raise DatabaseError(msg) from None
    finally:
        admin.dispose()


def _refuse_unless_empty(conn: Connection, *, database: str, clean: bool) -> None:
    present = user_relations(conn)
    if present and not clean:
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        msg = (
            f"database {database!r} is not empty: it has {len(present)} tables, views and "
            f"sequences ({shown}); restore into a new database (set GCRM_DATABASE_URL to a "
            "database name that does not exist yet: the restore creates it), or pass --clean "
            "to replace what the backup holds"
        )
        raise ValidationError(msg)


def _ensure_roles(conn: Connection, roles: Sequence[str]) -> list[str]:
    """Create the missing ``roles`` (NOLOGIN) and grant them to the current login."""
    created = []
    for role in roles:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.scalar() is None:
            try:
                conn.exec_driver_sql(
                    f"CREATE ROLE {quote_ident(role)} NOLOGIN NOSUPERUSER NOBYPASSRLS"
                )
            except DBAPIError as exc:
                user = conn.execute(text("SELECT current_user")).scalar_one()
                msg = (
                    f"role {role!r} is missing in this cluster and {user!r} may not create it "
                    f"({str(exc.orig).strip().splitlines()[0]}); as a superuser run: CREATE "
                    f"ROLE {role} NOLOGIN; GRANT {role} TO {user}"
                )
                raise DatabaseError(msg) from None
            created.append(role)
        member = conn.execute(
            text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}
        ).scalar_one()
        if not member:
            conn.exec_driver_sql(f"GRANT {quote_ident(role)} TO CURRENT_USER")
    return created


def _ensure_extensions(conn: Connection, extensions: Sequence[str]) -> None:
    """Create the extensions the backup holds when missing. They are never dropped: a
    restore with --clean that dropped PostGIS under a running server would leave its
    connections with stale caches of PostGIS's types and operators."""
    for extension in extensions:
        conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {quote_ident(extension)}")


def _pg_restore(tool: Path, url: URL, path: Path, *, entries: Sequence[str], clean: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="gcrm-restore-") as folder:
        listing = Path(folder) / "entries.list"
        listing.write_text("\n".join(entries) + "\n", encoding="utf-8")
        with _password_file(url) as passfile:
            command = [str(tool), "--no-password", "--no-owner", "--single-transaction"]
            command += ["--exit-on-error", "--use-list", str(listing)]
            command += ["--clean", "--if-exists"] if clean else []
            command += ["--dbname", _dsn(url, passfile), str(path)]
            _run(command, what=f"pg_restore of {str(path)!r} (nothing was restored)")


@dataclass(frozen=True)
class RestoreSummary:
    """A restore done: the archive, what it said of itself, roles created, and what the
    database holds now."""

    path: Path
    header: dict[str, str]
    created_database: bool
    created_roles: tuple[str, ...]
    seconds: float
    contents: DatabaseSummary


def restore_database(
    database_url: str,
    path: Path,
    *,
    clean: bool = False,
    roles: Sequence[str] = (),
    bin_dir: Path | None = None,
) -> RestoreSummary:
    """Restore the backup ``path`` into the database of ``database_url``.

    The database is created if it does not exist. It must hold no tables, views or
    sequences (an extension's do not count) unless ``clean``: then every object the backup
    holds is dropped first. The restore is one transaction: it lands whole or not at all.
    Objects are owned by the restoring login; the planner's statistics are refreshed after.

    Parameters
    ----------
    database_url
        The target (``GCRM_DATABASE_URL``).
    path
        A file written by :func:`backup_database` (or ``pg_dump --format=custom``).
    clean
        Replace what the backup holds in a database that is not empty.
    roles
        Cluster roles the backup's policies and grants name (gcrm's application role),
        created NOLOGIN when missing and granted to the restoring login.
    bin_dir
        The folder of pg_restore (default: the server's version's).

    Raises
    ------
    ValidationError
        When ``path`` is not a backup, or the database is not empty and ``clean`` is false.
    DatabaseError
        When the server cannot be reached, a role or the database cannot be created, or
        pg_restore fails (nothing is restored then).
    ConfigurationError
        When no pg_restore of the server's version is found.
    """
    path = Path(path)
    check_archive(path)
    url = make_url(database_url)
    created_database = _ensure_target(database_url)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            tool = find_pg_tool("pg_restore", server_major=_server_major(conn), bin_dir=bin_dir)
        contents = _table_of_contents(path, tool=tool)
        with engine.begin() as conn:
            _refuse_unless_empty(conn, database=str(url.database), clean=clean)
            created_roles = _ensure_roles(conn, roles)
            _ensure_extensions(conn, _extensions(contents))
        start = time.perf_counter()
        _pg_restore(tool, url, path, entries=_without_extensions(contents), clean=clean)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        seconds = time.perf_counter() - start
        summary = describe_database(engine)
    finally:
        engine.dispose()
    return RestoreSummary(
        path=path,
        header=archive_header(contents),
        created_database=created_database,
        created_roles=tuple(created_roles),
        seconds=seconds,
        contents=summary,
    )
