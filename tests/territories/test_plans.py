"""Stored plans on a real PostGIS: versions, current, reps, reading back, diff, evaluation."""

from __future__ import annotations

import geopandas as gpd
import pytest

from gcrm.core import NotFoundError, ValidationError
from gcrm.store import create_db_engine
from gcrm.territories import (
    assign_reps,
    design_figures,
    design_territories,
    diff_plans,
    evaluate_assignment,
    list_plans,
    read_plan,
    save_plan,
)
from tests.territories.grid import UNITS


def test_saved_plans_are_versioned_read_back_and_diffed(
    units: gpd.GeoDataFrame, grid_url: str
) -> None:
    balance = {"customers": 1.0, "revenue": 1.0}
    first = design_territories(units, k=4, balance=balance, seed=0)
    second = design_territories(units, k=4, balance=balance, seed=3)
    engine = create_db_engine(grid_url)
    try:
        with engine.begin() as conn:
            a = save_plan(
                conn,
                name="Test plan",
                level="cell",
                assignment=first.assignment,
                balance=balance,
                settings={"method": "design", "seed": 0},
                figures=design_figures(first),
                created_by="planner",
                reps={1: "Ann"},
                make_current=True,
            )
            b = save_plan(
                conn,
                name="Test plan",
                level="cell",
                assignment=second.assignment,
                balance=balance,
                figures=design_figures(second),
                created_by="planner",
                parent_id=a,
            )
            assign_reps(conn, b, {2: "Bo"}, names={2: "North"})
            with pytest.raises(ValidationError, match=r"territory 9 is not in plan .*1\.\.4"):
                assign_reps(conn, b, {9: "X"})
        with engine.connect() as conn:
            plans = list_plans(conn)
            current = read_plan(conn, "current")
            latest = read_plan(conn, "Test plan")
            older = read_plan(conn, "Test plan@1")
            by_id = read_plan(conn, str(b))
            with pytest.raises(NotFoundError, match=r"plan 'nope' not found.*Test plan@2"):
                read_plan(conn, "nope")
    finally:
        engine.dispose()
    assert list(plans["version"]) == [2, 1] and list(plans["units"]) == [UNITS, UNITS]
    assert list(plans["is_current"]) == [False, True]
    assert current.id == older.id == a and latest.id == by_id.id == b
    assert latest.parent_id == a and latest.k == 4 and latest.balance == balance
    assert current.territories.set_index("territory").loc[1, "rep"] == "Ann"
    assert latest.territories.set_index("territory").loc[2, ["name", "rep"]].tolist() == [
        "North",
        "Bo",
    ]
    assert (current.assignment.sort_index() == first.assignment.sort_index()).all()
    assert latest.figures["max_deviation"] == pytest.approx(second.max_deviation)

    diff = diff_plans(current, latest, weights=units)
    changed = (first.assignment != second.assignment.reindex(first.assignment.index)).sum()
    assert len(diff.moved) == changed and diff.units == UNITS
    assert diff.flows["units"].sum() == changed
    assert diff.flows["customers"].sum() == pytest.approx(diff.moved["customers"].sum())
    assert diff_plans(current, current).moved.empty


def test_evaluation_reports_an_edited_plan(units: gpd.GeoDataFrame) -> None:
    balance = {"customers": 1.0}
    plan = design_territories(units, k=3, balance=balance, seed=0)
    edited = plan.assignment.copy()
    # Move one unit of territory 1 to a territory it does not touch: territory 3's far corner.
    corner = "C00" if edited["C00"] != 3 else "C77"
    target = 3 if edited[corner] != 3 else 1
    far = [c for c, t in edited.items() if t == target]
    edited[corner] = target
    again = evaluate_assignment(units, edited.to_dict(), balance=balance)
    assert again.territories["units"].sum() == UNITS
    moved_total = again.territories.set_index("territory").loc[target, "customers"]
    expected = units.set_index("code").loc[[*far, corner], "customers"].sum()
    assert moved_total == pytest.approx(expected)
    with pytest.raises(ValidationError, match=r"unit 'C00' has no territory"):
        evaluate_assignment(units, {c: t for c, t in edited.items() if c != "C00"}, balance=balance)
