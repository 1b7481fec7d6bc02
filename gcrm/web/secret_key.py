"""The key that signs session cookies: from the settings, or generated once and kept.

Every gunicorn worker and every restart must sign with the same key, or users are logged out
(and their CSRF tokens refused) whenever another process answers. Unset
``GCRM_SECRET_KEY``: a random key is written once to ``DATA_DIR/.secret_key`` (mode 0600)
and read back by every process after that.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from gcrm.core import ConfigurationError, Settings

__all__ = ["SECRET_KEY_FILE", "load_secret_key"]

#: The file, in the data directory, that keeps the generated key.
SECRET_KEY_FILE = ".secret_key"
#: Bytes of randomness in a generated key (256 bits).
_KEY_BYTES = 32
#: Keys shorter than this (from the settings) are refused: they could be guessed.
_MIN_KEY_LENGTH = 32


def load_secret_key(settings: Settings) -> str:
    """The session signing key: ``settings.secret_key``, else the one kept in
    ``DATA_DIR/.secret_key``, generated on first use.

    Raises
    ------
    ConfigurationError
        When ``settings.secret_key`` is too short, or the key file cannot be written or read.
    """
    if settings.secret_key is not None:
        if len(settings.secret_key) < _MIN_KEY_LENGTH:
            msg = (
                f"GCRM_SECRET_KEY has {len(settings.secret_key)} characters; use at least "
                f"{_MIN_KEY_LENGTH} random ones (python -c 'import secrets; "
                "print(secrets.token_hex(32))'), or unset it to keep a generated key in "
                f"DATA_DIR/{SECRET_KEY_FILE}"
            )
            raise ConfigurationError(msg)
        return settings.secret_key
    path = settings.data_dir / SECRET_KEY_FILE
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        msg = (
            f"cannot keep the session key in {path}: {exc.strerror or exc}; make "
            f"GCRM_DATA_DIR writable, or set GCRM_SECRET_KEY"
        )
        raise ConfigurationError(msg) from None
    if len(key) < _MIN_KEY_LENGTH:
        msg = f"{path} holds no usable key; delete it and a new one is generated at the next start"
        raise ConfigurationError(msg)
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key to ``path`` unless another process got there first.

    The key is written to a private temporary file and then linked into place: the link
    fails if ``path`` exists, so concurrent workers all end up reading one complete key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
        # Another worker may have won the race: its key is the one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
