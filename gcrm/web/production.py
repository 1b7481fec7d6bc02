"""The production server: gunicorn, as a custom application (no config file, no argv).

Worker processes of class ``gthread`` (``workers`` processes of ``threads`` threads each):
the dashboard's callbacks and the API wait on PostgreSQL most of the time, so threads keep a
process busy while processes use the cores. Each worker builds its own app (engines and
pools are never shared across a fork). On SIGTERM the master stops accepting connections and
gives requests in flight ``graceful_timeout_s`` seconds to finish; SIGINT stops at once.
The access log goes to standard output, errors to standard error.

gunicorn trusts no ``X-Forwarded-*`` header itself (``forwarded_allow_ips`` is empty):
the app's ProxyFix does, for exactly ``GCRM_PROXY_HOPS`` proxies (:func:`gcrm.web.install`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from wsgiref.types import WSGIApplication

from gunicorn.app.base import BaseApplication

__all__ = ["ACCESS_LOG_FORMAT", "GcrmGunicorn", "gunicorn_options", "run_gunicorn"]

#: The combined log format, and how long the request took.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def gunicorn_options(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    graceful_timeout_s: int = 30,
) -> dict[str, Any]:
    """gunicorn settings for serving gcrm on ``host``:``port``.

    Parameters
    ----------
    host, port
        Where to listen (an IPv6 address as it is, e.g. ``::1``).
    workers, threads
        Worker processes, and threads in each.
    graceful_timeout_s
        Seconds requests in flight get to finish after SIGTERM.
    """
    return {
        "bind": _bind(host, port),
        "worker_class": "gthread",
        "workers": workers,
        "threads": threads,
        "graceful_timeout": graceful_timeout_s,
        # A worker that misses its heartbeat this long is restarted (gthread beats while
        # its threads serve, so a slow request does not count).
        "timeout": 60,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "forwarded_allow_ips": "",
        "control_socket_disable": True,
        "proc_name": "gcrm",
    }


class GcrmGunicorn(BaseApplication):
    """gunicorn running the app that ``load_app`` builds (once per worker).

    Parameters
    ----------
    load_app
        Builds the WSGI app; called in each worker after the fork.
    options
        gunicorn settings (:func:`gunicorn_options`).
    """

    def __init__(self, load_app: Callable[[], WSGIApplication], options: Mapping[str, Any]) -> None:
        self._load_app = load_app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        """Apply :attr:`_options` (a name gunicorn does not know is an error)."""
        for key, value in self._options.items():
            if key not in self.cfg.settings:
                msg = f"gunicorn has no setting {key!r}; see `gunicorn --help`"
                raise ValueError(msg)
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        """The app of this worker."""
        return self._load_app()


def run_gunicorn(load_app: Callable[[], WSGIApplication], options: Mapping[str, Any]) -> None:
    """Serve ``load_app()`` with gunicorn until SIGTERM or SIGINT (blocks)."""
    GcrmGunicorn(load_app, options).run()
