"""The command line for a user (``gcrm --as USER``): every export, report, map and cube slice
holds their scope only; roles limit what they may run; commands that change data refuse.

Over the tiny region of tests/maps/seed.py: anna manages D01 (customers C1, C2; lead L1),
bert manages D02 (C3; L2). Each expectation is also read independently in SQL as the owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from gcrm.access import add_user
from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.store import create_db_engine

SCOPES = {"anna": "D01", "bert": "D02"}


@pytest.fixture(scope="module")
def owner(seeded: Settings) -> Iterator[Engine]:
    engine = create_db_engine(seeded.database_url)
    with engine.begin() as conn:
        for name, district in SCOPES.items():
            add_user(conn, name, role="manager", scopes=[f"district:{district}"])
        add_user(conn, "vic", role="viewer", scopes=["district:D01"])
        add_user(conn, "pia", role="prospector", scopes=["district:D01"])
    yield engine
    engine.dispose()


def _run(seeded: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


def _owner_ids(owner: Engine, sql: str, district: str) -> list[str]:
    """What the owner reads in SQL for one district (no row-level security involved)."""
    with owner.connect() as conn:
        return sorted(conn.execute(text(sql), {"d": district}).scalars())


CUSTOMERS_SQL = (
    "SELECT external_id FROM gcrm.customer_enrichment WHERE area_codes->>'district' = :d"
)
LEADS_SQL = "SELECT external_id FROM gcrm.lead_enrichment WHERE area_codes->>'district' = :d"


@pytest.mark.parametrize("name", list(SCOPES))
def test_customer_and_lead_exports_hold_the_users_scope(
    seeded: Settings, owner: Engine, tmp_path: Path, name: str
) -> None:
    district = SCOPES[name]
    out = tmp_path / f"{name}-customers.csv"
    done = _run(seeded, "--as", name, "customers", "export", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert sorted(pd.read_csv(out)["external_id"]) == _owner_ids(owner, CUSTOMERS_SQL, district)
    leads_out = tmp_path / f"{name}-leads.csv"
    done = _run(seeded, "--as", name, "leads", "export", "-o", str(leads_out))
    assert done.exit_code == 0, done.output
    assert sorted(pd.read_csv(leads_out)["external_id"]) == _owner_ids(owner, LEADS_SQL, district)
    near_out = tmp_path / f"{name}-near.csv"
    done = _run(
        seeded, "--as", name, "leads", "near", "--lon", "24.94", "--lat", "60.165",
        "--radius-m", "5000", "-o", str(near_out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert sorted(pd.read_csv(near_out)["external_id"]) == _owner_ids(owner, LEADS_SQL, district)
    with owner.connect() as conn:
        audited = conn.execute(
            text("SELECT action, rows FROM gcrm.audit_log WHERE actor = :a ORDER BY id"),
            {"a": name},
        ).all()
    assert [tuple(r) for r in audited] == [
        ("customers export", len(_owner_ids(owner, CUSTOMERS_SQL, district))),
        ("leads export", 1),
        ("leads near", 1),
    ]


def test_territory_report_map_cube_and_profiles_total_the_scope(
    seeded: Settings, owner: Engine, tmp_path: Path
) -> None:
    done = _run(seeded, "--as", "anna", "territories", "report", "--level", "district",
                "-o", str(tmp_path / "report"))  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = pd.read_excel(next((tmp_path / "report").glob("*.xlsx")), sheet_name="Summary")
    assert list(summary["code"]) == ["D01", "Total"]
    html = next((tmp_path / "report").glob("*.html")).read_text()
    assert "Aino Active" in html and "Cafe Corp" not in html and "Kluuvi" not in html

    page = tmp_path / "anna.html"
    done = _run(seeded, "--as", "anna", "map", "--measure", "customers", "-o", str(page))
    assert done.exit_code == 0, done.output
    assert "Kamppi" in page.read_text() and "Kluuvi" not in page.read_text()

    shown = _run(seeded, "--as", "bert", "cube", "show", "--measure", "revenue")
    assert shown.exit_code == 0, shown.output
    with owner.connect() as conn:
        bert_revenue = conn.execute(
            text("SELECT sum(amount) FROM gcrm.orders WHERE customer_external_id = 'C3'")
        ).scalar_one()
    assert "district:D02" in shown.output and "district:D01" not in shown.output
    shown_revenue = float(shown.output.splitlines()[-1].split()[-1].replace(",", ""))
    assert shown_revenue == pytest.approx(float(bert_revenue), abs=1)  # printed as an integer

    profiles = tmp_path / "bert.csv"
    done = _run(seeded, "--as", "bert", "profiles", "--level", "district", "-o", str(profiles))
    assert done.exit_code == 0, done.output
    table = pd.read_csv(profiles)
    assert list(table["code"]) == ["D02"] and list(table["customers"]) == [1]


def test_roles_limit_what_a_user_may_run(seeded: Settings, owner: Engine, tmp_path: Path) -> None:
    refused = _run(seeded, "--as", "vic", "customers", "export", "-o", str(tmp_path / "v.csv"))
    assert refused.exit_code == 2
    assert "role viewer may not use customers one by one" in refused.output
    assert not (tmp_path / "v.csv").exists()
    refused = _run(seeded, "--as", "pia", "territories", "report", "--level", "district")
    assert (
        refused.exit_code == 2 and "role prospector may not use territory reports" in refused.output
    )
    allowed = _run(seeded, "--as", "pia", "leads", "export", "-o", str(tmp_path / "p.csv"))
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize(
    "command",
    [["enrich"], ["cube", "build"], ["customers", "forget", "C1", "--yes"], ["users", "list"]],
    ids=lambda c: " ".join(c),
)
def test_commands_that_change_data_refuse_as(
    seeded: Settings, owner: Engine, command: list[str]
) -> None:
    refused = _run(seeded, "--as", "anna", *command)
    assert refused.exit_code == 2, refused.output
    assert "runs as the operator only; drop --as" in refused.output
    # The refusal names the commands that do take --as, the campaigns' among them.
    assert "campaigns export, campaigns list" in refused.output
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM gcrm.customer_records")).scalar() == 4


def test_cube_build_builds_every_users_scope(seeded: Settings, owner: Engine) -> None:
    done = _run(seeded, "cube", "build")
    assert done.exit_code == 0, done.output
    # anna, vic and pia share district D01; bert has D02.
    assert "scope cubes: 2 built, 0 already fresh, 0 scopes without customers" in done.output
    full = seeded.cube_path.stat().st_mtime
    scoped = sorted((seeded.data_dir / "cubes").glob("*.zarr"))
    assert len(scoped) == 2 and all(p.stat().st_mtime >= full for p in scoped)
