"""The import log: one row in ``gcrm.import_runs`` per file or layer loaded.

Enrichment and the road graph read it to know what changed since they last ran.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from gcrm.ingest.validate import ImportReport

__all__ = ["log_import_run"]


def log_import_run(conn: Connection, report: ImportReport) -> None:
    """Record ``report`` in ``gcrm.import_runs`` (on ``conn``'s transaction)."""
    conn.execute(
        text(
            "INSERT INTO gcrm.import_runs (kind, source, rows_read, inserted, updated, unchanged, rejected) "
            "VALUES (:kind, :source, :rows_read, :inserted, :updated, :unchanged, :rejected)"
        ),
        {
            "kind": report.kind,
            "source": report.source,
            "rows_read": report.rows_read,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
    )
