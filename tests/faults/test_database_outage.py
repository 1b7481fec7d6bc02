"""PostgreSQL restarted under a running `gcrm serve`: during the outage every request is a
clean 503 in the API's JSON shape (not a 500, not a hang), and afterwards the same server
answers 200 again, without a restart of gcrm. PostgreSQL stopped under a running import:
one line that says nothing was loaded, and nothing was.

The outage is made on a private cluster (tests/faults/cluster.py); the shared server of the
suite is never stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gcrm.ingest import import_leads
from gcrm.store import create_db_engine, ensure_database, init_schema
from tests.faults.cluster import Cluster, free_port, private_cluster

pytestmark = pytest.mark.slow

GCRM = str(Path(sys.executable).with_name("gcrm"))
NEAR = "/api/leads/near?lon=24.9402&lat=60.1692&radius_m=500"
#: What the API must answer within, up or down: an outage is an answer, never a hang.
ANSWER_S = 15.0


def _get(url: str) -> tuple[int, Any, float]:
    """Status, JSON body and seconds taken of a GET."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=ANSWER_S) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body or b"null"), time.monotonic() - start


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as running:
        yield running


def _seed(cluster: Cluster, folder: Path) -> str:
    """Migrate a database on the cluster and load two leads; its URL."""
    url = cluster.url("gcrm")
    ensure_database(url)
    leads = folder / "leads.csv"
    leads.write_text(
        "external_id,name,category_group,category,lon,lat\n"
        "L1,Kahvila,food,cafe,24.9405,60.1690\nL2,Ravintola,food,restaurant,24.9410,60.1695\n",
        encoding="utf-8",
    )
    engine = create_db_engine(url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            import_leads(conn, leads)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    """`gcrm serve` on the private cluster, as a user starts it; its base URL."""
    url = _seed(cluster, tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "GCRM_DATABASE_URL": url,
        "GCRM_AUTH": "off",
        "GCRM_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("GCRM_APP_DATABASE_URL", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [GCRM, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers, if any, are in its process group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _get(base + "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "gcrm serve did not answer in 90 s"
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def test_restart_of_postgres_is_a_503_then_recovers(cluster: Cluster, server: str) -> None:
    status, body, _ = _get(server + NEAR)
    assert status == 200 and body["type"] == "FeatureCollection"
    assert [f["properties"]["external_id"] for f in body["features"]] == ["L1", "L2"]

    cluster.stop("fast")
    for _ in range(3):  # every request of the outage, not only the first
        status, body, seconds = _get(server + NEAR)
        assert status == 503, body
        assert body == {"error": body["error"], "status": 503} and "database" in body["error"]
        assert seconds < ANSWER_S

    cluster.start()
    status, body, _ = _get(server + NEAR)
    assert status == 200, body
    assert len(body["features"]) == 2


def test_restart_between_requests_is_not_seen(cluster: Cluster, server: str) -> None:
    """Pooled connections that died with the server are replaced before use: the first
    request after a restart nobody saw is answered as if nothing happened."""
    for _ in range(3):  # a few pooled connections (threads or workers)
        assert _get(server + NEAR)[0] == 200
    cluster.stop("fast")
    cluster.start()
    status, body, _ = _get(server + NEAR)
    assert status == 200, body


def test_server_stopped_during_an_import_is_one_line_and_nothing_loaded(
    cluster: Cluster, tmp_path: Path
) -> None:
    url = _seed(cluster, tmp_path)
    path = tmp_path / "customers.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("customer_id,name,street,house_number,postcode,city,segment,status,signup_date\n")
        for i in range(60_000):
            out.write(
                f"K{i},Customer {i},Bulevardi,{i % 40},00120,Helsinki,smb,active,2024-01-01\n"
            )
    env = {**os.environ, "GCRM_DATABASE_URL": url, "GCRM_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [GCRM, "import", "customers", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = create_db_engine(url)
    try:
        _wait_for_statement(engine, "INSERT INTO gcrm.customer_records")
    finally:
        engine.dispose()
    cluster.stop("fast")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"the database failed during the import of {str(path)!r}" in err
    assert "nothing of it was loaded" in err and "run the same command again" in err
    cluster.start()
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM gcrm.customer_records")).scalar()
    finally:
        engine.dispose()
    assert count == 0


def _wait_for_statement(engine: Engine, prefix: str) -> None:
    """Wait until a gcrm connection runs a statement starting with ``prefix``."""
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            queries = conn.execute(
                text(
                    "SELECT query FROM pg_stat_activity WHERE state = 'active' "
                    "AND application_name = 'gcrm' AND pid <> pg_backend_pid()"
                )
            ).scalars()
            if any(q.lstrip().startswith(prefix) for q in queries):
                return
            conn.rollback()
            time.sleep(0.01)
    raise AssertionError(f"no statement {prefix!r} within 120 s")
