"""Large loads into a keyed table, in one transaction: only what changed is written, and the
indexes are built again rather than maintained when the load is large.

``INSERT ... ON CONFLICT DO UPDATE`` maintains every index of the table for every row it
writes (a random descent per row and index) and probes the primary key for every row it
compares: a million address points into the empty reference, with its seven indexes, took
28 s of a 47 s import; finding that a re-run changed nothing took 5 s. Here:

- into an empty table, the rows are copied straight into it (binary COPY, no staging);
- otherwise they are staged and compared with the table in one hash join; only new and
  changed rows are written (an unchanged re-run writes nothing);
- when the rows to write are many (:data:`REBUILD_FROM_ROWS`) and at least
  :data:`REBUILD_SHARE` of the rows already there, the table's indexes (its primary key
  too, unless a foreign key needs it) are dropped first and built again after the write,
  each with one sort, with ``maintenance_work_mem`` raised for the build.

Everything runs on the caller's transaction: a failure rolls back rows and indexes alike.
The table is locked against other writers for the rest of the transaction (``SHARE ROW
EXCLUSIVE``: readers go on), so the comparison stays true until commit; while its indexes
are rebuilt, readers wait for the commit too (``DROP INDEX`` takes an exclusive lock).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.store.bulk_in import copy_frame
from gcrm.store.loading import raised_setting, stage_frame
from gcrm.store.wire import quote_ident

__all__ = [
    "REBUILD_FROM_ROWS",
    "REBUILD_SHARE",
    "IndexDefinition",
    "bulk_upsert",
    "drop_indexes",
    "restore_indexes",
]

#: Fewer rows than this are written with the indexes in place: maintaining them costs under
#: a second, less than building them again on a large table.
REBUILD_FROM_ROWS = 10_000
#: The indexes are rebuilt when the rows to write are at least this share of the rows already
#: in the table. Measured on the address reference (1,000,000 rows, seven indexes): a row
#: written with its indexes in place costs ~20 us, a row of an index build ~7 us.
REBUILD_SHARE = 0.5
#: Memory for the index builds (and the comparison's hash join): with 512 MB the sorts of a
#: million rows stay in memory; at the 64 MB default they spill to disk.
_BUILD_MEMORY = "512MB"
_JOIN_MEMORY = "256MB"


@dataclass(frozen=True)
class IndexDefinition:
    """An index of a table as it was before a load: how to drop it and create it again."""

    name: str
    create_sql: str
    #: The constraint the index enforces (primary key, unique), or None for a plain index.
    constraint: str | None
    comment: str | None


def bulk_upsert(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    table: str,
    key: Sequence[str],
    expressions: Mapping[str, str] | None = None,
    rebuild_from: int = REBUILD_FROM_ROWS,
) -> tuple[int, int]:
    """Insert the new rows of ``frame`` into ``table`` and update the changed ones.

    Parameters
    ----------
    conn
        A connection in the transaction the load belongs to.
    frame
        The rows, one per key, columns named as the table's (none generated); geometry as a
        GeoDataFrame's active geometry in EPSG:4326 (or (E)WKB bytes), as
        :func:`gcrm.store.copy_frame` takes it.
    table
        The target table, schema-qualified (``gcrm.address_points``).
    key
        The columns of its primary key (or a unique key): what identifies a row.
    expressions
        SQL over the staged row ``s`` for columns stored otherwise than given (geometry
        repair, say). With none, an empty table is filled by COPY directly.
    rebuild_from
        The fewest rows to write for which the indexes are dropped and rebuilt
        (see :data:`REBUILD_SHARE` for the other condition).

    Returns
    -------
    tuple of int
        ``(inserted, updated)``; the other rows of ``frame`` were already there unchanged.

    Raises
    ------
    ValueError
        When ``key`` is empty or names a column that ``frame`` does not have.
    """
    missing = [k for k in key if k not in frame.columns]
    if not key or missing:
        msg = f"key {list(key)!r} must name columns of the frame; missing {missing}"
        raise ValueError(msg)
    if frame.empty:
        return 0, 0
    conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
    share_limit = int(len(frame) / REBUILD_SHARE) + 1
    existing = _rows_up_to(conn, table, limit=share_limit)
    if existing == 0 and not expressions:
        with _indexes_rebuilt(conn, table, rebuild=len(frame) >= rebuild_from):
            copy_frame(conn, table, frame)
        return len(frame), 0
    stage = stage_frame(conn, frame, like=table, name=f"_stage_{_bare_name(table)}")
    changes = f"_changes_{_bare_name(table)}"
    inserted, updated = _stage_changes(
        conn, stage=stage, changes=changes, table=table, key=key,
        columns=list(frame.columns), expressions=expressions or {},
    )  # fmt: skip
    written = inserted + updated
    if written == 0:
        return 0, 0
    rebuild = written >= rebuild_from and written >= REBUILD_SHARE * existing
    with _indexes_rebuilt(conn, table, rebuild=rebuild):
        _apply_changes(
            conn, changes=changes, table=table, key=key, columns=list(frame.columns),
            expressions=expressions or {},
        )  # fmt: skip
    return inserted, updated


def _bare_name(table: str) -> str:
    return table.split(".")[-1].strip('"')


def _rows_up_to(conn: Connection, table: str, *, limit: int) -> int:
    """The table's rows, counted up to ``limit`` (enough to decide; cheap on a big table)."""
    return int(
        conn.execute(
            text(f"SELECT count(*) FROM (SELECT FROM {table} LIMIT :limit) t"), {"limit": limit}
        ).scalar_one()
    )


