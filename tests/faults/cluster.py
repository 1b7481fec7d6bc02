"""A private PostgreSQL cluster for tests that stop and start the server.

The shared server of the test suite is never stopped: a test that needs an outage makes a
cluster of its own with the server binaries of the installed PostgreSQL 15 (initdb into a
temporary folder, its own free port on 127.0.0.1, its unix socket in that folder, trust
authentication for the superuser ``gcrm``). PostGIS is installed system-wide, so CREATE
EXTENSION postgis works there too. As root, the cluster runs as the ``postgres`` system user
(PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "gcrm"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass(frozen=True)
class Cluster:
    """A running private cluster: its folder, port, and how to stop and start it."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]
        subprocess.run(_as_owner(command), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.root / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close every connection)."""
        self._pg_ctl("-m", mode, "stop")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A new cluster, started; stopped and deleted on exit."""
    root = Path(tempfile.mkdtemp(prefix="gcrm-cluster-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(root=root, port=free_port())
    try:
        initdb = [
            str(PG_BIN / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]
        subprocess.run(_as_owner(initdb), check=True, capture_output=True, timeout=120)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
