"""Campaigns on a real PostGIS: selection, control group, cap, scope, the logged export,
responses with rejects, and the uplift figures of a crafted case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.access import read_audit
from gcrm.campaigns import (
    CONTACT_FIELDS,
    EXPORT_ACTION,
    OVERALL,
    RESULT_COLUMNS,
    campaign_results,
    create_campaign,
    export_campaign,
    import_responses,
    list_campaigns,
    read_campaign,
    uplift_interval,
    write_results,
)
from gcrm.core import NotFoundError, ValidationError
from gcrm.maps import external_references
from tests.campaigns.conftest import CROWD, manager_of, reading_as

START = dt.date(2025, 6, 1)


def _groups(conn: Connection, campaign_id: int) -> dict[str, str]:
    rows = conn.execute(
        text(
            "SELECT external_id, member_group FROM gcrm.campaign_members "
            "WHERE campaign_id = :c ORDER BY external_id"
        ),
        {"c": campaign_id},
    )
    return {r[0]: r[1] for r in rows}


def test_control_share_and_the_same_groups_for_the_same_seed(crowd: Connection) -> None:
    first = create_campaign(
        crowd, name="spring", kind="customers", segment=["SMB"], control_share=0.25, seed=7
    )
    again = create_campaign(
        crowd, name="spring again", kind="customers", segment=["smb"], control_share=0.25, seed=7
    )
    other = create_campaign(
        crowd, name="spring other", kind="customers", segment=["smb"], control_share=0.25, seed=8
    )
    members = sum(CROWD.values())
    assert (first.targets, first.controls) == (members - 50, 50)
    assert _groups(crowd, first.id) == _groups(crowd, again.id)
    assert _groups(crowd, first.id) != _groups(crowd, other.id)
    assert first.criteria == {"segment": ["smb"]} and first.status == "created"
    assert first.created_by.startswith("cli:")


def test_area_and_cap_keep_a_random_sample_or_the_best_scored(crowd: Connection) -> None:
    capped = create_campaign(
        crowd, name="d01", kind="customers", area=["district:D02"], cap=30, control_share=0.1
    )
    assert (capped.targets, capped.controls) == (27, 3)
    codes = (
        crowd.execute(
            text(
                "SELECT DISTINCT area_codes->>'district' FROM gcrm.campaign_members WHERE campaign_id = :c"
            ),
            {"c": capped.id},
        )
        .scalars()
        .all()
    )
    assert codes == ["D02"]
    best = create_campaign(
        crowd, name="best leads", kind="leads", min_score=0.2, rank_by_score=True, cap=10,
        control_share=0.2,
    )  # fmt: skip
    rows = crowd.execute(
        text(
            "SELECT external_id, rank, score FROM gcrm.campaign_members WHERE campaign_id = :c ORDER BY rank"
        ),
        {"c": best.id},
    ).all()
    assert [r.external_id for r in rows] == [f"M{i:03d}" for i in range(60, 50, -1)]
    assert [r.rank for r in rows] == list(range(1, 11))
    assert best.controls == 2
    # Without ranking, a cap samples: not simply the first ids.
    sample = create_campaign(crowd, name="sample", kind="leads", cap=10, seed=1)
    ids = sorted(_groups(crowd, sample.id))
    assert ids != [f"M{i:03d}" for i in range(1, 11)] and len(ids) == 10


def test_bad_options_name_the_fix(crowd: Connection) -> None:
    create_campaign(crowd, name="taken", kind="leads")
    cases = [
        ({"name": "taken", "kind": "leads"}, "is taken"),
        ({"name": "x", "kind": "prospects"}, "kind='prospects' unknown"),
        ({"name": "x", "kind": "leads", "control_share": 1.0}, "control_share=1.0"),
        ({"name": "x", "kind": "leads", "cap": 0}, "cap=0"),
        ({"name": "x", "kind": "leads", "segment": ["smb"]}, "segment and status select customers"),
        ({"name": "x", "kind": "leads", "area": ["district"]}, "LEVEL:CODE"),
        ({"name": "x", "kind": "customers", "area": ["district:NOPE"]}, "no customers match"),
        ({"name": "123", "kind": "leads"}, "only digits"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValidationError, match=message):
            create_campaign(crowd, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="campaigns are"):
        read_campaign(crowd, "missing")


def test_a_manager_sees_and_exports_only_the_members_of_their_scope(
    crowd: Connection, tmp_path: Path
) -> None:
    made = create_campaign(crowd, name="both", kind="customers", control_share=0.5, seed=2)
    anna = manager_of(crowd, "D02")
    with reading_as(crowd, anna):
        seen = read_campaign(crowd, "both")
        listed = list_campaigns(crowd)
        out = export_campaign(crowd, made.id, path=tmp_path / "mine.csv")
        results = campaign_results(crowd, "both", level="district")
    # D02: the crowd's 80 and C3 (C4 has no area, so only the owner sees it).
    assert seen.targets + seen.controls == CROWD["D02"] + 1
    assert int(listed.loc[0, "targets"] + listed.loc[0, "controls"]) == CROWD["D02"] + 1
    written = pd.read_csv(out, dtype=str)
    assert len(written) == seen.targets
    assert written["external_id"].str.match(r"^(K0(1[2-9]\d|200)|C3)$").all()
    assert list(results["area"]) == ["district:D02", OVERALL]
    owner = read_campaign(crowd, "both")
    assert owner.targets + owner.controls == sum(CROWD.values()) + 4


def test_the_export_writes_targets_only_and_is_logged(crowd: Connection, tmp_path: Path) -> None:
    made = create_campaign(crowd, name="mailing", kind="customers", control_share=0.2, seed=5)
    out = export_campaign(crowd, "mailing", path=tmp_path / "list.xlsx")
    written = pd.read_excel(out, dtype=str)
    assert list(written.columns) == list(CONTACT_FIELDS["customers"])
    groups = _groups(crowd, made.id)
    assert len(written) == made.targets
    assert {groups[i] for i in written["external_id"]} == {"target"}
    assert written["rank"].astype(int).is_monotonic_increasing
    log = read_audit(crowd, limit=1)
    assert log.loc[0, "action"] == EXPORT_ACTION
    assert log.loc[0, "rows"] == made.targets
    assert list(log.loc[0, "fields"]) == list(CONTACT_FIELDS["customers"])
    assert log.loc[0, "target"] == str(out) and log.loc[0, "actor"].startswith("cli:")
    assert log.loc[0, "detail"]["campaign"] == "mailing"
    assert read_campaign(crowd, made.id).status == "exported"
    with pytest.raises(ValidationError, match=r"\.csv, \.xlsx"):
        export_campaign(crowd, "mailing", path=tmp_path / "list.geojson")


def _members(conn: Connection, campaign_id: int, group: str, district: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT external_id FROM gcrm.campaign_members WHERE campaign_id = :c AND "
                "member_group = :g AND area_codes->>'district' = :d ORDER BY rank"
            ),
            {"c": campaign_id, "g": group, "d": district},
        ).scalars()
    )


def test_responses_reject_bad_rows_and_load_once(crowd: Connection, tmp_path: Path) -> None:
    made = create_campaign(crowd, name="replies", kind="customers", starts_on=START, seed=4)
    target = _members(crowd, made.id, "target", "D01")[0]
    control = _members(crowd, made.id, "control", "D01")[0]
    path = tmp_path / "replies.csv"
    path.write_text(
        "customer_id;date;outcome;value\n"
        f"{target};2025-06-03;Ordered;120,50\n"  # row 2: ok
        f"{control};4.6.2025;;\n"  # row 3: ok, outcome 'responded'
        "NOBODY;2025-06-03;ordered;\n"  # row 4: not a member
        f"{target};2025-13-01;ordered;\n"  # row 5: not a date
        f"{target};2025-05-31;ordered;\n"  # row 6: before the start
        f"{target};2025-06-05;ordered;-1\n"  # row 7: negative value
        f"{target};2025-06-03;ordered;99\n",  # row 8: duplicate of row 2
        encoding="utf-8",
    )
    report = import_responses(crowd, "replies", path)
    assert (report.rows_read, report.inserted, report.rejected) == (7, 2, 5)
    assert report.rows_read == report.loaded + report.rejected
    rejects = pd.read_csv(tmp_path / "replies.rejects.csv", dtype=str)
    reasons = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    assert "'NOBODY' is not a member of campaign 'replies'" in reasons[4]
    assert "is not a date" in reasons[5]
    assert "before the campaign started (2025-06-01)" in reasons[6]
    assert reasons[7] == "value is negative"
    assert "same member, date and outcome" in reasons[8]
    stored = crowd.execute(
        text("SELECT outcome, value FROM gcrm.campaign_responses ORDER BY outcome")
    ).all()
    assert [(o, None if v is None else float(v)) for o, v in stored] == [
        ("ordered", 120.5),
        ("responded", None),
    ]
    again = import_responses(crowd, made.id, path, rejects_path=tmp_path / "again.csv")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 5)
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\nx,y\n", encoding="utf-8")
    with pytest.raises(
        ValidationError, match=r"column\(s\) \['external_id', 'responded_at'\] missing"
    ):
        import_responses(crowd, made.id, bad)


def test_uplift_interval_matches_the_formula() -> None:
    uplift, low, high = uplift_interval(30, 100, 10, 100)
    half = 1.959964 * np.sqrt(0.3 * 0.7 / 100 + 0.1 * 0.9 / 100)
    assert float(uplift) == pytest.approx(0.2)
    assert (float(low), float(high)) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-6)
    empty = uplift_interval(np.array([1]), np.array([10]), np.array([0]), np.array([0]))
    assert np.isnan(empty).all()


def test_results_per_area_and_overall_on_a_crafted_case(crowd: Connection, tmp_path: Path) -> None:
    made = create_campaign(
        crowd, name="crafted", kind="customers", segment=["smb"], control_share=0.5, seed=11,
        starts_on=START,
    )  # fmt: skip
    t1 = _members(crowd, made.id, "target", "D01")
    c1 = _members(crowd, made.id, "control", "D01")
    t2 = _members(crowd, made.id, "target", "D02")
    c2 = _members(crowd, made.id, "control", "D02")
    responders = t1[:30] + c1[:6] + t2[:10] + c2[:10]
    lines = ["external_id,responded_at,outcome"]
    lines += [f"{i},2025-06-10,ordered" for i in responders]
    lines += [f"{i},2025-06-11,clicked" for i in t1[30:35]]  # only clicked: not ordered
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_responses(crowd, made.id, path).rejected == 0
    # Revenue since the start: 100 for each D01 target responder; one order before the start.
    crowd.execute(
        text(
            "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount) "
            "SELECT 'X' || i, id, DATE '2025-06-20', 100 FROM unnest(CAST(:ids AS text[])) "
            "WITH ORDINALITY u(id, i)"
        ),
        {"ids": t1[:30]},
    )
    crowd.execute(
        text(
            "INSERT INTO gcrm.orders (order_id, customer_external_id, order_date, amount) "
            "VALUES ('EARLY', :id, DATE '2025-05-01', 5000)"
        ),
        {"id": c1[0]},
    )
    got = campaign_results(crowd, "crafted", level="district", outcomes=["ordered"])
    assert list(got.columns) == list(RESULT_COLUMNS)
    assert list(got["area"]) == ["district:D01", "district:D02", OVERALL]
    d01, d02, overall = (got.iloc[i] for i in range(3))
    assert d01["name"] == "Kamppi" and overall["name"] == "All areas"
    assert (d01["targets"], d01["controls"]) == (len(t1), len(c1))
    assert d01["target_rate"] == pytest.approx(30 / len(t1))
    assert d01["control_rate"] == pytest.approx(6 / len(c1))
    assert d01["uplift"] == pytest.approx(30 / len(t1) - 6 / len(c1))
    uplift, low, high = uplift_interval(30, len(t1), 6, len(c1))
    assert (d01["uplift_low"], d01["uplift_high"]) == pytest.approx((float(low), float(high)))
    assert d02["uplift"] == pytest.approx(10 / len(t2) - 10 / len(c2))
    assert overall["target_responders"] == 40 and overall["control_responders"] == 16
    assert overall["targets"] == len(t1) + len(t2)
    assert d01["target_revenue_per_member"] == pytest.approx(3000 / len(t1))
    assert d01["control_revenue_per_member"] == 0
    assert overall["revenue_uplift"] == pytest.approx(3000 / (len(t1) + len(t2)))
    every = campaign_results(crowd, made.id, level="district")
    assert every.iloc[0]["target_responders"] == 35
    for suffix in (".csv", ".xlsx", ".html"):
        out = write_results(crowd, got, path=tmp_path / f"results{suffix}")
        assert out.stat().st_size > 0
    page = (tmp_path / "results.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "Uplift (target - control rate)" in page and "Kamppi" in page
    with pytest.raises(ValidationError, match="level='hex' is not an area level"):
        campaign_results(crowd, made.id, level="hex")
