"""The import log: one row in ``gcrm.import_runs`` per file or layer loaded.

Enrichment and the road graph read it to know what changed since they last ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.ingest.validate import ImportReport, RowChecks, default_rejects_path, write_rejects
from gcrm.store import stage_frame, upsert_from_stage

__all__ = ["load_checked_rows", "log_import_run"]


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


def load_checked_rows(
    conn: Connection,
    good: pd.DataFrame,
    *,
    kind: str,
    table: str,
    key: Sequence[str],
    path: Path,
    rows_read: int,
    checks: RowChecks,
    rejects_path: Path | None = None,
    expressions: dict[str, str] | None = None,
    on_update: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> ImportReport:
    """Upsert the rows that passed ``checks`` into ``table``, write the rejects and log the run.

    What every importer of a file of rows does last, on ``conn``'s transaction: ``good``
    staged and upserted by ``key`` in one statement (``expressions`` and ``on_update`` as
    :func:`gcrm.store.upsert_from_stage`), the rejected rows written beside ``path`` (or to
    ``rejects_path``) with their row numbers and reasons, and the report recorded in
    ``gcrm.import_runs``. Rows read = inserted + updated + unchanged + rejected.
    """
    columns = list(good.columns)
    stage = stage_frame(conn, good, like=table, name="_stage_" + table.rsplit(".", 1)[-1])
    inserted, updated = upsert_from_stage(
        conn,
        stage=stage,
        table=table,
        key=list(key),
        columns=columns,
        expressions={c: e for c, e in (expressions or {}).items() if c in columns} or None,
        on_update=on_update,
    )
    rejects = checks.rejects()
    report = ImportReport(
        kind=kind,
        source=str(path),
        rows_read=rows_read,
        inserted=inserted,
        updated=updated,
        unchanged=len(good) - inserted - updated,
        rejected=len(rejects),
        rejects_path=write_rejects(rejects, rejects_path or default_rejects_path(path)),
        details=dict(details or {}),
    )
    log_import_run(conn, report)
    return report
