"""The files that ended in a raw traceback, tried as a new user would, through the command
line: each is now exit status 2 and one line on stderr naming the file, the row where there
is one, and the fix. A 2 MB name is rejected with the reason, not stored."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from gcrm.cli import main
from gcrm.store import create_db_engine
from tests.databases import new_database

GCRM = str(Path(sys.executable).with_name("gcrm"))
HEADER = "customer_id,name,street,house_number,postcode,city,segment,status,signup_date"
ROW = "C1,Aino Mäkinen,Mannerheimintie,10,00100,Helsinki,consumer,active,2024-01-05"
ZONE = {
    "type": "Feature",
    "properties": {"ref": "z1", "class": "residential", "name": "Töölö"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[24, 60], [24.1, 60], [24.1, 60.1], [24, 60]]],
    },
}

#: name: (importer, file name, bytes, what the message must say)
BROKEN: dict[str, tuple[str, str, bytes, str]] = {
    "empty file": ("customers", "crm.csv", b"", "is empty: it has no header row"),
    "binary bytes": (
        "customers",
        "crm.csv",
        bytes(range(256)) * 16,
        "is not a text table: it holds binary data (a NUL byte at line 1)",
    ),
    "UTF-8 with a cp1252 line": (
        "customers",
        "crm.csv",
        f"{HEADER}\n{ROW}\n{ROW.replace('C1', 'C2')}\n".encode()
        + ROW.replace("C1", "C3").encode("cp1252")
        + b"\n",
        "mixes encodings: line 4 has byte 0xe4, which is not UTF-8",
    ),
    "unterminated quote": (
        "customers",
        "crm.csv",
        f'{HEADER}\n{ROW}\nC2,"Eero,Bulevardi,2,00120,Helsinki,smb,active,2024-02-01\n'.encode(),
        'row 3 opens a double quote (") that never closes',
    ),
    "GeoJSON that is not JSON": (
        "zones",
        "zones.geojson",
        json.dumps({"type": "FeatureCollection", "features": [ZONE]})[:60].encode(),
        "it is not JSON (line 1, column",
    ),
    "cp1252 GeoJSON": (
        "zones",
        "zones.geojson",
        json.dumps({"type": "FeatureCollection", "features": [ZONE]}, ensure_ascii=False).encode(
            "cp1252"
        ),
        "line 1 has byte 0xf6, which is not UTF-8 (GeoJSON is always UTF-8)",
    ),
}


@pytest.fixture(scope="module")
def cli_database() -> Iterator[str]:
    with new_database() as url:
        yield url


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_one_line_naming_file_and_fix(
    case: str,
    cli_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind, name, data, expected = BROKEN[case]
    path = tmp_path / name
    path.write_bytes(data)
    monkeypatch.setenv("GCRM_DATABASE_URL", cli_database)
    status = main(["import", kind, str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.startswith("gcrm: error: ") and err.count("\n") == 1, err
    assert str(path) in err and expected in err, err
    assert "Traceback" not in out + err


def test_console_script_prints_no_traceback(cli_database: str, tmp_path: Path) -> None:
    """The real `gcrm` executable, as a user runs it."""
    kind, name, data, expected = BROKEN["unterminated quote"]
    path = tmp_path / name
    path.write_bytes(data)
    env = {"GCRM_DATABASE_URL": cli_database, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [GCRM, "import", kind, str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_2_mb_name_is_rejected_with_the_reason_not_stored(
    cli_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "crm.csv"
    huge = ROW.replace("C1,Aino Mäkinen", "C9," + "x" * 2_000_000)
    path.write_text(f"{HEADER}\n{ROW}\n{huge}\n", encoding="utf-8")
    monkeypatch.setenv("GCRM_DATABASE_URL", cli_database)
    assert main(["import", "customers", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert "2 rows read" in out and "1 inserted" in out and "1 rejected" in out
    rejects = pd.read_csv(tmp_path / "crm.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects[["row", "reason"]].values.tolist() == [
        ["3", "name is 2000000 characters long; at most 200 are allowed: shorten it in the file"]
    ]
    engine = create_db_engine(cli_database)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT external_id, length(name) FROM gcrm.customer_records")
            ).all()
    finally:
        engine.dispose()
    assert stored == [("C1", len("Aino Mäkinen"))]
