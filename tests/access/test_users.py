"""Users, passwords with lock-out, API tokens, the audit log, and forgetting a customer."""

from __future__ import annotations

import pytest
import xarray as xr
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gcrm.access import (
    MAX_FAILED_LOGINS,
    LoginFailed,
    act_as,
    add_user,
    authenticate,
    create_token,
    disable_user,
    grant,
    list_tokens,
    list_users,
    principal_by_name,
    principal_of_token,
    read_audit,
    record_access,
    revoke,
    revoke_token,
    set_password,
)
from gcrm.cli import cli
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.privacy import forget_customer
from gcrm.store import create_db_engine

PASSWORD = "correct horse battery"


def test_add_user_checks_role_scope_name_and_password(conn: Connection, region: xr.Dataset) -> None:
    add_user(conn, "anna", role="manager", scopes=["district:D01"], password=PASSWORD)
    anna = principal_by_name(conn, "anna")
    assert (anna.role, anna.all_areas, anna.scopes) == ("manager", False, (("district", "D01"),))
    assert anna.can("read_customers") and not anna.can("administer")
    with pytest.raises(ValidationError, match="user 'anna' exists"):
        add_user(conn, "anna", role="viewer", scopes=["all"])
    with pytest.raises(ValidationError, match="role 'boss' unknown"):
        add_user(conn, "bob", role="boss", scopes=["all"])
    with pytest.raises(ValidationError, match=r"\['district:D99'\] are not areas"):
        add_user(conn, "bob", role="viewer", scopes=["district:D99"])
    with pytest.raises(ValidationError, match="give the user a scope"):
        add_user(conn, "bob", role="viewer")
    with pytest.raises(ValidationError, match="at least 10"):
        add_user(conn, "bob", role="viewer", scopes=["all"], password="short")
    with pytest.raises(ValidationError, match="not allowed"):
        add_user(conn, "bob smith", role="viewer", scopes=["all"])
    stored = conn.execute(text("SELECT password_hash FROM gcrm.users WHERE name = 'anna'")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_grant_revoke_and_scope_keys(conn: Connection, region: xr.Dataset) -> None:
    add_user(conn, "anna", role="manager", scopes=["district:D01"])
    add_user(conn, "bert", role="manager", scopes=["district:D01"])
    assert principal_by_name(conn, "anna").scope_key == principal_by_name(conn, "bert").scope_key
    grant(conn, "anna", ["district:D02"])
    assert set(principal_by_name(conn, "anna").scopes) == {("district", "D01"), ("district", "D02")}
    revoke(conn, "anna", ["district:D01"])
    grant(conn, "bert", ["all"])
    assert principal_by_name(conn, "bert").scope_key == "all"
    table = list_users(conn).set_index("name")
    assert table.loc["anna", "scope"] == "district:D02" and table.loc["bert", "scope"] == "all"


def test_login_locks_after_repeated_failures(conn: Connection, region: xr.Dataset) -> None:
    add_user(conn, "anna", role="viewer", scopes=["all"], password=PASSWORD)
    assert authenticate(conn, "anna", PASSWORD).name == "anna"
    with pytest.raises(LoginFailed, match="wrong user name or password"):
        authenticate(conn, "nobody", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginFailed, match="wrong user name or password"):
            authenticate(conn, "anna", "guess guess guess")
    with pytest.raises(LoginFailed, match="locked"):
        authenticate(conn, "anna", PASSWORD)  # even the right password, while locked
    set_password(conn, "anna", "another good passphrase")  # an admin lifts the lock
    assert authenticate(conn, "anna", "another good passphrase").name == "anna"
    disable_user(conn, "anna")
    with pytest.raises(LoginFailed):
        authenticate(conn, "anna", "another good passphrase")


def test_tokens_are_hashed_expire_and_revoke(conn: Connection, region: xr.Dataset) -> None:
    add_user(conn, "anna", role="prospector", scopes=["district:D01"])
    token = create_token(conn, "anna", name="phone", expires_days=30)
    assert token.startswith("gcrm_") and len(token) > 40
    assert not conn.execute(
        text("SELECT count(*) FROM gcrm.api_tokens WHERE token_hash = convert_to(:t, 'UTF8')"),
        {"t": token},
    ).scalar()
    principal = principal_of_token(conn, token)
    assert principal is not None and principal.name == "anna"
    assert principal_of_token(conn, token[:-1] + "x") is None
    assert principal_of_token(conn, "not-a-token") is None
    listed = list_tokens(conn, user_name="anna")
    assert list(listed["name"]) == ["phone"] and token not in listed.to_string()
    conn.execute(text("UPDATE gcrm.api_tokens SET expires_at = now() - interval '1 day'"))
    assert principal_of_token(conn, token) is None
    other = create_token(conn, "anna", expires_days=None)
    revoke_token(conn, other[:11])
    assert principal_of_token(conn, other) is None
    with pytest.raises(NotFoundError, match="no active token"):
        revoke_token(conn, other[:11])
    with pytest.raises(ValidationError, match="at least 1"):
        create_token(conn, "anna", expires_days=0)


def test_audit_names_the_principal(conn: Connection, region: xr.Dataset) -> None:
    # Other tests of the session commit audit records (the API's); start from none.
    conn.execute(text("DELETE FROM gcrm.audit_log"))
    add_user(conn, "anna", role="manager", scopes=["district:D01"])
    record_access(conn, action="cli test", rows=3, fields=["name"])
    with act_as(principal_by_name(conn, "anna")):
        record_access(conn, action="GET /api/customers", rows=2, fields=["name", "street"])
    log = read_audit(conn)
    assert list(log["actor"])[0] == "anna" and list(log["actor"])[1].startswith("cli:")
    assert list(log["rows"]) == [2, 3] and list(log["fields"][0]) == ["name", "street"]
    assert list(read_audit(conn, actor="anna")["action"]) == ["GET /api/customers"]


def test_forget_removes_every_trace(conn: Connection, region: xr.Dataset) -> None:
    conn.execute(
        text(
            "UPDATE gcrm.customer_records SET street = 'Bulevardi', housenumber = '2', "
            "postcode = '00120', city = 'Helsinki' WHERE external_id = 'C1'"
        )
    )
    conn.execute(
        text(
            "INSERT INTO gcrm.geocode_cache (input_key, lon, lat, precision, score, source) "
            "VALUES ('bulevardi|2||00120|helsinki', 24.9, 60.1, 'rooftop', 1, 'reference:exact'), "
            "('geopy:nominatim|bulevardi|2||00120|helsinki', 24.9, 60.1, 'rooftop', 0.8, 'x'), "
            "('other|1||00100|helsinki', 24.9, 60.1, 'rooftop', 1, 'reference:exact')"
        )
    )
    gone = forget_customer(conn, "C1")
    assert (gone.orders, gone.enrichment_rows, gone.cache_entries) == (2, 1, 2)
    for table, column in (
        ("customer_records", "external_id"),
        ("customer_enrichment", "external_id"),
        ("orders", "customer_external_id"),
    ):
        left = conn.execute(text(f"SELECT count(*) FROM gcrm.{table} WHERE {column} = 'C1'"))
        assert left.scalar() == 0, table
    assert conn.execute(text("SELECT count(*) FROM gcrm.geocode_cache")).scalar() == 1
    assert read_audit(conn).iloc[0]["action"] == "customers forget"
    assert read_audit(conn).iloc[0]["target"] == "C1"
    with pytest.raises(NotFoundError, match="customer 'C1' not found"):
        forget_customer(conn, "C1")


def test_cli_users_tokens_audit_and_as(seeded: Settings) -> None:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    run = CliRunner().invoke
    added = run(
        cli,
        [
            "users",
            "add",
            "cleo",
            "--role",
            "manager",
            "--scope",
            "district:D02",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    token = run(cli, ["tokens", "create", "cleo", "--expires-days", "7"], env=env)
    assert token.exit_code == 0 and token.output.strip().splitlines()[-1].startswith("gcrm_")
    listing = run(cli, ["users", "list"], env=env).output
    assert "cleo" in listing and "district:D02" in listing
    assert "manager" in run(cli, ["users", "--help"], env=env).output
    out = seeded.data_dir / "cleo.csv"
    exported = run(cli, ["--as", "cleo", "customers", "export", "-o", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    assert out.read_text().count("\n") == 2  # header + C3, the one customer of D02
    audit = run(cli, ["audit", "--actor", "cleo"], env=env)
    assert "customers export" in audit.output
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.users WHERE name = 'cleo'"))
    finally:
        engine.dispose()
