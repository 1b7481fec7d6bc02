"""Row-level security: two managers of two districts never see each other's rows, through
the application's engine and through direct SQL as a role subject to RLS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from gcrm.access import Principal, act_as, add_user, disable_user, principal_by_name, scoped_engine
from gcrm.core import Settings
from gcrm.cube import build_region_cube
from gcrm.store import create_db_engine

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def owner(seeded: Settings) -> Iterator[Engine]:
    engine = create_db_engine(seeded.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def people(owner: Engine) -> dict[str, Principal]:
    """anna manages D01, bert D02, root sees all, gone is disabled (scope D01)."""
    with owner.begin() as conn:
        add_user(conn, "anna", role="manager", scopes=["district:D01"], password=PASSWORD)
        add_user(conn, "bert", role="manager", scopes=["district:D02"])
        add_user(conn, "root", role="admin", scopes=["all"])
        add_user(conn, "gone", role="viewer", scopes=["district:D01"])
    with owner.connect() as conn:
        found = {name: principal_by_name(conn, name) for name in ("anna", "bert", "root", "gone")}
    with owner.begin() as conn:
        disable_user(conn, "gone")
    return found


@pytest.fixture(scope="module")
def data(seeded: Settings) -> Iterator[Engine]:
    """The application's engine: every transaction under the current principal."""
    engine = scoped_engine(seeded.database_url)
    yield engine
    engine.dispose()


QUERIES = {
    "customers": "SELECT external_id FROM gcrm.customers ORDER BY 1",
    "records": "SELECT external_id FROM gcrm.customer_records ORDER BY 1",
    "orders": "SELECT order_id FROM gcrm.orders ORDER BY 1",
    "leads": "SELECT external_id FROM gcrm.leads ORDER BY 1",
    "areas": "SELECT code FROM gcrm.areas ORDER BY 1",
    "stats": "SELECT DISTINCT code FROM gcrm.area_stats ORDER BY 1",
}
EXPECTED = {
    "anna": {
        "customers": ["C1", "C2"],
        "records": ["C1", "C2"],
        "orders": ["O1", "O2", "O3"],
        "leads": ["L1"],
        "areas": ["D01"],
        "stats": ["D01"],
    },
    "bert": {
        "customers": ["C3"],
        "records": ["C3"],
        "orders": ["O4", "O5"],
        "leads": ["L2"],
        "areas": ["D02"],
        "stats": ["D02"],
    },
    # Every row, the unplaced customer C4 too.
    "root": {
        "customers": ["C1", "C2", "C3", "C4"],
        "records": ["C1", "C2", "C3", "C4"],
        "orders": ["O1", "O2", "O3", "O4", "O5"],
        "leads": ["L1", "L2"],
        "areas": ["D01", "D02"],
        "stats": ["D01", "D02"],
    },
    "gone": dict.fromkeys(QUERIES, []),
}


def _read(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {name: list(conn.execute(text(sql)).scalars()) for name, sql in QUERIES.items()}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_user_sees_their_scope_only(
    data: Engine, people: dict[str, Principal], name: str
) -> None:
    with act_as(people[name]):
        assert _read(data) == EXPECTED[name]


def test_no_principal_sees_nothing(data: Engine, people: dict[str, Principal]) -> None:
    with act_as(None):
        assert _read(data) == dict.fromkeys(QUERIES, [])


def test_the_owner_sees_everything_and_is_not_restricted(
    owner: Engine, people: dict[str, Principal]
) -> None:
    assert _read(owner) == EXPECTED["root"]


def test_a_scoped_cube_totals_its_scope(data: Engine, people: dict[str, Principal]) -> None:
    with act_as(people["anna"]), data.connect() as conn:
        cube = build_region_cube(conn)
    assert list(cube["area"].values) == ["district:D01"]
    assert int(cube["customers"].isel(month=-1).sum()) == 2
    assert float(cube["revenue"].sum()) == pytest.approx(220.0)
    assert float(cube["population"].sum()) == 1000.0


@pytest.fixture(scope="module")
def login_url(seeded: Settings, owner: Engine) -> Iterator[str]:
    """A login role of its own, member of gcrm_app: how a production server connects."""
    role = f"gcrm_test_login_{uuid.uuid4().hex[:8]}"
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE gcrm_app")
    url = make_url(seeded.database_url).set(username=role, password=f"pw-{role}")
    yield url.render_as_string(hide_password=False)
    with owner.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {role}")
        conn.exec_driver_sql(f"DROP ROLE {role}")


def test_rls_alone_through_direct_sql(login_url: str, people: dict[str, Principal]) -> None:
    """No Python filter at all: plain SQL as a login role member of gcrm_app."""
    engine = create_db_engine(login_url)
    try:
        with engine.connect() as conn:
            assert not conn.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
            assert list(conn.execute(text(QUERIES["customers"])).scalars()) == []
            conn.execute(
                text("SELECT set_config('gcrm.user_id', :id, false)"),
                {"id": str(people["bert"].user_id)},
            )
            assert list(conn.execute(text(QUERIES["customers"])).scalars()) == ["C3"]
            assert list(conn.execute(text(QUERIES["orders"])).scalars()) == ["O4", "O5"]
        for forbidden in (
            "SELECT * FROM gcrm.users",
            "SELECT * FROM gcrm.api_tokens",
            "UPDATE gcrm.customer_records SET name = 'x'",
            "DELETE FROM gcrm.orders",
            "ALTER TABLE gcrm.customer_records DISABLE ROW LEVEL SECURITY",
            "SET ROLE gcrm",
        ):
            with engine.connect() as conn, pytest.raises(ProgrammingError):
                conn.execute(text(forbidden))
        # Turning row security off is refused rather than silently showing every row.
        with engine.connect() as conn, pytest.raises(ProgrammingError):
            conn.execute(text("SET row_security = off"))
            conn.execute(text("SELECT * FROM gcrm.customer_records")).fetchall()
    finally:
        engine.dispose()


NEAREST = "SELECT external_id FROM gcrm.nearest_lead_ids(24.95, 60.165, 5000, 50, NULL, NULL)"


def test_nearest_leads_keep_to_the_scope(
    data: Engine, owner: Engine, login_url: str, people: dict[str, Principal]
) -> None:
    """The nearest-leads search (an owner's function, for the spatial index) applies the
    scope itself, and what it returns is read through row-level security anyway."""
    from gcrm.leads import find_nearby_leads

    for name, expected in (("anna", ["L1"]), ("bert", ["L2"]), ("root", ["L2", "L1"])):
        with act_as(people[name]), data.connect() as conn:
            found = find_nearby_leads(conn, lon=24.95, lat=60.165, radius_m=5000)
            assert list(found["external_id"]) == expected, name
            assert list(conn.execute(text(NEAREST)).scalars()) == expected, name
    with owner.connect() as conn:
        assert list(conn.execute(text(NEAREST)).scalars()) == ["L2", "L1"]
    # Direct SQL as a login role of the application: no user named, no lead; bert's, his.
    engine = create_db_engine(login_url)
    try:
        with engine.connect() as conn:
            assert list(conn.execute(text(NEAREST)).scalars()) == []
            conn.execute(
                text("SELECT set_config('gcrm.user_id', :id, false)"),
                {"id": str(people["bert"].user_id)},
            )
            assert list(conn.execute(text(NEAREST)).scalars()) == ["L2"]
    finally:
        engine.dispose()
