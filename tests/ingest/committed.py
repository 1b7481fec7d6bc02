"""A database of its own holding the small address reference, committed.

For tests of commands and routes that open their own connections (the CLI, the API), where
the rolled-back ``conn`` fixture cannot be seen.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from gcrm.core import DEFAULT_DATABASE_URL, Settings
from gcrm.ingest import import_addresses
from gcrm.store import create_db_engine, drop_database, ensure_database, init_schema
from tests.ingest.conftest import REFERENCE


def reference_settings(tmp_dir: Path) -> tuple[Settings, Callable[[], None]]:
    """Settings of a new database with the 8-address reference; and a function dropping it."""
    name = f"gcrm_test_{uuid.uuid4().hex[:10]}"
    server = os.environ.get("GCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    ensure_database(url)
    engine = create_db_engine(url)
    init_schema(engine)
    path = tmp_dir / "addresses.csv"
    path.write_text(REFERENCE, encoding="utf-8")
    with engine.begin() as conn:
        import_addresses(conn, path)
    engine.dispose()
    return Settings(database_url=url, data_dir=tmp_dir / "data"), lambda: drop_database(url)
