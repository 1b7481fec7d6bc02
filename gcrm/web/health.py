"""Probes for process managers and load balancers, answered without login.

- ``GET /healthz``: the process is alive and answering (touches no database); a failing
  liveness probe means "restart me".
- ``GET /readyz``: the database can be reached through the engine requests use (200), else
  503 in the one JSON error shape; a failing readiness probe means "send no traffic yet".
"""

from __future__ import annotations

import flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gcrm.core import GcrmError
from gcrm.web.errors import error_body
from gcrm.web.services import Services

__all__ = ["create_health_blueprint"]


def create_health_blueprint(services: Services) -> flask.Blueprint:
    """``/healthz`` and ``/readyz``."""
    bp = flask.Blueprint("gcrm_health", __name__)

    @bp.get("/healthz")
    def healthz() -> flask.Response:
        return flask.jsonify({"status": "ok"})

    @bp.get("/readyz")
    def readyz() -> tuple[flask.Response, int]:
        try:
            with services.data.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (GcrmError, SQLAlchemyError):
            body = error_body("not ready: the database cannot be reached; try again shortly", 503)
            return flask.jsonify(body | {"database": "unreachable"}), 503
        return flask.jsonify({"status": "ok", "database": "ok"}), 200

    return bp
