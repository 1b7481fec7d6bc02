"""The database boundary: engine, migrations, named SQL, bulk I/O by binary COPY in and out."""

from gcrm.store.backup import (
    BackupSummary,
    DatabaseSummary,
    RestoreSummary,
    backup_database,
    describe_database,
    restore_database,
)
from gcrm.store.bulk_in import copy_frame
from gcrm.store.bulk_load import bulk_upsert
from gcrm.store.bulk_out import copy_out, read_geodataframe
from gcrm.store.engine import create_db_engine, drop_database, ensure_database, scratch_database
from gcrm.store.loading import (
    stage_frame,
    upsert_from_stage,
    upsert_outcomes,
    write_geodataframe,
)
from gcrm.store.migrate import current_revision, head_revision, init_schema
from gcrm.store.sql import Queries, load_queries
from gcrm.store.wire import driver_connection, ewkb_points, quote_ident, to_ewkb_hex

__all__ = [
    "BackupSummary",
    "DatabaseSummary",
    "Queries",
    "RestoreSummary",
    "backup_database",
    "bulk_upsert",
    "copy_frame",
    "copy_out",
    "create_db_engine",
    "current_revision",
    "describe_database",
    "driver_connection",
    "drop_database",
    "ensure_database",
    "ewkb_points",
    "head_revision",
    "init_schema",
    "load_queries",
    "quote_ident",
    "read_geodataframe",
    "restore_database",
    "scratch_database",
    "stage_frame",
    "to_ewkb_hex",
    "upsert_from_stage",
    "upsert_outcomes",
    "write_geodataframe",
]
