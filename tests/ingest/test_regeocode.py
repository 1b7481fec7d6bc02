"""``gcrm geocode --customers``: stored customers geocoded again after a better reference,
batch by batch, one transaction each, with a report of who moved from which precision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.ingest import import_addresses, import_customers, parse_where, regeocode_customers
from gcrm.store import create_db_engine
from tests.databases import new_database
from tests.ingest.committed import REFERENCE

# The first reference has two of the eight addresses.
PARTIAL = "\n".join(REFERENCE.splitlines()[:2] + REFERENCE.splitlines()[3:4]) + "\n"
CUSTOMERS = """customer_id,name,street,house_number,postcode,city,segment,status,signup_date
C1,Aino,Mannerheimintie,10,00100,Helsinki,retail,active,2024-01-01
C2,Eero,Bulevardi,2,00120,Helsinki,retail,active,2024-01-01
C3,Liisa,Yrjönkatu,3b,00120,Helsinki,retail,active,2024-01-01
C4,Ville,Tuntematonkatu,99,00170,Helsinki,retail,active,2024-01-01
C5,Sanna,,,,,retail,active,2024-01-01
"""


@pytest.fixture
def placed_poorly(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """Customers geocoded against a reference of two addresses, then the full reference
    imported; committed in a database of their own."""
    partial = tmp_path / "partial.csv"
    partial.write_text(PARTIAL, encoding="utf-8")
    full = tmp_path / "full.csv"
    full.write_text(REFERENCE, encoding="utf-8")
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                import_addresses(conn, partial)
                import_customers(conn, customers)
            with engine.begin() as conn:
                import_addresses(conn, full)
            yield engine, Settings(database_url=url, data_dir=tmp_path / "data")
        finally:
            engine.dispose()


def _precisions(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT external_id, geocode_precision FROM gcrm.customers ORDER BY 1")
        )
        return dict(rows.all())


def test_customers_placed_poorly_move_to_better_precisions(
    placed_poorly: tuple[Engine, Settings],
) -> None:
    engine, _ = placed_poorly
    assert _precisions(engine) == {
        "C1": "rooftop",
        "C2": "locality",
        "C3": "locality",
        "C4": "locality",
        "C5": "none",
    }
    with engine.connect() as conn:
        c1_before = conn.execute(
            text("SELECT updated_at FROM gcrm.customer_records WHERE external_id = 'C1'")
        ).scalar_one()
    committed: list[dict[str, str]] = []
    totals: list[int] = []
    report = regeocode_customers(
        engine,
        precisions=("street", "postcode", "locality"),
        batch_size=2,
        on_start=totals.append,
        # Each batch is committed when it is reported: another connection sees it.
        on_batch=lambda n: committed.append(_precisions(engine)),
    )
    assert totals == [3]
    assert (report.considered, report.changed, report.moved, report.batches) == (3, 3, 3, 2)
    assert report.transitions == {("locality", "rooftop"): 2, ("locality", "postcode"): 1}
    assert [c["C2"] for c in committed] == ["rooftop", "rooftop"]
    assert [c["C4"] for c in committed] == ["locality", "postcode"]
    assert _precisions(engine) == {
        "C1": "rooftop",
        "C2": "rooftop",
        "C3": "rooftop",
        "C4": "postcode",
        "C5": "none",
    }
    with engine.connect() as conn:
        c1_after = conn.execute(
            text("SELECT updated_at FROM gcrm.customer_records WHERE external_id = 'C1'")
        ).scalar_one()
        logged = conn.execute(
            text("SELECT kind, rows_read, updated FROM gcrm.import_runs ORDER BY id DESC LIMIT 1")
        ).one()
    assert c1_after == c1_before  # not chosen, not touched
    assert tuple(logged) == ("customers-geocode", 3, 3)
    summary = report.summary()
    assert "3 changed, 3 moved" in summary
    assert "locality -> rooftop" in summary and "(better)" in summary

    again = regeocode_customers(engine, precisions=("postcode",))
    assert (again.considered, again.changed, again.moved) == (1, 0, 0)
    assert again.transitions == {("postcode", "postcode"): 1}


def test_every_customer_without_a_filter(placed_poorly: tuple[Engine, Settings]) -> None:
    engine, _ = placed_poorly
    report = regeocode_customers(engine, batch_size=100)
    assert (report.considered, report.batches) == (5, 1)
    assert report.transitions[("none", "none")] == 1
    assert report.transitions[("rooftop", "rooftop")] == 1


def test_where_names_the_fix() -> None:
    assert parse_where(()) is None
    assert parse_where(("precision=street,postcode", "precision=Locality")) == (
        "street",
        "postcode",
        "locality",
    )
    with pytest.raises(ValidationError, match="chosen by precision only"):
        parse_where(("segment=retail",))
    with pytest.raises(ValidationError, match="'roof'"):
        parse_where(("precision=roof",))


def _gcrm(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_reports_moves_by_precision(
    placed_poorly: tuple[Engine, Settings], tmp_path: Path
) -> None:
    engine, settings = placed_poorly
    result = _gcrm(settings, "geocode", "--customers", "--where", "precision=locality")
    assert result.exit_code == 0, result.output
    assert "3 customers (placed at locality)" in result.output
    assert "3 changed, 3 moved" in result.output
    assert "gcrm enrich" in result.output
    assert _precisions(engine)["C4"] == "postcode"
    file = tmp_path / "in.csv"
    file.write_text("address\nBulevardi 2\n", encoding="utf-8")
    mixed = _gcrm(settings, "geocode", "--customers", str(file))
    assert mixed.exit_code == 2 and "IN do not apply" in mixed.output
    stray = _gcrm(
        settings, "geocode", str(file), "-o", str(tmp_path / "o.csv"), "--where", "precision=street"
    )
    assert stray.exit_code == 1 and "add --customers" in str(stray.exception)
    nothing = _gcrm(settings, "geocode")
    assert (
        nothing.exit_code == 2 and "--customers to geocode the stored customers" in nothing.output
    )
