"""Database boundary: engine, schema migrations, COPY loading and binary WKB reading."""

from gcrm.db.bulk import (
    copy_frame,
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
