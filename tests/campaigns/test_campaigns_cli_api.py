"""``gcrm campaigns`` and the API's campaign routes on a committed tiny region: the whole
round (create, export, responses, results) from the command line, then the routes in two
scopes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from gcrm.access import add_user, create_token
from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.store import create_db_engine
from tests.api.conftest import bearer, make_secure_client


def _run(settings: Settings, *args: str) -> Result:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture(scope="module")
def tokens(seeded: Settings) -> dict[str, dict[str, str]]:
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.begin() as conn:
            add_user(conn, "anna", role="manager", scopes=["district:D01"])
            add_user(conn, "pia", role="prospector", scopes=["district:D01"])
            return {name: bearer(create_token(conn, name, name="t")) for name in ("anna", "pia")}
    finally:
        engine.dispose()


def test_the_round_from_the_command_line(
    seeded: Settings, tokens: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    made = _run(
        seeded, "campaigns", "create", "tiny", "--kind", "customers", "--control", "0.25",
        "--seed", "3", "--start", "2025-01-01",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "3 targets, 1 controls, starts 2025-01-01" in made.output
    listed = _run(seeded, "campaigns", "list")
    assert "tiny" in listed.output and "customers" in listed.output
    out = tmp_path / "list.csv"
    exported = _run(seeded, "campaigns", "export", "tiny", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    targets = pd.read_csv(out, dtype=str)["external_id"].tolist()
    assert len(targets) == 3
    replies = tmp_path / "replies.csv"
    replies.write_text(f"external_id,responded_at\n{targets[0]},2025-02-01\nZZ,2025-02-01\n")
    loaded = _run(seeded, "campaigns", "responses", "tiny", str(replies))
    assert loaded.exit_code == 0, loaded.output
    assert "1 inserted, 0 updated, 0 unchanged, 1 rejected" in loaded.output
    shown = _run(seeded, "campaigns", "show", "tiny")
    assert "3 targets, 1 controls, 1 responded" in shown.output and "exported" in shown.output
    page = tmp_path / "results.html"
    results = _run(seeded, "campaigns", "results", "tiny", "--level", "district", "-o", str(page))
    assert results.exit_code == 0, results.output
    assert "all" in results.output and page.stat().st_size > 0
    # A prospector may not export customers' contacts; --as runs in the user's scope.
    refused = _run(seeded, "--as", "pia", "campaigns", "export", "tiny", "-o", str(out))
    assert refused.exit_code != 0 and "read_customers" not in refused.output
    assert "may not use customers one by one" in refused.output
    mine = tmp_path / "anna.csv"
    assert (
        _run(seeded, "--as", "anna", "campaigns", "export", "tiny", "-o", str(mine)).exit_code == 0
    )
    assert set(pd.read_csv(mine, dtype=str)["external_id"]) <= {"C1", "C2"}
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.connect() as conn:
            actors = (
                conn.execute(
                    text(
                        "SELECT actor FROM gcrm.audit_log WHERE action = 'campaigns export' ORDER BY id"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert actors[0].startswith("cli:") and actors[-1] == "anna"

    # The API, with login on: the list and the results of the caller's scope, no contacts.
    client = make_secure_client(seeded)
    listed_api = client.get("/api/campaigns", headers=tokens["anna"])
    assert listed_api.status_code == 200
    (row,) = listed_api.get_json()
    assert row["name"] == "tiny" and "email" not in row
    assert row["targets"] + row["controls"] == 2  # C1, C2 of D01
    answer = client.get(
        f"/api/campaigns/{row['id']}/results?level=district", headers=tokens["anna"]
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert [a["area"] for a in body["areas"]] == ["district:D01"]
    assert body["overall"]["area"] == "all" and body["campaign"] == "tiny"
    missing = client.get("/api/campaigns/nope/results?level=district", headers=tokens["anna"])
    assert missing.status_code == 404 and set(missing.get_json()) == {"error", "status"}
    bad = client.get(f"/api/campaigns/{row['id']}/results?level=nope", headers=tokens["anna"])
    assert bad.status_code == 400
