"""`gcrm import customers` killed with SIGKILL while it loads: the database is exactly as it
was (every table's row count and a checksum of its content), and the same command run again
completes.

The kill comes while the import's transaction writes the customers (its statement seen in
pg_stat_activity), not before it started: a load is one transaction, so PostgreSQL rolls it
back when the client is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gcrm.ingest import import_addresses, import_customers
from gcrm.store import create_db_engine
from tests.databases import new_database
from tests.ingest.committed import write_reference
from tests.store.snapshot import fingerprint

pytestmark = pytest.mark.slow

GCRM = str(Path(sys.executable).with_name("gcrm"))
HEADER = "customer_id,name,street,house_number,postcode,city,segment,status,signup_date\n"
#: Big enough that writing it takes the server a second or so (what the kill must hit).
BIG = 100_000
#: The customers committed before: the big file updates the first half of them.
BEFORE = 1_000
#: The statement that writes the customers: the kill comes while it runs.
LOADING = "INSERT INTO gcrm.customer_records"


def _customers(path: Path, ids: range, *, name: str) -> Path:
    streets = ("Mannerheimintie", "Bulevardi", "Fabianinkatu", "Yrjönkatu")
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in ids:
            street = streets[i % len(streets)]
            out.write(
                f"K{i},{name} {i},{street},{i % 40 + 1},00100,Helsinki,consumer,active,2024-01-01\n"
            )
    return path


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A database with the reference and the first customers committed."""
    with new_database() as url:
        engine = create_db_engine(url)
        with engine.begin() as conn:
            import_addresses(conn, write_reference(tmp_path))
            import_customers(conn, _customers(tmp_path / "first.csv", range(BEFORE), name="Old"))
        try:
            yield url, engine
        finally:
            engine.dispose()


def _wait_for_load(engine: Engine, process: subprocess.Popen[bytes]) -> int:
    """The pid of the import's backend, once it runs a statement that writes the customers."""
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the import ended before it was caught loading"
            row = conn.execute(
                text(
                    "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'gcrm' AND state = 'active' AND pid <> pg_backend_pid()"
                )
            ).first()
            if row is not None and row.query.lstrip().startswith(LOADING):
                return int(row.pid)
            conn.rollback()
            time.sleep(0.01)
    raise AssertionError("the import was not seen loading within 120 s")


def _wait_gone(engine: Engine, pid: int) -> None:
    """Wait until PostgreSQL has noticed the client is gone and rolled its work back."""
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one():
            assert time.monotonic() < deadline, f"backend {pid} still there after 60 s"
            conn.rollback()
            time.sleep(0.05)


def test_sigkill_mid_load_changes_nothing_and_the_rerun_completes(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    big = _customers(tmp_path / "big.csv", range(BEFORE // 2, BEFORE // 2 + BIG), name="New")
    with engine.connect() as conn:
        before = fingerprint(conn)
    assert before["customer_records"][0] == BEFORE

    env = {**os.environ, "GCRM_DATABASE_URL": url, "GCRM_DATA_DIR": str(tmp_path / "data")}
    command = [GCRM, "import", "customers", str(big)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        backend = _wait_for_load(engine, process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    _wait_gone(engine, backend)
    with engine.connect() as conn:
        assert fingerprint(conn) == before

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{BIG} rows read" in done.stdout
    assert f"{BIG - BEFORE // 2} inserted, {BEFORE // 2} updated" in done.stdout
    with engine.connect() as conn:
        after = fingerprint(conn)
        names = conn.execute(
            text("SELECT count(*) FILTER (WHERE name LIKE 'New %') FROM gcrm.customer_records")
        ).scalar_one()
    assert after["customer_records"][0] == BEFORE // 2 + BIG
    assert names == BIG
    assert after["import_runs"][0] == before["import_runs"][0] + 1
