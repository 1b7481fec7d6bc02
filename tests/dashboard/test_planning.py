"""The Planning page without a browser: its state and link, rows and chart (plain data), and
the design, save, diff, publishing and report it does through gcrm.territories on the real
PostGIS grid (the what-if figures themselves are tested in tests/territories/test_whatif.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.utils
import pytest
from sqlalchemy import Engine, text

from dashboard.cache import DataByScope
from dashboard.layout import Account, page_header
from dashboard.planning import data as pd_
from dashboard.planning import model as pm
from dashboard.planning import planning_for_request
from dashboard.planning.callbacks import publish_for, report_for
from gcrm.access import Principal, act_as, read_audit
from gcrm.core import Settings, ValidationError
from gcrm.cube import load_cube
from gcrm.maps.style import TERRITORY_PALETTE, territory_colour
from gcrm.store import create_db_engine
from gcrm.territories import LevelUnits, read_plan, read_publications
from gcrm.web import Services
from tests.databases import new_database
from tests.territories import grid

#: The grid database of the territory tests (a fixture).
grid_url = grid.grid_url
BALANCE = {"customers": 1.0, "revenue": 1.0}
CRITERIA = list(BALANCE)


@pytest.fixture(scope="module")
def grid_engine(grid_url: str) -> Iterator[Engine]:
    engine = create_db_engine(grid_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def level_units(grid_engine: Engine) -> LevelUnits:
    return pd_.UnitsByScope().get(grid_engine, scope="test", level="cell")


def test_state_link_moves_and_undo() -> None:
    assignment = {"A": 1, "B": 1, "C": 2}
    state = {**pm.empty_state(), "plan": 7, "compare": 3}
    assert pm.move(state, "A", assignment=assignment) == state  # no target: no move
    state["target"] = 2
    state = pm.move(state, "A", assignment=assignment)
    state = pm.move(state, "C", assignment=assignment)  # in territory 2 already
    state = pm.move(state, "B", assignment=assignment)
    assert state["moves"] == [["A", 2], ["B", 2]]
    assert pm.apply_moves(assignment, state["moves"]) == {"A": 2, "B": 2, "C": 2}
    query = pm.query_of_state(state)
    assert query == "?plan=7&compare=3&target=2&move=A%3A2&move=B%3A2"
    assert pm.state_of_query(query) == state
    assert pm.undo(state)["moves"] == [["A", 2]]
    # What a link gets wrong is left out; without a plan it sets nothing.
    assert pm.state_of_query("?plan=x&move=A:2") == pm.empty_state()
    assert pm.state_of_query("?plan=4&move=A:0&move=B:3")["moves"] == [["B", 3]]


def test_design_controls_are_checked() -> None:
    spec = pm.design_of_controls(name=" P ", level="cell", k="3", criteria=["customers"], seed=None)
    assert spec == {"name": "P", "level": "cell", "k": 3, "balance": {"customers": 1.0}, "seed": 0}
    with pytest.raises(ValidationError, match="plan name is empty"):
        pm.design_of_controls(name="", level="cell", k=3, criteria=["customers"], seed=0)
    with pytest.raises(ValidationError, match=r"k=2.5 must be a whole number"):
        pm.design_of_controls(name="P", level="cell", k=2.5, criteria=["customers"], seed=0)
    with pytest.raises(ValidationError, match="check at least one criterion"):
        pm.design_of_controls(name="P", level="cell", k=3, criteria=[], seed=0)


def test_rows_chart_and_palette() -> None:
    table = pd.DataFrame(
        {
            "territory": [1, 2],
            "units": [3, 1],
            "customers": [12.0, 8.0],
            "customers_deviation": [0.2, -0.2],
            "polsby_popper": [0.5, 0.25],
            "moment_of_inertia": [0.8, 0.4],
            "contiguous": [True, False],
        }
    )
    names = pd.DataFrame({"territory": [1, 2], "name": ["North", "South"], "rep": ["Ann", None]})
    rows = pm.territory_rows(table, names, criteria=["customers"])
    assert rows[1] == {
        "territory": 2,
        "name": "South",
        "rep": "",
        "colour": TERRITORY_PALETTE[1],
        "units": 1,
        "customers": 8.0,
        "customers_deviation": -20.0,
        "polsby_popper": 0.25,
        "moment_of_inertia": 0.4,
        "contiguous": False,
    }
    figure = pm.balance_figure(rows, criteria=["customers"])
    assert figure["data"][0]["y"] == [20.0, -20.0]
    band = figure["layout"]["shapes"][0]
    assert (band["y0"], band["y1"]) == (-3.0, 3.0)
    assert len(set(TERRITORY_PALETTE)) == len(TERRITORY_PALETTE) == 30
    assert territory_colour(31) == territory_colour(1)


def test_design_save_and_compare(grid_engine: Engine, level_units: LevelUnits) -> None:
    spec = pm.design_of_controls(
        name="Dashboard test", level="cell", k=3, criteria=CRITERIA, seed=1
    )
    done = pd_.design_plan(grid_engine, level_units, spec, created_by="tester")
    plan = pd_.read_stored_plan(grid_engine, done.plan_id)
    code = plan.assignment.index[0]
    target = 1 + plan.assignment[code] % 3
    moves = [[code, int(target)]]
    assignment = pm.apply_moves(plan.assignment.to_dict(), moves)
    with pytest.raises(ValidationError, match="no moves to save"):
        pd_.save_version(grid_engine, plan, assignment, moves=[], name=None, created_by="t")
    new_id = pd_.save_version(
        grid_engine, plan, assignment, moves=moves, name=None, created_by="tester"
    )
    with grid_engine.connect() as conn:
        saved = read_plan(conn, new_id)
    assert (saved.name, saved.version, saved.parent_id) == ("Dashboard test", 2, plan.id)
    assert saved.assignment[code] == target
    diff = pd_.compare_plans(grid_engine, plan.id, new_id, level_units)
    assert diff.moved[["code", "from_territory", "to_territory"]].values.tolist() == [
        [code, int(plan.assignment[code]), int(target)]
    ]
    assert {"customers", "revenue"} <= set(diff.flows.columns)
    labels = [o["label"] for o in pd_.plan_options(grid_engine)]
    assert labels[0].startswith("Dashboard test@2 · cell, 3 territories")


def _json(component: object) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


@pytest.mark.parametrize(
    ("role", "reads", "plans"),
    [
        ("admin", True, True),
        ("planner", True, True),
        ("manager", True, False),
        ("prospector", False, False),
        ("viewer", False, False),
    ],
)
def test_the_page_by_role(
    grid_url: str, tmp_path: Path, role: str, reads: bool, plans: bool
) -> None:
    """The header links the page for roles that read plans; the page shows the design and
    save controls only to roles that may plan; other roles get a notice."""
    settings = Settings(database_url=grid_url, data_dir=tmp_path)
    engine = create_db_engine(grid_url)
    try:
        data = DataByScope(Services(settings, owner=engine, data=engine))
        account = Account(name="u", role=role, scope="all", csrf_token=None)
        principal = Principal(name="u", role=role, all_areas=True, scoped=False)
        page = planning_for_request(data, principal, account=account, settings=settings)
    finally:
        engine.dispose()
    header = _json(page_header("Region", account))
    assert ('"nav-planning"' in header) is reads
    shown = _json(page)
    assert ('"pl-map"' in shown) is reads
    if not reads:
        assert "may not read territory plans" in shown
        return
    design = _json(_find(page, "pl-design"))
    save = _json(_find(page, "pl-save-controls"))
    hidden = '"display": "none"'
    assert (hidden not in design) is plans and (hidden not in save) is plans
    assert '"value": "cell"' in shown  # the grid's level is offered for a design


def _find(component: Any, cid: str) -> Any:
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found = _find(child, cid)
            if found is not None:
                return found
    return None


def test_publication_note() -> None:
    """Beside the plan picker: where and when the plan is published, or which plan the
    level holds instead; only a published plan has a level to report on."""
    published = [
        {
            "plan_id": 7,
            "plan_label": "East@2 (#7)",
            "level": "territory",
            "published_by": "pat",
            "published_at": pd.Timestamp("2026-11-30 08:00", tz="UTC"),
        }
    ]
    assert pm.publication_note(published, 7) == (
        "Published as level territory on 2026-11-30 by pat.",
        "territory",
    )
    assert pm.publication_note(published, 8) == (
        "Not published: level territory is East@2 (#7) (since 2026-11-30).",
        None,
    )
    assert pm.publication_note([], 8) == ("Not published: no plan is published yet.", None)
    assert pm.publication_note(published, None) == ("", None)
    assert pm.publish_message("East@2").startswith("Publish plan East@2? Every customer and lead")


@pytest.fixture()
def publish_url() -> Iterator[str]:
    """A grid database of this test's own: publishing writes areas and area codes."""
    with new_database() as url:
        engine = create_db_engine(url)
        try:
            with engine.begin() as conn:
                for statement in filter(str.strip, grid.GRID_SQL.split(";")):
                    conn.execute(text(statement))
        finally:
            engine.dispose()
        yield url


