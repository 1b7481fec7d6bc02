"""Password hashing with argon2 (argon2-cffi's defaults: Argon2id, RFC 9106 low-memory)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gcrm.core import ValidationError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_password",
    "hash_password",
    "spend_verify_time",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()


def check_password(password: str) -> str:
    """``password`` when long enough; a ValidationError saying how long otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = (
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH} "
            "(a passphrase of a few words is easy to type and hard to guess)"
        )
        raise ValidationError(msg)
    return password


def hash_password(password: str) -> str:
    """The argon2 hash of ``password`` (salted; the parameters are stored in the hash)."""
    return _HASHER.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``password_hash``, and a fresh hash when the stored one
    was made with older parameters (None otherwise)."""
    if not password_hash:
        return False, None
    try:
        _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, _HASHER.hash(password) if _HASHER.check_needs_rehash(password_hash) else None


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not anyone's password")


def spend_verify_time(password: str) -> None:
    """Take as long as checking a password does, for a name that does not exist: a wrong
    name then answers as slowly as a wrong password, and names cannot be probed."""
    verify_password(_dummy_hash(), password)
