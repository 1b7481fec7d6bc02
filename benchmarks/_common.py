"""Shared pieces of the benchmarks: a throw-away database, timing, printing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from gcrm.core import DEFAULT_DATABASE_URL
from gcrm.store import create_db_engine, scratch_database


@contextmanager
def bench_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A database created for one benchmark run on GCRM_DATABASE_URL's server, then dropped.

    Named ``gcrm_bench_<prefix>_<random>``, migrated; yields its URL and an engine on it.
    """
    server = os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
    with scratch_database(server, prefix=f"gcrm_bench_{prefix}") as url:
        engine = create_db_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


class Timer:
    """``with Timer() as t: ...; t.seconds``"""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def print_row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)
