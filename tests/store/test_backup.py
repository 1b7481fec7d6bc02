"""`gcrm backup` / `gcrm restore`: a database round-trips exactly, rows and security.

The source holds a little of everything: areas, customers with their enrichment, orders,
leads, a branch, the address reference with its materialized views and the geocoder's
cache, users with scopes, an API token and the audit log. Its copy must hold the same rows
(count and md5 of every table, in order), the same row-level security, policies, grants and
views, and must still show a manager only their district.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from gcrm.access import APP_ROLE, add_user, create_token, record_access
from gcrm.cli import main
from gcrm.core import ValidationError
from gcrm.ingest import import_addresses, import_customers
from gcrm.store import (
    backup_database,
    create_db_engine,
    drop_database,
    head_revision,
    restore_database,
)
from tests.databases import new_database
from tests.faults.cluster import private_cluster
from tests.ingest.committed import write_reference
from tests.maps.seed import seed_region
from tests.store.snapshot import fingerprint, security


def _snapshot(url: str) -> tuple[dict[str, tuple[int, str]], dict[str, list[tuple[object, ...]]]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return fingerprint(conn), security(conn)
    finally:
        engine.dispose()


def _fill(conn: Connection, folder: Path) -> None:
    seed_region(conn)
    import_addresses(conn, write_reference(folder))
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,name,street,house_number,postcode,city,segment,status,signup_date\n"
        "X1,Aino,Mannerheimintie,10,00100,Helsinki,retail,active,2025-01-02\n"
        "X2,Eero,Fabianinkatu,5,00130,Helsinki,retail,active,2025-01-03\n",
        encoding="utf-8",
    )
    import_customers(conn, customers)
    add_user(conn, "anna", role="manager", scopes=["district:D01"], password="s3cret-Pass!")
    add_user(conn, "boss", role="admin", scopes=["all"])
    create_token(conn, "anna", expires_days=30)
    record_access(conn, action="customers export", rows=2, fields=["name"], target="x.csv")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A database with a little of everything, and its backup."""
    folder = tmp_path_factory.mktemp("backup")
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                _fill(conn, folder)
        finally:
            engine.dispose()
        summary = backup_database(url, folder / "gcrm.dump")
        assert summary.contents.rows["users"] == 2 and summary.bytes > 0
        yield url, summary.path


@pytest.fixture(scope="module")
def restored(source: tuple[str, Path]) -> Iterator[str]:
    """The backup restored into a new database of the same server (extensions created)."""
    with new_database(schema=False) as url:
        summary = restore_database(url, source[1], roles=(APP_ROLE,))
        assert summary.created_roles == ()  # cluster-wide: it exists already
        yield url


def test_every_table_round_trips_exactly(source: tuple[str, Path], restored: str) -> None:
    rows_before, _ = _snapshot(source[0])
    rows_after, _ = _snapshot(restored)
    assert rows_after == rows_before
    for table in ("users", "user_scopes", "api_tokens", "audit_log", "geocode_cache"):
        assert rows_after[table][0] > 0, table


def test_security_round_trips(source: tuple[str, Path], restored: str) -> None:
    _, before = _snapshot(source[0])
    _, after = _snapshot(restored)
    assert after == before
    assert after["secured tables"] == [
        ("area_stats",),
        ("areas",),
        ("campaign_members",),
        ("campaign_responses",),
        ("customer_enrichment",),
        ("customer_records",),
        ("customer_scores",),
        ("lead_enrichment",),
        ("lead_records",),
        ("lead_road_access",),
        ("lead_scores",),
        ("orders",),
    ]
    assert len(after["policies"]) == 12
    assert all("security_invoker=true" in (opts or "") for _, opts in after["view options"])


def _visible_to(engine: Engine, user: str) -> tuple[int, int]:
    """Customers and orders user ``user`` sees as the application role (RLS alone)."""
    with engine.connect() as conn, conn.begin():
        uid = conn.execute(text("SELECT id FROM gcrm.users WHERE name = :n"), {"n": user}).one()[0]
        conn.exec_driver_sql(f"SET LOCAL ROLE {APP_ROLE}")
        conn.execute(text("SELECT set_config('gcrm.user_id', :u, true)"), {"u": str(uid)})
        customers = conn.execute(text("SELECT count(*) FROM gcrm.customers")).scalar_one()
        orders = conn.execute(text("SELECT count(*) FROM gcrm.orders")).scalar_one()
    return int(customers), int(orders)


def test_row_level_security_still_filters(restored: str) -> None:
    """District D01 holds customers C1 and C2 and their three orders (tests/maps/seed.py)."""
    engine = create_db_engine(restored)
    try:
        assert _visible_to(engine, "anna") == (2, 3)
        assert _visible_to(engine, "boss") == (6, 5)
    finally:
        engine.dispose()


def test_a_database_that_is_not_empty_is_refused(source: tuple[str, Path], restored: str) -> None:
    before = _snapshot(restored)
    with pytest.raises(ValidationError, match=r"is not empty: it has \d+ tables.*--clean"):
        restore_database(restored, source[1], roles=(APP_ROLE,))
    assert _snapshot(restored) == before


def test_clean_restore_puts_back_what_changed(source: tuple[str, Path]) -> None:
    with new_database() as url:  # migrated, then changed: the backup replaces it
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO gcrm.area_levels VALUES ('x', NULL, 1, 'X', 'x')"))
        finally:
            engine.dispose()
        restore_database(url, source[1], clean=True, roles=(APP_ROLE,))
        assert _snapshot(url) == _snapshot(source[0])


def test_a_file_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gcrm.dump"
    path.write_text("customer_id,name\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="is not a gcrm backup .* make one with `gcrm backup"):
        restore_database("postgresql+psycopg://nobody@127.0.0.1:1/none", path)


def test_commands_teach_and_restore_creates_the_database(
    source: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dump = tmp_path / "copy.dump"
    monkeypatch.setenv("GCRM_DATABASE_URL", source[0])
    assert main(["backup", str(dump)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {dump}:" in out and f"schema gcrm at revision {head_revision()}" in out
    assert f"restore it with: gcrm restore {dump}" in out

    target = make_url(source[0]).set(database=make_url(source[0]).database + "_copy")
    target_url = target.render_as_string(hide_password=False)
    monkeypatch.setenv("GCRM_DATABASE_URL", target_url)
    try:
        assert main(["restore", str(dump)]) == 0
        out = capsys.readouterr().out
        assert f"created database {target.database!r}" in out
        assert "row-level security on 12 tables (12 policies)" in out
        assert main(["restore", str(dump)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not empty" in err and "--clean" in err
        assert _snapshot(target_url) == _snapshot(source[0])
    finally:
        drop_database(target_url)


@pytest.mark.slow
def test_restore_into_a_new_cluster_creates_the_application_role(
    source: tuple[str, Path],
) -> None:
    """A new server has no gcrm_app: the restore creates it (NOLOGIN), and the policies and
    grants that name it work."""
    with private_cluster() as cluster:
        url = cluster.url("gcrm")
        summary = restore_database(url, source[1], roles=(APP_ROLE,))
        assert summary.created_database and summary.created_roles == (APP_ROLE,)
        assert _snapshot(url) == _snapshot(source[0])
        engine = create_db_engine(url)
        try:
            assert _visible_to(engine, "anna") == (2, 3)
            with engine.connect() as conn:
                login = conn.execute(
                    text("SELECT rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                    {"r": APP_ROLE},
                ).one()
            assert tuple(login) == (False, False)
        finally:
            engine.dispose()
