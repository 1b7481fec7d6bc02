"""The Planning page's callbacks: the page's state (plan, comparison, target, moves) from
the link and the controls, then the map, chart, table and comparison drawn from it; the
design and the saving of a new version; publishing a plan and its report by territory."""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard.cache import DataByScope
from dashboard.planning import data as pd_
from dashboard.planning import model as pm
from dashboard.planning.layout import EMPTY, REPORT_HINT, diff_tables, territory_table
from gcrm.access import Principal
from gcrm.core import GcrmError, ValidationError
from gcrm.territories import LevelUnits, Plan
from gcrm.web import current_request_principal

__all__ = ["publish_for", "register_planning_callbacks", "report_for"]


def _principal(permission: str) -> Principal:
    return _allowed(current_request_principal(), permission)


def _allowed(principal: Principal | None, permission: str) -> Principal:
    if principal is None or not principal.can(permission):
        role = principal.role if principal is not None else "none"
        needs = (
            "planner or admin" if permission == "plan_territories" else "planner, manager or admin"
        )
        msg = f"your role ({role}) may not do this; it needs the {needs} role"
        raise PermissionError(msg)
    return principal


def _criteria(plan: Plan, units: LevelUnits) -> list[str]:
    """What the table and chart show: the criteria the plan balanced (customers and revenue
    for a plan stored without them)."""
    chosen = [c for c in plan.balance if c in units.units.columns]
    return chosen or [c for c in pm.DEFAULT_BALANCE if c in units.units.columns]


def _summary(plan: Plan, table: Any, *, criteria: list[str], moves: int, seconds: float) -> str:
    deviations = ", ".join(
        f"{c} {100 * float(table[f'{c}_deviation'].abs().max()):.1f} %" for c in criteria
    )
    broken = int((~table["contiguous"].astype(bool)).sum())
    pieces = "all contiguous" if not broken else f"{broken} not contiguous"
    edit = f" · {moves} move{'s' if moves != 1 else ''} not saved" if moves else ""
    return (
        f"{plan.label} · level {plan.level} · {len(table)} territories · largest deviation "
        f"{deviations} · mean Polsby-Popper {float(table['polsby_popper'].mean()):.3f} · "
        f"{pieces}{edit} · figures in {1000 * seconds:.0f} ms"
    )


def _figures(table: Any, criteria: list[str]) -> dict[str, Any]:
    """An edited plan's figures as a plan stores them (:func:`gcrm.territories.design_figures`)."""
    return {
        "max_deviation": {c: float(table[f"{c}_deviation"].abs().max()) for c in criteria},
        "mean_polsby_popper": float(table["polsby_popper"].mean()),
        "contiguous": bool(table["contiguous"].all()),
    }


def publish_for(
    data: DataByScope, principal: Principal | None, state: pm.State | None
) -> pd_.Published:
    """Publish the plan of the page's ``state`` for ``principal`` (the Publish button):
    on the owner's engine in one transaction, then the cube rebuilt.

    Raises
    ------
    PermissionError
        When ``principal``'s role may not plan (``plan_territories``).
    ValidationError
        When no plan is picked, or it has moves not saved (publishing publishes a stored
        plan: save them as a new version, or undo them, first).
    NotFoundError
        When the plan is gone, or none of its units is an area of its level.
    """
    allowed = _allowed(principal, "plan_territories")
    state = {**pm.empty_state(), **(state or {})}
    if state["plan"] is None:
        msg = "no plan to publish: pick a plan first"
        raise ValidationError(msg)
    moves = len(state.get("moves") or [])
    if moves:
        msg = (
            f"the plan on screen has {moves} move{'s' if moves != 1 else ''} not saved: save "
            "them as a new version (or undo them) first, then publish that version"
        )
        raise ValidationError(msg)
    services = data.services
    return pd_.publish(
        services.owner, services.settings.cube_path, int(state["plan"]), published_by=allowed.name
    )


def report_for(
    data: DataByScope, principal: Principal | None, plan: int | None, *, fmt: str
) -> tuple[bytes, str]:
    """The report by territory (``fmt``: ``pdf`` or ``xlsx``) of plan ``plan``, published,
    from ``principal``'s scope cube: the file's bytes and name.

    Raises
    ------
    PermissionError
        When ``principal``'s role may not read territory reports.
    ValidationError
        When the plan is not published (publish it first).
    """
    allowed = _allowed(principal, "territory_reports")
    _, level = pm.publication_note(pd_.publications(data.services.data), plan)
    if level is None:
        msg = f"plan {plan} is not published: {REPORT_HINT.lower()}"
        raise ValidationError(msg)
    cube = data.services.cube_for(allowed)
    return pd_.territory_report(data.services.data, cube, level=level, fmt=fmt)


