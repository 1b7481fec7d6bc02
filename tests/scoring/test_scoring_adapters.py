"""The lead score from the outside: the CLI, the API under a user's scope, and exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text

from gcrm.access import add_user, create_token
from gcrm.api.models import LeadScore
from gcrm.cli import cli
from gcrm.core import Settings
from gcrm.leads import export_leads, find_leads_within, with_scores
from gcrm.scoring import score_leads
from gcrm.store import create_db_engine
from tests.api.conftest import bearer, make_secure_client
from tests.databases import new_database
from tests.scoring.seed import Planted, seed_planted


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Planted]]:
    """A committed database with the planted region, scored, and two users of D01."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                planted = seed_planted(conn)
                add_user(conn, "anna", role="manager", scopes=["district:D01"])
                add_user(conn, "vera", role="viewer", scopes=["district:D01"])
            score_leads(engine, seed=0)
        finally:
            engine.dispose()
        yield Settings(database_url=url, data_dir=tmp_path_factory.mktemp("data")), planted


@pytest.fixture(scope="module")
def secure(scored: tuple[Settings, Planted]) -> FlaskClient:
    return make_secure_client(scored[0])


def _token(settings: Settings, name: str) -> dict[str, str]:
    engine = create_db_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            return bearer(create_token(conn, name, name="test"))
    finally:
        engine.dispose()


def _lead(planted: Planted, district: str) -> str:
    b = planted.businesses
    return str(b.loc[(b["kind"] == "lead") & (b["district"] == district), "id"].iloc[0])


def test_api_answers_a_lead_score_in_scope(
    scored: tuple[Settings, Planted], secure: FlaskClient
) -> None:
    settings, planted = scored
    anna = _token(settings, "anna")
    mine = secure.get(f"/api/leads/{_lead(planted, 'D01')}/score", headers=anna)
    assert mine.status_code == 200, mine.get_data(as_text=True)
    body = LeadScore.model_validate(mine.get_json())
    assert body.external_id == _lead(planted, "D01") and 1 <= len(body.reasons) <= 3
    assert body.run.backtest is not None and set(body.run.backtest.baselines) == {
        "random",
        "distance",
    }
    # A lead outside her district is not found, exactly like a lead that does not exist.
    other = secure.get(f"/api/leads/{_lead(planted, 'D02')}/score", headers=anna)
    missing = secure.get("/api/leads/nobody/score", headers=anna)
    assert other.status_code == missing.status_code == 404
    assert set(other.get_json()) == {"error", "status"}
    assert "has no score" in other.get_json()["error"]
    # Ids of OpenStreetMap leads hold a slash (osm:node/123): the route still answers.
    osm = secure.get("/api/leads/osm:node/1/score", headers=anna)
    assert osm.status_code == 404 and "'osm:node/1' has no score" in osm.get_json()["error"]
    # A viewer may not read leads at all.
    viewer = secure.get(
        f"/api/leads/{_lead(planted, 'D01')}/score", headers=_token(settings, "vera")
    )
    assert viewer.status_code == 403


def test_export_carries_score_and_reasons_in_one_column(
    scored: tuple[Settings, Planted], tmp_path: Path
) -> None:
    settings, _ = scored
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            found = find_leads_within(conn, area="district:D01", limit=20)
            bare = found.drop(columns=["score", "percentile", "reasons"], errors="ignore")
            scored_frame = with_scores(conn, bare)
    finally:
        engine.dispose()
    for frame, name in ((found, "search.csv"), (scored_frame, "with_scores.csv")):
        written = pd.read_csv(export_leads(frame, tmp_path / name))
        assert {"score", "percentile", "reasons"} <= set(written.columns)
        assert written["score"].between(0, 1).all()
        assert written["reasons"].str.count("; ").between(0, 2).all()
        assert not written["reasons"].str.contains(r"\[|\{", regex=True).any()
    by_id = pd.read_csv(tmp_path / "with_scores.csv").set_index("external_id")
    first = str(found["external_id"].iloc[0])
    assert (
        by_id.loc[first, "reasons"]
        == pd.read_csv(tmp_path / "search.csv").set_index("external_id").loc[first, "reasons"]
    )


def test_export_without_scores_has_no_score_columns(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"external_id": ["L1"], "name": ["x"], "score": [None], "percentile": [None]},
        geometry=gpd.points_from_xy([24.9], [60.1]),
        crs="EPSG:4326",
    ).assign(reasons=[None])
    written = pd.read_csv(export_leads(frame, tmp_path / "leads.csv"))
    assert not {"score", "percentile", "reasons"} & set(written.columns)


def test_cli_backtest_prints_and_writes_json(
    scored: tuple[Settings, Planted], tmp_path: Path
) -> None:
    settings, _ = scored
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    out = tmp_path / "bt" / "backtest.json"
    result = CliRunner().invoke(cli, ["leads", "score", "--backtest", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert {"auc", "recall_top10", "precision_top10", "baselines"} <= set(figures)
    assert set(figures["baselines"]) == {"random", "distance"}
    lines = result.output.splitlines()
    model_row = next(line for line in lines if line.startswith("model "))
    assert f"{figures['auc']:.3f}" in model_row
    assert any(line.startswith("distance ") for line in lines)
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(
                text("SELECT rows_scored FROM gcrm.score_runs ORDER BY id DESC LIMIT 1")
            ).scalar()
    finally:
        engine.dispose()
    assert runs == 0  # a backtest alone scores nothing


def test_cli_score_prints_the_best_leads_and_the_backtest(
    scored: tuple[Settings, Planted],
) -> None:
    settings, planted = scored
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["leads", "score"], env=env)
    assert result.exit_code == 0, result.output
    leads = int((planted.businesses["kind"] == "lead").sum())
    assert f"scored {leads} leads" in result.output
    assert "customers who signed up after 2024-12-31 hidden among" in result.output
    assert "x as common among SMB/corporate customers as among leads" in result.output
