"""The small real address reference: its rows, and a committed database holding it.

``REFERENCE`` is imported on the rolled-back ``conn`` by the ``reference`` fixture of
tests/conftest.py. ``reference_settings`` is for tests of commands and routes that open their
own connections (the CLI, the API), where the rolled-back ``conn`` cannot be seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gcrm.core import Settings
from gcrm.ingest import import_addresses
from gcrm.store import create_db_engine
from tests.databases import new_database

REFERENCE = """ref,street,housenumber,postcode,city,lon,lat
a1,Mannerheimintie,10,00100,Helsinki,24.9402,60.1692
a2,Mannerheimintie,12,00100,Helsinki,24.9398,60.1697
a3,Fabianinkatu,5,00130,Helsinki,24.9510,60.1660
a4,Bulevardi,2,00120,Helsinki,24.9405,60.1650
a5,Yrjönkatu,3 B,00120,Helsinki,24.9380,60.1665
a6,Pohjoisesplanadi,11,00170,Helsinki,24.9520,60.1680
a7,Pohjoisesplanadi,13,00170,Helsinki,24.9530,60.1682
a8,Kalevankatu,4,00100,Helsinki,24.9370,60.1660
"""


def write_reference(tmp_dir: Path) -> Path:
    """The reference as ``tmp_dir/addresses.csv``."""
    path = tmp_dir / "addresses.csv"
    path.write_text(REFERENCE, encoding="utf-8")
    return path


@contextmanager
def reference_settings(tmp_dir: Path) -> Iterator[Settings]:
    """Settings of a new database with the 8-address reference committed; dropped on exit."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                import_addresses(conn, write_reference(tmp_dir))
        finally:
            engine.dispose()
        yield Settings(database_url=url, data_dir=tmp_dir / "data")
