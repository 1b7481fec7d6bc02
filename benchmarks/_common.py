"""Shared pieces of the benchmarks: a throw-away database, timing, printing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gcrm.core import DEFAULT_DATABASE_URL
from gcrm.store import create_db_engine, drop_database, ensure_database, init_schema


@contextmanager
def bench_database(prefix: str) -> Iterator[tuple[str, Engine]]:
    """A database created for one benchmark run on GCRM_DATABASE_URL's server, then dropped."""
    server = os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
    url = make_url(server).set(database=f"gcrm_bench_{prefix}_{uuid.uuid4().hex[:8]}")
    url_s = url.render_as_string(hide_password=False)
    ensure_database(url_s)
    engine = create_db_engine(url_s)
    init_schema(engine)
    try:
        yield url_s, engine
    finally:
        engine.dispose()
        drop_database(url_s)


class Timer:
    """``with Timer() as t: ...; t.seconds``"""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def print_row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)
