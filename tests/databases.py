"""Every database the test suite makes: ``gcrm.store.scratch_database`` on one server.

The server is GCRM_DATABASE_URL's (default: the local PostGIS of ``make test``); each
database is named ``gcrm_test_<random>``, has gcrm's extensions and, unless ``schema`` is
false, the migrated schema; it is dropped when the ``with`` block ends. Fixtures use it
through ``with`` + ``yield``; helpers that build a committed database on top of it
(tests/ingest/committed.py, tests/maps/seed.py) are context managers too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from gcrm.core import DEFAULT_DATABASE_URL
from gcrm.store import scratch_database

PREFIX = "gcrm_test"


def server_url() -> str:
    """The server the test databases are made on."""
    return os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)


@contextmanager
def new_database(*, schema: bool = True) -> Iterator[str]:
    """A throw-away test database; yields its URL and drops it on exit."""
    with scratch_database(server_url(), prefix=PREFIX, schema=schema) as url:
        yield url