def _stage_changes(
    conn: Connection,
    *,
    stage: str,
    changes: str,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    expressions: Mapping[str, str],
) -> tuple[int, int]:
    """The staged rows that are new or differ from the stored ones, into the temporary table
    ``changes`` (with ``_new``); return how many are new and how many changed.

    The comparison is the upsert's: stored values against the staged ones as they would be
    stored (``expressions`` applied), ``IS DISTINCT FROM`` so that NULLs compare equal.
    """
    values = [c for c in columns if c not in key]
    join = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    absent = f"t.{quote_ident(key[0])} IS NULL"
    stored = ", ".join(f"t.{quote_ident(c)}" for c in values)
    given = ", ".join(expressions.get(c, f"s.{quote_ident(c)}") for c in values)
    differs = f" OR ({stored}) IS DISTINCT FROM ({given})" if values else ""
    conn.execute(text(f"DROP TABLE IF EXISTS {changes}"))
    with raised_setting(conn, "work_mem", _JOIN_MEMORY):
        conn.execute(
            text(
                f"CREATE TEMP TABLE {changes} ON COMMIT DROP AS "
                f"SELECT s.*, {absent} AS _new FROM {stage} s LEFT JOIN {table} t ON {join} "
                f"WHERE {absent}{differs}"
            )
        )
    new, changed = conn.execute(
        text(
            f"SELECT count(*) FILTER (WHERE _new), count(*) FILTER (WHERE NOT _new) FROM {changes}"
        )
    ).one()
    return int(new), int(changed)


def _apply_changes(
    conn: Connection,
    *,
    changes: str,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    expressions: Mapping[str, str],
) -> None:
    """Insert the new rows of ``changes`` and update the changed ones (the table is locked
    against other writers, so what was new is still new)."""
    select = ", ".join(expressions.get(c, f"s.{quote_ident(c)}") for c in columns)
    names = ", ".join(quote_ident(c) for c in columns)
    conn.execute(
        text(f"INSERT INTO {table} ({names}) SELECT {select} FROM {changes} s WHERE s._new")
    )
    values = [c for c in columns if c not in key]
    if not values:
        return
    assign = ", ".join(
        f"{quote_ident(c)} = {expressions.get(c, f's.{quote_ident(c)}')}" for c in values
    )
    join = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
    with raised_setting(conn, "work_mem", _JOIN_MEMORY):
        conn.execute(
            text(f"UPDATE {table} t SET {assign} FROM {changes} s WHERE NOT s._new AND {join}")
        )


@contextmanager
def _indexes_rebuilt(conn: Connection, table: str, *, rebuild: bool) -> Iterator[None]:
    """With ``rebuild``, the block runs on ``table`` without its indexes; they are built again
    after it. On an error the transaction is left to roll back, indexes and all."""
    if not rebuild:
        yield
        return
    dropped = drop_indexes(conn, table)
    yield
    restore_indexes(conn, table, dropped)


def drop_indexes(conn: Connection, table: str) -> list[IndexDefinition]:
    """Drop the indexes of ``table`` that a load may rebuild; return their definitions.

    Plain indexes and the indexes of primary-key and unique constraints are dropped; the
    index of a constraint another object depends on (a foreign key's referenced key, an
    exclusion constraint) and a replica-identity index stay.
    """
    rows = conn.execute(
        text(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS name, "
            "pg_get_indexdef(i.indexrelid) AS create_sql, c.conname, "
            "CASE WHEN c.oid IS NOT NULL THEN pg_get_constraintdef(c.oid) END AS condef, "
            "obj_description(i.indexrelid, 'pg_class') AS comment "
            "FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = ic.relnamespace "
            "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
            "  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u') "
            "WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisreplident "
            "AND NOT EXISTS (SELECT FROM pg_constraint o WHERE o.conindid = i.indexrelid "
            "  AND o.oid IS DISTINCT FROM c.oid) "
            "ORDER BY ic.relname"
        ),
        {"table": table},
    ).all()
    dropped = []
    for row in rows:
        if row.conname is not None:
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {quote_ident(row.conname)}"))
            create = f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(row.conname)} {row.condef}"
        else:
            conn.execute(text(f"DROP INDEX {row.name}"))
            create = row.create_sql
        dropped.append(IndexDefinition(row.name, create, row.conname, row.comment))
    return dropped


def restore_indexes(conn: Connection, table: str, indexes: Sequence[IndexDefinition]) -> None:
    """Build ``indexes`` (from :func:`drop_indexes`) again, with memory for their sorts."""
    with raised_setting(conn, "maintenance_work_mem", _BUILD_MEMORY):
        for index in indexes:
            conn.execute(text(index.create_sql))
            if index.comment is not None:
                # COMMENT takes no parameters: the text goes in as a quoted literal.
                literal = conn.execute(
                    text("SELECT quote_literal(CAST(:c AS text))"), {"c": index.comment}
                ).scalar_one()
                conn.execute(text(f"COMMENT ON INDEX {index.name} IS {literal}"))
