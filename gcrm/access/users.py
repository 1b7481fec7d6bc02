"""Users: roles, scopes, passwords, logins with lock-out.

A scope is a set of areas at any level (an area covers everything below it) or ``all``.
Written on the owner's connection (the application role cannot read or write users).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access.passwords import hash_password, spend_verify_time, verify_password
from gcrm.access.roles import Principal, check_role
from gcrm.core import AREA_ID_HELP, NotFoundError, ValidationError, parse_area_id
from gcrm.store import load_queries

__all__ = [
    "LOCK_MINUTES",
    "MAX_FAILED_LOGINS",
    "LoginFailed",
    "ScopeSpec",
    "add_user",
    "authenticate",
    "disable_user",
    "grant",
    "link_oidc",
    "list_users",
    "load_principal",
    "parse_scopes",
    "principal_by_name",
    "principal_of_oidc_subject",
    "revoke",
    "set_password",
    "user_id",
]

_SQL = load_queries(__package__, "access.sql")
#: Failures in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class LoginFailed(ValidationError):
    """Wrong name or password, a disabled or a locked account; the message says which only
    where that gives nothing away (a lock says until when)."""


@dataclass(frozen=True)
class ScopeSpec:
    """A parsed ``--scope`` list: every area, or some areas."""

    all_areas: bool
    areas: tuple[tuple[str, str], ...]


def parse_scopes(values: Sequence[str]) -> ScopeSpec:
    """``["district:D01", "hex:8911..."]`` or ``["all"]``.

    Raises
    ------
    ValidationError
        When a value is neither ``all`` nor LEVEL:CODE.
    """
    if any(v.strip().lower() == "all" for v in values):
        return ScopeSpec(True, ())
    areas = tuple(parse_area_id(v.strip(), argument="--scope") for v in values if v.strip())
    return ScopeSpec(False, tuple(dict.fromkeys(areas)))


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        msg = (
            f"user name {name!r} is not allowed; use 1-64 letters, digits and . _ @ -, "
            "starting with a letter or digit (e.g. anna.virtanen)"
        )
        raise ValidationError(msg)
    return name


def user_id(conn: Connection, name: str) -> int:
    """The id of user ``name``; NotFoundError naming ``gcrm users list`` otherwise."""
    row = conn.execute(text(_SQL["user_by_name"]), {"name": name}).mappings().first()
    if row is None:
        msg = f"user {name!r} not found; see `gcrm users list`"
        raise NotFoundError(msg)
    return int(row["id"])


def _check_areas(conn: Connection, areas: Sequence[tuple[str, str]]) -> None:
    ids = [f"{level}:{code}" for level, code in areas]
    unknown = list(conn.execute(text(_SQL["unknown_areas"]), {"ids": ids}).scalars())
    if unknown:
        msg = f"--scope {unknown} are not areas; give areas as {AREA_ID_HELP} (gcrm import areas)"
        raise ValidationError(msg)


def add_user(
    conn: Connection,
    name: str,
    *,
    role: str,
    scopes: Sequence[str] = (),
    password: str | None = None,
) -> int:
    """Create user ``name`` with ``role`` and ``scopes`` (LEVEL:CODE ..., or ``all``).

    A user without a password can still use API tokens (``gcrm tokens create``) or OpenID
    Connect. Returns the new user's id.

    Raises
    ------
    ValidationError
        When the name, role, a scope or the password is not allowed, the user exists, or
        no scope is given.
    """
    _check_name(name)
    check_role(role)
    spec = parse_scopes(scopes)
    if not spec.all_areas and not spec.areas:
        msg = "give the user a scope: --scope LEVEL:CODE (repeatable) or --scope all"
        raise ValidationError(msg)
    _check_areas(conn, spec.areas)
    if conn.execute(text(_SQL["user_by_name"]), {"name": name}).first() is not None:
        msg = f"user {name!r} exists; change it with `gcrm users grant|revoke|passwd|disable`"
        raise ValidationError(msg)
    new_id = conn.execute(
        text(_SQL["insert_user"]),
        {
            "name": name,
            "role": role,
            "all_areas": spec.all_areas,
            "password_hash": hash_password(password) if password is not None else None,
        },
    ).scalar_one()
    for level, code in spec.areas:
        conn.execute(text(_SQL["add_scope"]), {"id": new_id, "level": level, "code": code})
    return int(new_id)


def grant(conn: Connection, name: str, scopes: Sequence[str]) -> None:
    """Add areas (or ``all``) to the scope of user ``name``."""
    uid = user_id(conn, name)
    spec = parse_scopes(scopes)
    if spec.all_areas:
        conn.execute(text("UPDATE gcrm.users SET all_areas = true WHERE id = :id"), {"id": uid})
        return
    _check_areas(conn, spec.areas)
    for level, code in spec.areas:
        conn.execute(text(_SQL["add_scope"]), {"id": uid, "level": level, "code": code})


def revoke(conn: Connection, name: str, scopes: Sequence[str]) -> None:
    """Remove areas (or ``all``: every-area access) from the scope of user ``name``."""
    uid = user_id(conn, name)
    spec = parse_scopes(scopes)
    if spec.all_areas:
        conn.execute(text("UPDATE gcrm.users SET all_areas = false WHERE id = :id"), {"id": uid})
        return
    for level, code in spec.areas:
        conn.execute(text(_SQL["remove_scope"]), {"id": uid, "level": level, "code": code})


def set_password(conn: Connection, name: str, password: str) -> None:
    """Set the password of user ``name`` and lift any lock."""
    conn.execute(
        text(_SQL["login_succeeded"]),
        {"id": user_id(conn, name), "password_hash": hash_password(password)},
    )


def disable_user(conn: Connection, name: str, *, disabled: bool = True) -> None:
    """Disable (or enable again) user ``name``: no login, no token, no row visible."""
    conn.execute(
        text("UPDATE gcrm.users SET disabled = :d WHERE id = :id"),
        {"d": disabled, "id": user_id(conn, name)},
    )


def link_oidc(conn: Connection, name: str, subject: str) -> None:
    """Let user ``name`` log in through OpenID Connect as the provider's ``subject`` (the ID
    token's ``sub``); replaces an earlier link of the user.

    Raises
    ------
    NotFoundError
        When the user does not exist.
    ValidationError
        When ``subject`` is empty or already linked to another user.
    """
    uid = user_id(conn, name)
    subject = subject.strip()
    if not subject:
        msg = "SUBJECT is empty; give the `sub` the identity provider reports for the user"
        raise ValidationError(msg)
    owner = conn.execute(
        text("SELECT name FROM gcrm.users WHERE oidc_subject = :s AND id <> :id"),
        {"s": subject, "id": uid},
    ).scalar()
    if owner is not None:
        msg = (
            f"subject {subject!r} is linked to user {owner!r}; unlink it there first "
            f"(gcrm users link-oidc {owner} OTHER-SUBJECT) or check the subject"
        )
        raise ValidationError(msg)
    conn.execute(
        text("UPDATE gcrm.users SET oidc_subject = :s WHERE id = :id"), {"s": subject, "id": uid}
    )


def principal_of_oidc_subject(conn: Connection, subject: str) -> Principal | None:
    """The principal of the user linked to OpenID Connect ``subject`` (None: nobody is).

    Raises
    ------
    LoginFailed
        When the linked user is disabled.
    """
    row = conn.execute(
        text("SELECT id, disabled FROM gcrm.users WHERE oidc_subject = :s"), {"s": subject}
    ).first()
    if row is None:
        return None
    if row.disabled:
        msg = "this gcrm account is disabled; ask an admin (gcrm users enable NAME)"
        raise LoginFailed(msg)
    return load_principal(conn, int(row.id))


def list_users(conn: Connection) -> pd.DataFrame:
    """One row per user: name, role, scope, disabled, locked, valid tokens, created_at."""
    result = conn.execute(text(_SQL["list_users"]))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def load_principal(conn: Connection, uid: int) -> Principal | None:
    """The principal of user ``uid``; None when the user does not exist or is disabled."""
    row = conn.execute(text(_SQL["user_by_id"]), {"id": uid}).mappings().first()
    if row is None or row["disabled"]:
        return None
    scopes = tuple((r.level, r.code) for r in conn.execute(text(_SQL["scopes_of"]), {"id": uid}))
    return Principal(
        name=row["name"],
        role=row["role"],
        all_areas=bool(row["all_areas"]),
        scopes=scopes,
        user_id=int(row["id"]),
    )


def principal_by_name(conn: Connection, name: str) -> Principal:
    """The principal of user ``name``.

    Raises
    ------
    NotFoundError
        When the user does not exist or is disabled.
    """
    principal = load_principal(conn, user_id(conn, name))
    if principal is None:
        msg = f"user {name!r} is disabled; enable them with `gcrm users enable {name}`"
        raise NotFoundError(msg)
    return principal


def authenticate(conn: Connection, name: str, password: str) -> Principal:
    """The principal of ``name`` when ``password`` is right; counts failures and locks the
    account for :data:`LOCK_MINUTES` after :data:`MAX_FAILED_LOGINS` in a row.

    Runs on the caller's transaction: commit it so that a failure is counted.

    Raises
    ------
    LoginFailed
        Wrong name or password, a disabled account, or a locked one.
    """
    row = conn.execute(text(_SQL["user_by_name"]), {"name": name}).mappings().first()
    generic = "wrong user name or password"
    if row is None:
        # Spend the time a hash check takes, so a wrong name answers as slowly as a wrong
        # password (no probing for names).
        spend_verify_time(password)
        raise LoginFailed(generic)
    if (
        row["locked_until"] is not None
        and conn.execute(text("SELECT :until > now()"), {"until": row["locked_until"]}).scalar_one()
    ):
        msg = (
            f"account locked after {MAX_FAILED_LOGINS} failed logins, until "
            f"{row['locked_until']:%H:%M %Z}; try again then, or ask an admin (gcrm users passwd)"
        )
        raise LoginFailed(msg)
    ok, rehash = verify_password(row["password_hash"], password)
    if not ok or row["disabled"]:
        conn.execute(
            text(_SQL["login_failed"]),
            {"id": row["id"], "max_failures": MAX_FAILED_LOGINS, "lock_minutes": LOCK_MINUTES},
        )
        raise LoginFailed(generic)
    conn.execute(
        text(_SQL["login_succeeded"]),
        {"id": row["id"], "password_hash": rehash or row["password_hash"]},
    )
    principal = load_principal(conn, int(row["id"]))
    assert principal is not None  # enabled, checked above
    return principal
