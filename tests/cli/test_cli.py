"""Every pipeline command, end to end, through the real console script on the demo region."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from gcrm.core import Settings
from gcrm.store import head_revision

GCRM = str(Path(sys.executable).with_name("gcrm"))


def run_gcrm(
    settings: Settings, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GCRM_DATABASE_URL": settings.database_url,
        "GCRM_DATA_DIR": str(settings.data_dir),
    }
    proc = subprocess.run([GCRM, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_help_teaches(demo) -> None:  # type: ignore[no-untyped-def]
    out = run_gcrm(demo.settings, "--help").stdout
    for command in (
        "demo",
        "db",
        "import",
        "enrich",
        "cube",
        "map",
        "leads",
        "territories",
        "serve",
    ):
        assert f"  {command}" in out
    assert "GCRM_DATABASE_URL" in out
    assert "Columns: customer_id" in run_gcrm(demo.settings, "import", "customers", "--help").stdout


def test_db_init_is_idempotent(demo) -> None:  # type: ignore[no-untyped-def]
    assert f"revision {head_revision()}" in run_gcrm(demo.settings, "db", "init").stdout


def test_reimport_of_the_demo_customers_changes_nothing(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = demo.region_dir / "customers.csv"
    proc = run_gcrm(
        demo.settings, "import", "customers", str(src), "--rejects", str(tmp_path / "rej.csv")
    )
    assert "0 inserted, 0 updated" in proc.stdout
    rejects = pd.read_csv(tmp_path / "rej.csv")
    assert len(rejects) > 0 and {"row", "reason"} <= set(rejects.columns)


def test_import_error_names_the_fix(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n")
    proc = run_gcrm(demo.settings, "import", "customers", str(bad), check=False)
    assert proc.returncode == 2
    assert (
        "gcrm: error:" in proc.stderr
        and "'customer_id'" in proc.stderr
        and "missing" in proc.stderr
    )


def test_enrich_then_cube_build_and_show(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "enriched: 0 customers, 0 leads" in run_gcrm(demo.settings, "enrich").stdout
    cube = tmp_path / "cube.zarr"
    assert "areas x 36 months" in run_gcrm(demo.settings, "cube", "build", "-o", str(cube)).stdout
    show = run_gcrm(
        demo.settings,
        "cube",
        "show",
        "--cube",
        str(cube),
        "--measure",
        "revenue",
        "--period",
        "2025",
    ).stdout
    assert "Revenue by district, period 2025" in show
    with demo.engine.connect() as conn:
        names = [
            r[0] for r in conn.execute(text("SELECT name FROM gcrm.areas WHERE level = 'district'"))
        ]
    assert any(name in show for name in names)
    quarters = run_gcrm(
        demo.settings, "cube", "show", "--cube", str(cube), "--by", "quarter", "--measure", "orders"
    ).stdout
    assert "2025Q4" in quarters


def test_demo_command_rerun_is_idempotent(demo) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DEMO_CUSTOMERS, DEMO_SEED

    with demo.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(updated_at) FROM gcrm.customers")).one()
    proc = run_gcrm(
        demo.settings,
        "demo",
        "--no-serve",
        "--customers",
        str(DEMO_CUSTOMERS),
        "--seed",
        str(DEMO_SEED),
    )
    assert "reused demo region files" in proc.stdout
    assert "customers: " in proc.stdout and " 0 inserted, 0 updated" in proc.stdout
    with demo.engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), max(updated_at) FROM gcrm.customers")).one()
    assert after == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_dashboard_and_api(demo) -> None:  # type: ignore[no-untyped-def]
    """gunicorn with two workers: pages, API and probes answer with the security headers,
    the access log records them, and SIGTERM shuts down cleanly."""
    port = _free_port()
    env = {
        **os.environ,
        "GCRM_DATABASE_URL": demo.settings.database_url,
        "GCRM_DATA_DIR": str(demo.settings.data_dir),
        "GCRM_AUTH": "off",
    }
    command = [GCRM, "serve", "--host", "127.0.0.1", "--port", str(port)]
    options = ["--workers", "2", "--threads", "2", "--graceful-timeout", "5"]
    proc = subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(
                        "gcrm serve did not answer: "
                        + (proc.stdout.read() if proc.stdout and proc.poll() is not None else "")
                    )
                time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/", timeout=10) as resp:
            assert "gcrm" in resp.read().decode().lower()
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        with urllib.request.urlopen(
            f"{base}/api/cube/slice?level=district&measure=active", timeout=10
        ) as resp:
            assert resp.status == 200 and b"district:" in resp.read()
            assert resp.headers["Cache-Control"] == "no-store"
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "WARNING: GCRM_AUTH=off" in out
    assert "Using worker: gthread" in out and out.count("Booting worker with pid") >= 2
    assert '"GET /api/cube/slice?level=district&measure=active HTTP/1.1" 200' in out
    assert "Handling signal: term" in out and "Shutting down: Master" in out