def register_planning_callbacks(app: dash.Dash, data: DataByScope) -> None:
    """Attach the Planning page's callbacks to ``app``; ``data`` gives the engine every read
    goes through (under the request's principal)."""
    units_by_scope = pd_.UnitsByScope()

    def engine() -> Any:
        return data.services.data

    def level_units(principal: Principal, level: str, adjacency: str = "queen") -> LevelUnits:
        return units_by_scope.get(
            engine(), scope=principal.scope_key, level=level, adjacency=adjacency
        )

    def edited(state: pm.State) -> tuple[Principal, Plan, LevelUnits, dict[str, int]]:
        principal = _principal("territory_reports")
        plan = pd_.read_stored_plan(engine(), int(state["plan"]))
        units = level_units(principal, plan.level, str(plan.settings.get("adjacency") or "queen"))
        assignment = pm.apply_moves(plan.assignment.to_dict(), state.get("moves") or [])
        return principal, plan, units, assignment

    @app.callback(
        Output("pl-state", "data"),
        Output("pl-plan", "value"),
        Output("pl-compare", "value"),
        Output("pl-target", "value"),
        Output("pl-message", "children"),
        Input("pl-url", "search"),
        Input("pl-plan", "value"),
        Input("pl-compare", "value"),
        Input("pl-target", "value"),
        Input("pl-undo", "n_clicks"),
        Input("pl-units", "n_clicks"),
        Input({"type": "pl-row", "territory": ALL}, "n_clicks"),
        State("pl-state", "data"),
        State("pl-units", "clickData"),
    )
    def steer(search, plan, compare, target, _undo, _unit, _rows, state, click):  # type: ignore[no-untyped-def]
        state = {**pm.empty_state(), **(state or {})}
        trigger = ctx.triggered_id
        if trigger is None or trigger == "pl-url":
            state = pm.state_of_query(search)
            return state, state["plan"], state["compare"], state["target"], ""
        keep = no_update, no_update, no_update
        if trigger == "pl-plan":
            if plan == state["plan"]:
                raise PreventUpdate
            state = {**state, "plan": plan, "moves": [], "target": None}
            return state, no_update, no_update, None, ""
        if trigger == "pl-compare":
            return {**state, "compare": compare}, *keep, ""
        if trigger == "pl-target":
            # The list cannot be cleared: None is the list dropping a value it has no option
            # for yet (a link's target before the plan's territories are listed).
            if target is None or target == state["target"]:
                raise PreventUpdate
            return {**state, "target": target}, *keep, ""
        if trigger == "pl-undo":
            if not state["moves"]:
                return state, *keep, "Nothing to undo."
            return pm.undo(state), *keep, ""
        if isinstance(trigger, dict):  # a row of the table: its territory is the target
            if not ctx.triggered[0]["value"]:  # drawn anew, not clicked
                raise PreventUpdate
            territory = int(trigger["territory"])
            return {**state, "target": territory}, no_update, no_update, territory, ""
        # A unit clicked on the map moves to the target territory.
        code = str(((click or {}).get("properties") or {}).get("code") or "")
        if not code or state["plan"] is None:
            raise PreventUpdate
        if state["target"] is None:
            return state, *keep, "Choose a target territory first, then click units to move them."
        try:
            _, _, _, assignment = edited(state)
        except (GcrmError, PermissionError) as exc:
            return state, *keep, str(exc)
        return pm.move(state, code, assignment=assignment), *keep, ""

    @app.callback(
        Output("pl-units", "data"),
        Output("pl-units", "hideout"),
        Output("pl-outlines", "data"),
        Output("pl-chart", "figure"),
        Output("pl-table", "children"),
        Output("pl-summary", "children"),
        Output("pl-target", "options"),
        Output("pl-target", "value", allow_duplicate=True),
        Output("pl-moves-info", "children"),
        Output("pl-drawn", "data"),
        Output("pl-link", "data"),
        Input("pl-state", "data"),
        State("pl-drawn", "data"),
        State("pl-target", "value"),
        prevent_initial_call="initial_duplicate",
    )
    def render(state, drawn, shown_target):  # type: ignore[no-untyped-def]
        state = {**pm.empty_state(), **(state or {})}
        link = pm.query_of_state(state)
        if state["plan"] is None:
            empty_hideout = pm.unit_hideout([], {})
            return (
                EMPTY, empty_hideout, EMPTY, {"data": [], "layout": {"height": 300}},
                [], "Pick a plan, or design a new one.", [], None, "", None, link,
            )  # fmt: skip
        try:
            principal, plan, units, assignment = edited(state)
            started = time.perf_counter()
            criteria = _criteria(plan, units)
            table, outlines = units.evaluate(assignment, criteria=criteria, k=plan.k)
            seconds = time.perf_counter() - started
        except (GcrmError, PermissionError) as exc:
            return (
                *(no_update for _ in range(5)),
                str(exc),
                no_update,
                no_update,
                "",
                no_update,
                link,
            )
        moves = state.get("moves") or []
        rows = pm.territory_rows(table, plan.territories, criteria=criteria)
        moved = sorted({str(c) for c, _ in moves})
        key = f"{principal.scope_key}:{plan.level}"
        return (
            units.features() if drawn != key else no_update,
            pm.unit_hideout(units.codes, assignment, moved=moved),
            outlines,
            pm.balance_figure(rows, criteria=criteria),
            territory_table(rows, criteria=criteria, target=state.get("target")),
            _summary(plan, table, criteria=criteria, moves=len(moves), seconds=seconds),
            [{"label": f"T{r['territory']} · {r['name']}", "value": r["territory"]} for r in rows],
            # The list shows the state's target (a link's, before the list had options).
            state.get("target") if state.get("target") != shown_target else no_update,
            f"{len(moves)} move{'s' if len(moves) != 1 else ''} pending" if moves else "",
            key,
            link,
        )

    app.clientside_callback(
        ClientsideFunction(namespace="gcrm", function_name="replaceQuery"),
        Output("pl-link-written", "data"),
        Input("pl-link", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("pl-diff-units", "data"),
        Output("pl-diff", "children"),
        Output("pl-diff-summary", "children"),
        Output("pl-diff-key", "data"),
        Input("pl-state", "data"),
        State("pl-diff-key", "data"),
    )
    def compare(state, shown):  # type: ignore[no-untyped-def]
        state = state or {}
        key = [state.get("plan"), state.get("compare")]
        if key == shown:
            raise PreventUpdate
        if None in key:
            return EMPTY, [], "Pick a second plan to compare with.", key
        try:
            principal = _principal("territory_reports")
            plan = pd_.read_stored_plan(engine(), int(key[0]))
            units = level_units(principal, plan.level)
            diff = pd_.compare_plans(engine(), int(key[0]), int(key[1]), units)
        except (GcrmError, PermissionError) as exc:
            return EMPTY, [], str(exc), key
        codes = diff.moved["code"].astype(str).tolist()
        summary = (
            f"From {diff.a.label} to {diff.b.label}: {len(codes)} of {diff.units} units "
            f"({100 * diff.moved_share:.1f} %) change territory."
        )
        tables = diff_tables(pm.flow_rows(diff.flows), pm.diff_rows(diff.moved))
        return units.features(codes), tables, summary, key

    @app.callback(
        Output("pl-plan", "options"),
        Output("pl-compare", "options"),
        Output("pl-plan", "value", allow_duplicate=True),
        Output("pl-design-status", "children"),
        Input("pl-design-button", "n_clicks"),
        State("pl-name", "value"),
        State("pl-level", "value"),
        State("pl-k", "value"),
        State("pl-criteria", "value"),
        State("pl-seed", "value"),
        prevent_initial_call=True,
    )
    def design(_n, name, level, k, criteria, seed):  # type: ignore[no-untyped-def]
        try:
            principal = _principal("plan_territories")
            spec = pm.design_of_controls(name=name, level=level, k=k, criteria=criteria, seed=seed)
            units = level_units(principal, spec["level"])
            done = pd_.design_plan(engine(), units, spec, created_by=principal.name)
            options = pd_.plan_options(engine())
        except (GcrmError, PermissionError) as exc:
            return no_update, no_update, no_update, str(exc)
        label = next((o["label"] for o in options if o["value"] == done.plan_id), spec["name"])
        deviations = ", ".join(f"{c} {100 * v:.1f} %" for c, v in done.max_deviation.items())
        status = (
            f"Designed and saved {label} in {done.seconds:.1f} s; largest deviation {deviations}."
        )
        return options, options, done.plan_id, status

    @app.callback(
        Output("pl-plan", "options", allow_duplicate=True),
        Output("pl-compare", "options", allow_duplicate=True),
        Output("pl-plan", "value", allow_duplicate=True),
        Output("pl-edit-status", "children"),
        Input("pl-save", "n_clicks"),
        State("pl-state", "data"),
        State("pl-save-name", "value"),
        prevent_initial_call=True,
    )
    def save(_n, state, name):  # type: ignore[no-untyped-def]
        state = {**pm.empty_state(), **(state or {})}
        if state["plan"] is None:
            return no_update, no_update, no_update, "Pick a plan and move units first."
        try:
            principal = _principal("plan_territories")
            _, plan, units, assignment = edited(state)
            table, _ = units.evaluate(assignment, criteria=_criteria(plan, units), k=plan.k)
            plan_id = pd_.save_version(
                engine(),
                plan,
                assignment,
                moves=state["moves"],
                name=name,
                created_by=principal.name,
                figures=_figures(table, _criteria(plan, units)),
            )
            options = pd_.plan_options(engine())
        except (GcrmError, PermissionError) as exc:
            return no_update, no_update, no_update, str(exc)
        label = next((o["label"] for o in options if o["value"] == plan_id), str(plan_id))
        moves = len(state["moves"])
        return options, options, plan_id, f"Saved {label} ({moves} moves from {plan.label})."

    @app.callback(
        Output("pl-published", "children"),
        Output("pl-report-pdf", "disabled"),
        Output("pl-report-xlsx", "disabled"),
        Output("pl-report-hint", "children"),
        Output("pl-publish", "message"),
        Input("pl-state", "data"),
        Input("pl-publications", "data"),
        State("pl-plan", "options"),
    )
    def published(state, _published, options):  # type: ignore[no-untyped-def]
        plan = (state or {}).get("plan")
        try:
            _principal("territory_reports")
            note, level = pm.publication_note(pd_.publications(engine()), plan)
        except (GcrmError, PermissionError) as exc:
            return str(exc), True, True, REPORT_HINT, pm.publish_message(None)
        label = next((o["label"] for o in options or [] if o["value"] == plan), None)
        hint = f"The report is by level {level}, as the cube has it." if level else REPORT_HINT
        message = pm.publish_message(str(label).split(" · ")[0] if label else None)
        return note, level is None, level is None, hint, message

    @app.callback(
        Output("pl-publish-status", "children"),
        Output("pl-publications", "data"),
        Output("pl-plan", "options", allow_duplicate=True),
        Output("pl-compare", "options", allow_duplicate=True),
        Input("pl-publish", "submit_n_clicks"),
        State("pl-state", "data"),
        prevent_initial_call=True,
    )
    def publish(_n, state):  # type: ignore[no-untyped-def]
        try:
            done = publish_for(data, current_request_principal(), state)
            options = pd_.plan_options(engine())
        except (GcrmError, PermissionError) as exc:
            return str(exc), no_update, no_update, no_update
        publication = done.publication
        summary = publication.summary()
        status = [
            html.P(
                f"{summary[0].upper()}{summary[1:]} ({done.publish_s:.1f} s); the cube was "
                f"rebuilt ({done.cube_areas:,} areas, {done.cube_s:.1f} s)."
            ),
            html.P(
                [
                    "The main dashboard now has the level ",
                    html.A(
                        publication.level,
                        href=f"/?level={publication.level}",
                        id="pl-published-link",
                    ),
                    ".",
                ]
            ),
        ]
        return status, publication.id, options, options

    @app.callback(
        Output("pl-report-download", "data"),
        Output("pl-report-status", "children"),
        Input("pl-report-pdf", "n_clicks"),
        Input("pl-report-xlsx", "n_clicks"),
        State("pl-state", "data"),
        prevent_initial_call=True,
    )
    def report(_pdf, _xlsx, state):  # type: ignore[no-untyped-def]
        fmt = "xlsx" if ctx.triggered_id == "pl-report-xlsx" else "pdf"
        plan = (state or {}).get("plan")
        try:
            content, name = report_for(data, current_request_principal(), plan, fmt=fmt)
        except (GcrmError, PermissionError) as exc:
            return no_update, str(exc)
        return dcc.send_bytes(content, name), f"Downloaded {name} ({len(content) / 1e6:.1f} MB)."