def _areas(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT level, count(*) FROM gcrm.areas GROUP BY level"))
        return {str(level): int(n) for level, n in rows}


def test_publish_and_report_from_the_page(publish_url: str, tmp_path: Path) -> None:
    """The Publish button's path: refused to roles that may not plan and for unsaved moves;
    a planner's publication writes the levels territory and territory_unit, names the
    planner and rebuilds the cube; then the report of the published plan is a PDF, made
    from the reader's cube and recorded in the audit log."""
    settings = Settings(database_url=publish_url, data_dir=tmp_path)
    engine = create_db_engine(publish_url)
    try:
        data = DataByScope(Services(settings, owner=engine, data=engine))
        units = pd_.UnitsByScope().get(engine, scope="test", level="cell")
        spec = pm.design_of_controls(name="Publish", level="cell", k=3, criteria=CRITERIA, seed=1)
        plan_id = pd_.design_plan(engine, units, spec, created_by="tester").plan_id
        state = {**pm.empty_state(), "plan": plan_id}
        manager = Principal(name="mia", role="manager", all_areas=True, scoped=False)
        planner = Principal(name="pat", role="planner", all_areas=True, scoped=False)
        for nobody in (manager, None):
            with pytest.raises(PermissionError, match="it needs the planner or admin role"):
                publish_for(data, nobody, state)
        with pytest.raises(ValidationError, match="1 move not saved: save them"):
            publish_for(data, planner, {**state, "moves": [["C00", 2]]})
        with pytest.raises(ValidationError, match="no plan to publish"):
            publish_for(data, planner, pm.empty_state())
        with pytest.raises(ValidationError, match=f"plan {plan_id} is not published"):
            report_for(data, manager, plan_id, fmt="pdf")
        assert set(_areas(engine)) == {"cell"}  # refused: nothing written
        done = publish_for(data, planner, state)
        assert _areas(engine) == {"cell": grid.UNITS, "territory": 3, "territory_unit": grid.UNITS}
        with engine.connect() as conn:
            publications = read_publications(conn)
        assert publications[["plan_id", "level", "published_by"]].values.tolist() == [
            [plan_id, "territory", "pat"]
        ]
        assert done.publication.summary().startswith("published Publish@1")
        cube = load_cube(settings.cube_path)
        territories = [a for a in cube["area"].values.tolist() if a.startswith("territory:")]
        assert sorted(territories) == ["territory:T01", "territory:T02", "territory:T03"]
        assert done.cube_areas == cube.sizes["area"]
        note, level = pm.publication_note(pd_.publications(engine), plan_id)
        assert level == "territory" and note.startswith("Published as level territory on ")
        with act_as(manager):
            content, name = report_for(data, manager, plan_id, fmt="pdf")
        assert name == "territories_territory.pdf" and content.startswith(b"%PDF")
        with engine.connect() as conn:
            audit = read_audit(conn, actor="mia")
        assert audit["action"].tolist() == ["territories report"]
    finally:
        engine.dispose()
