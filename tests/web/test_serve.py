"""`gcrm serve` as deployed: gunicorn with login on, restarts keep sessions; what it refuses."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from gcrm.core import Settings
from gcrm.web import gunicorn_options
from tests.web.conftest import PASSWORD

GCRM = str(Path(sys.executable).with_name("gcrm"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "GCRM_DATABASE_URL": settings.database_url,
        "GCRM_DATA_DIR": str(settings.data_dir),
        **extra,
    }


@contextmanager
def serving(settings: Settings, *args: str, **env: str) -> Iterator[str]:
    """``gcrm serve`` on a free port until the block ends (SIGTERM; gunicorn must exit 0);
    yields its base URL."""
    port = _free_port()
    timeout = [] if "--dev" in args else ["--graceful-timeout", "5"]
    proc = subprocess.Popen(
        [GCRM, "serve", "--host", "127.0.0.1", "--port", str(port), *timeout, *args],
        env=_env(settings, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                raise AssertionError(f"gcrm serve did not answer: {out}")
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        # Flask's development server has no SIGTERM handler of its own.
        clean = (0, -signal.SIGTERM) if "--dev" in args else (0,)
        assert proc.returncode in clean, out


def _log_in(session: requests.Session, base: str, name: str) -> requests.Response:
    page = session.get(f"{base}/login", timeout=10).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    form = {"username": name, "password": PASSWORD, "csrf_token": found.group(1), "next": "/"}
    return session.post(f"{base}/login", data=form, allow_redirects=False, timeout=30)


def test_gunicorn_options() -> None:
    options = gunicorn_options(host="::1", port=8050, workers=3, threads=4, graceful_timeout_s=7)
    assert options["bind"] == "[::1]:8050" and options["worker_class"] == "gthread"
    assert (options["workers"], options["threads"], options["graceful_timeout"]) == (3, 4, 7)
    assert options["accesslog"] == "-" and options["forwarded_allow_ips"] == ""


@pytest.mark.slow  # two gunicorn starts
def test_sessions_survive_a_restart_and_serve_every_worker(seeded: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("kaisa", scope="district:D01")
    # Plain HTTP to 127.0.0.1: requests keeps Secure cookies for HTTPS only.
    insecure = {"GCRM_COOKIE_SECURE": "false"}
    browser = requests.Session()
    with serving(seeded, "--workers", "2", "--threads", "2", **insecure) as base:
        assert requests.get(f"{base}/", allow_redirects=False, timeout=10).status_code == 302
        answer = _log_in(browser, base, "kaisa")
        assert answer.status_code == 303, answer.text
        # New connections, spread over the workers: each accepts the session.
        for _ in range(12):
            layout = requests.get(
                f"{base}/_dash-layout",
                cookies=browser.cookies,
                headers={"Connection": "close"},
                timeout=30,
            )
            assert layout.status_code == 200 and '"kaisa"' in layout.text
        browser.close()  # no idle keep-alive connection for the shutdown to wait on
    with serving(seeded, "--workers", "1", **insecure) as base:
        assert browser.get(f"{base}/_dash-layout", timeout=30).status_code == 200


def test_serve_refuses_what_is_unsafe(seeded: Settings) -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GCRM, "serve", *args], env=_env(seeded, **env), capture_output=True, text=True
        )

    open_to_all = run("--host", "0.0.0.0", GCRM_AUTH="off")
    assert open_to_all.returncode == 2
    assert "GCRM_AUTH=off with --host 0.0.0.0" in open_to_all.stderr
    proxied = run(GCRM_AUTH="off", GCRM_PROXY_HOPS="1")
    assert proxied.returncode == 2 and "GCRM_AUTH=off with GCRM_PROXY_HOPS=1" in proxied.stderr
    debug = run("--debug")
    assert debug.returncode == 2 and "only with --dev" in debug.stderr
    short_key = run(GCRM_SECRET_KEY="too-short")
    assert short_key.returncode == 2 and "GCRM_SECRET_KEY has 9 characters" in short_key.stderr


def test_dev_server_still_there(seeded: Settings) -> None:
    with serving(seeded, "--dev") as base:
        assert requests.get(f"{base}/readyz", timeout=10).json()["database"] == "ok"
