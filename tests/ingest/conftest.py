"""A small real address reference, loaded through the real importer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection

from gcrm.ingest import import_addresses

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


@pytest.fixture
def reference(conn: Connection, tmp_path: Path) -> Path:
    path = tmp_path / "addresses.csv"
    path.write_text(REFERENCE, encoding="utf-8")
    report = import_addresses(conn, path)
    assert report.inserted == 8
    return path
