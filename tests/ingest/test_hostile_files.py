"""Hostile files, generated (tests/ingest/hostile.py): every import ends either in gcrm's own
error, one line naming the file, or in a report where rows in = loaded + rejected, with the
rows the file holds, the rejects file listing each rejected row, and nothing stored over its
field's limit. Every example runs in a transaction rolled back at its end.

Derandomized with a fixed number of examples, so that CI runs the same files every time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from gcrm.core import GcrmError
from gcrm.ingest import (
    LAYERS,
    ImportReport,
    import_addresses,
    import_branches,
    import_customers,
    import_layer,
    import_orders,
)
from gcrm.ingest.specs import FIELD_LIMITS
from gcrm.store import create_db_engine
from tests.databases import new_database
from tests.ingest.committed import write_reference
from tests.ingest.hostile import (
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    LayerFile,
    TableFile,
    layer_files,
    table_files,
)

HOSTILE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
Importer = Callable[[Connection, Path], ImportReport]


@pytest.fixture(scope="module")
def hostile_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database with the address reference, customers C1-C3 and branch B1 committed."""
    folder = tmp_path_factory.mktemp("hostile")
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,name,street,house_number,postcode,city,segment,status,signup_date\n"
        + "".join(
            f"C{i},Customer {i},Mannerheimintie,10,00100,Helsinki,consumer,active,2024-01-0{i}\n"
            for i in (1, 2, 3)
        ),
        encoding="utf-8",
    )
    branches = folder / "branches.csv"
    branches.write_text("code,name,lon,lat\nB1,Central,24.94,60.17\n", encoding="utf-8")
    with new_database() as url:
        engine = create_db_engine(url)
        with engine.begin() as conn:
            import_addresses(conn, write_reference(folder))
            import_customers(conn, customers)
            import_branches(conn, branches)
        yield engine
        engine.dispose()


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _assert_one_line_error(error: GcrmError, path: Path) -> None:
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert str(path) in message, message
    assert len(message) < 1000, message[:300]


def _assert_balanced(
    report: ImportReport, conn: Connection, table: str, before: int, expected: int | None
) -> None:
    assert report.rows_read == report.loaded + report.rejected, report.summary()
    if expected is not None:
        assert report.rows_read == expected, report.summary()
    assert _count(conn, table) - before == report.inserted
    assert report.rejects_path is not None
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    assert len(rejects) == report.rejected
    assert (rejects["reason"] != "").all()
    rows = rejects["row"].astype(int)
    assert rows.is_unique and (rows >= 1).all()
    assert (rejects["reason"].str.len() < 1000).all()


def _attempt(
    engine: Engine, importer: Importer, path: Path, table: str, expected: int | None
) -> ImportReport | None:
    """Run ``importer`` on a rolled-back transaction; check what it did; the report or None."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            before = _count(conn, table)
            try:
                report = importer(conn, path)
            except GcrmError as error:
                _assert_one_line_error(error, path)
                assert _count(conn, table) == before
                event(f"error: {type(error).__name__}: {_gist(error, path)}")
                return None
            event(f"report: loaded {_some(report.loaded)}, rejected {_some(report.rejected)}")
            _assert_balanced(report, conn, table, before, expected)
            _assert_within_limits(conn, table)
            return report
        finally:
            trans.rollback()


def _some(count: int) -> str:
    return "some" if count else "none"


def _gist(error: GcrmError, path: Path) -> str:
    """The kind of an error message: its words after the file name, up to the first digit."""
    after = str(error).split(str(path), 1)[-1].lstrip("': ")
    return after.split(";")[0][:40].rstrip("0123456789 ")


def _assert_within_limits(conn: Connection, table: str) -> None:
    columns = {
        r[0]
        for r in conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gcrm' "
                "AND table_name = :t AND data_type = 'text'"
            ),
            {"t": table.split(".")[1]},
        )
    }
    checked = sorted(columns & set(FIELD_LIMITS))
    longest = conn.execute(
        text(
            "SELECT "
            + ", ".join(f'coalesce(max(length("{c}")), 0) AS "{c}"' for c in checked)
            + f" FROM {table}"
        )
    ).one()
    for column, length in zip(checked, longest, strict=True):
        assert length <= FIELD_LIMITS[column], (column, length)


@HOSTILE
@given(file=table_files(CUSTOMER_COLUMNS, required=CUSTOMER_COLUMNS[:2] + CUSTOMER_COLUMNS[4:11]))
def test_customer_files(hostile_engine: Engine, file: TableFile) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = file.write(Path(folder), "customers")
        _attempt(
            hostile_engine, import_customers, path, "gcrm.customer_records", file.expected_rows
        )


@HOSTILE
@given(file=table_files(ORDER_COLUMNS, required=ORDER_COLUMNS[:4]))
def test_order_files(hostile_engine: Engine, file: TableFile) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = file.write(Path(folder), "orders")
        _attempt(hostile_engine, import_orders, path, "gcrm.orders", file.expected_rows)


@HOSTILE
@given(data=st.data(), kind=st.sampled_from(["zones", "leads", "roads"]))
def test_layer_files(hostile_engine: Engine, data: st.DataObject, kind: str) -> None:
    spec = LAYERS[kind]
    assert spec.family is not None
    file: LayerFile = data.draw(layer_files(tuple(spec.columns), spec.family), label="file")
    with tempfile.TemporaryDirectory() as folder:
        path = file.write(Path(folder), kind)

        def importer(conn: Connection, path: Path) -> ImportReport:
            return import_layer(conn, kind, path)

        _attempt(hostile_engine, importer, path, spec.table, file.expected_rows)
