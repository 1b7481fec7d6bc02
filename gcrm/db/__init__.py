"""Database boundary: engine, schema migrations, bulk I/O by binary COPY in and out."""

from gcrm.db.bulk import (
    copy_frame,
    copy_out,
    read_geodataframe,
    stage_frame,
    to_ewkb_hex,
    upsert_from_stage,
    write_geodataframe,
)
from gcrm.db.engine import create_db_engine, drop_database, ensure_database
from gcrm.db.migrate import init_schema

__all__ = [
    "copy_frame",
    "copy_out",
    "create_db_engine",
    "drop_database",
    "ensure_database",
    "init_schema",
    "read_geodataframe",
    "stage_frame",
    "to_ewkb_hex",
    "upsert_from_stage",
    "write_geodataframe",
]
