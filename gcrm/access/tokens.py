"""API tokens: random, stored as their SHA-256 (never in clear), revocable, with an expiry.

A token is 256 random bits, so a fast hash is safe to store and to look up on every request
(a password needs argon2 because people choose them; nobody chooses a token).
"""

from __future__ import annotations

import hashlib
import secrets

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access.roles import Principal
from gcrm.access.users import load_principal, user_id
from gcrm.core import NotFoundError, ValidationError
from gcrm.store import load_queries

__all__ = ["TOKEN_PREFIX", "create_token", "list_tokens", "principal_of_token", "revoke_token"]

_SQL = load_queries(__package__, "access.sql")
#: Every token starts with it, so a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "gcrm_"
_SHOWN = len(TOKEN_PREFIX) + 6


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(
    conn: Connection, user_name: str, *, name: str = "api", expires_days: int | None = 90
) -> str:
    """A new token for ``user_name``, valid ``expires_days`` days (None: until revoked).

    Returns the token; only its hash is stored, so it cannot be shown again.

    Raises
    ------
    ValidationError
        When ``expires_days`` is not positive.
    NotFoundError
        When the user does not exist.
    """
    if expires_days is not None and expires_days < 1:
        msg = f"--expires-days {expires_days} must be at least 1 (or leave it out for 90)"
        raise ValidationError(msg)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text(_SQL["insert_token"]),
        {
            "user_id": user_id(conn, user_name),
            "name": name,
            "prefix": token[:_SHOWN],
            "token_hash": _digest(token),
            "days": expires_days,
        },
    )
    return token


def principal_of_token(conn: Connection, token: str) -> Principal | None:
    """The principal a token acts for; None for an unknown, revoked or expired token, or a
    disabled user. Records when the token was last used (at most once a minute)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(text(_SQL["token_user"]), {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    conn.execute(text(_SQL["token_used"]), {"id": row.token_id})
    return load_principal(conn, int(row.id))


def list_tokens(conn: Connection, *, user_name: str | None = None) -> pd.DataFrame:
    """Tokens (never their secret): id, user, name, prefix, created, expires, revoked, last used."""
    result = conn.execute(text(_SQL["list_tokens"]), {"user_name": user_name})
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def revoke_token(conn: Connection, token: str) -> int:
    """Revoke a token given by its id or its prefix (``gcrm_AbC123``); return its id.

    Raises
    ------
    NotFoundError
        When no active token matches.
    """
    token_id = int(token) if token.isdigit() else -1
    row = conn.execute(text(_SQL["revoke_token"]), {"id": token_id, "prefix": token}).first()
    if row is None:
        msg = f"no active token {token!r}; see `gcrm tokens list` for ids and prefixes"
        raise NotFoundError(msg)
    return int(row.id)
