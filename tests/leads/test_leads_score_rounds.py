"""A drive-time search in score order reads the best scored leads in rounds (on the score
index) and the unscored after them by drive time: the same rows as sorting every reached
lead, on the demo region."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

import gcrm.leads.filtered as filtered
from gcrm.leads import Origin, drive_time_geojson, find_leads_by_drive_time

MINUTES = 4.0


def _origin(conn: Connection) -> Origin:
    lon, lat = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.branches ORDER BY code LIMIT 1")
    ).one()
    return Origin(float(lon), float(lat), "first branch", "coordinates")


@pytest.fixture
def reached(demo_conn: Connection) -> pd.DataFrame:
    """Every lead reached in MINUTES, a third of them scored (ties included), the rest not;
    with ``drive_time_s``, ``score`` and whether the lead is a customer already."""
    origin = _origin(demo_conn)
    every = find_leads_by_drive_time(
        demo_conn, origin, minutes=MINUTES, customers="include", limit=10_000
    )
    others = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, limit=10_000)
    assert len(every) > 60, "too few leads reached to need rounds"
    ids = every["external_id"].tolist()
    scored = ids[::3]
    # Scores in steps of 0.1: ties, which the order breaks by drive time, then id.
    scores = np.round(np.linspace(0.1, 0.9, len(scored)), 1)
    demo_conn.execute(text("DELETE FROM gcrm.lead_scores"))  # the demo run scored every lead
    run = demo_conn.execute(
        text("INSERT INTO gcrm.score_runs (kind, model) VALUES ('lead', 'test') RETURNING id")
    ).scalar_one()
    demo_conn.execute(
        text(
            "INSERT INTO gcrm.lead_scores (external_id, run_id, score, percentile) "
            "SELECT i, :run, s, s * 100 FROM unnest(CAST(:ids AS text[]), "
            "CAST(:scores AS float8[])) AS t (i, s)"
        ),
        {"run": run, "ids": scored, "scores": scores.tolist()},
    )
    frame = every[["external_id", "drive_time_s"]].copy()
    frame["score"] = frame["external_id"].map(dict(zip(scored, scores, strict=True)))
    frame["customer"] = ~frame["external_id"].isin(set(others["external_id"]))
    return frame


def _expected(reached: pd.DataFrame, *, min_score: float | None, customers: str) -> list[str]:
    keep = reached
    if min_score is not None:
        keep = keep[keep["score"] >= min_score]
    if customers == "exclude":
        keep = keep[~keep["customer"]]
    ordered = keep.assign(minus=-keep["score"]).sort_values(
        ["minus", "drive_time_s", "external_id"], na_position="last", kind="stable"
    )
    return ordered["external_id"].tolist()


@pytest.mark.parametrize("limit", [1, 5, 30, 10_000])
@pytest.mark.parametrize(
    "options",
    [
        {"sort": "score", "customers": "include"},
        {"sort": "score"},
        {"min_score": 0.5, "customers": "include"},
        {"min_score": 0.85},
    ],
)
def test_score_rounds_give_every_reached_lead_sorted(
    demo_conn: Connection,
    reached: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    options: dict[str, Any],
) -> None:
    origin = _origin(demo_conn)
    # Small rounds, so that a search needs several (score bounds, then drive-time rounds).
    monkeypatch.setattr(filtered, "_first_score_round", lambda limit, share: 1)
    monkeypatch.setattr(filtered, "_first_round", lambda state, limit: 2)
    kinds: list[str] = []
    read_rows = filtered.read_rows

    def counted(conn: Connection, kind: Any, params: Any, **kw: Any) -> Any:
        kinds.append(kind)
        return read_rows(conn, kind, params, **kw)

    monkeypatch.setattr(filtered, "read_rows", counted)
    found = find_leads_by_drive_time(demo_conn, origin, minutes=MINUTES, limit=limit, **options)
    expected = _expected(
        reached, min_score=options.get("min_score"), customers=options.get("customers", "exclude")
    )
    assert found["external_id"].tolist() == expected[:limit]
    assert set(kinds) == {"scored"}, "score order reads the scored statement only"
    if limit > 5:
        assert len(kinds) > 1, "small rounds: a long list needs more than one"
    body = drive_time_geojson(demo_conn, origin, minutes=MINUTES, limit=limit, **options).body
    features = json.loads(body)["features"]
    assert [f["properties"]["external_id"] for f in features] == expected[:limit]


def test_score_order_plans_for_its_values_and_sets_the_plan_mode_back(
    demo_conn: Connection, reached: pd.DataFrame
) -> None:
    origin = _origin(demo_conn)
    demo_conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    # psycopg prepares a statement run five times: run it more often than that.
    for _ in range(7):
        found = find_leads_by_drive_time(
            demo_conn, origin, minutes=MINUTES, sort="score", customers="include", limit=5
        )
        assert (
            found["external_id"].tolist()
            == _expected(reached, min_score=None, customers="include")[:5]
        )
    mode = demo_conn.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    assert mode == "force_generic_plan"
