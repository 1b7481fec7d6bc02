"""The territory plan routes of the API (issue 13): list, design and save, read with the
territories' figures (or as GeoJSON), diff, what-if moves, save an edit as the next version,
reps, publish, and the report of a published plan as a file.

Plans hold no personal data (units are areas, reps are names a planner typed); the figures
of a plan's territories are computed when asked, from the units' weights in the caller's
scope (row-level security), by a :class:`gcrm.territories.LevelUnits` kept per level and scope. Designs run
synchronously, so a design is refused above :data:`gcrm.api.models.MAX_DESIGN_UNITS` units.
"""

from __future__ import annotations

import io
import logging
import math
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pydantic
import shapely.geometry
from flask import Response, jsonify, request, send_file
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from gcrm.access import Principal
from gcrm.api import models as m
from gcrm.core import GcrmError, NotFoundError, ValidationError
from gcrm.cube import cube_mtime
from gcrm.territories import (
    DesignResult,
    LevelUnits,
    Plan,
    Publication,
    assign_reps,
    build_territory_report,
    design_figures,
    design_territories,
    evaluate_assignment,
    list_plans,
    plan_diff_tables,
    publish_plan,
    read_design_units,
    read_plan,
    read_publications,
    rebuild_cube,
    save_plan,
)
from gcrm.web import Services, error_body

__all__ = ["territory_handlers"]

_LOG = logging.getLogger(__name__)
B = TypeVar("B", bound=pydantic.BaseModel)
Handler = Callable[..., Response | tuple[Response, int]]

#: Bodies that work, for error messages.
_DESIGN_EXAMPLE = '{"name": "2026 plan", "level": "district", "k": 4, "balance": {"customers": 1}}'
_MOVES_EXAMPLE = '{"moves": {"D01": 2}}'
_REPS_EXAMPLE = '{"1": "Ann Lee", "2": null}'
_PUBLISH_EXAMPLE = '{"level": "territory", "cube": true}'
#: The criterion an unbalanced plan (stored without criteria) is evaluated on.
_DEFAULT_BALANCE = {"customers": 1.0}
#: The weights a diff sums per moved unit and per flow.
_DIFF_WEIGHTS = ["customers", "revenue"]
_MOVED_KEYS = ["code", "name", "from_territory", "from_name", "to_territory", "to_name"]
_FLOW_KEYS = ["from_territory", "from_name", "to_territory", "to_name", "units"]
#: How long the units of a level (areas with their weights and adjacency) are kept per scope:
#: a planner's what-if moves, one after another, read and measure them once (the adjacency is
#: most of a first answer's seconds on 1,454 units); a minute later the weights are read again.
UNITS_TTL_S = 60.0


class _UnitCache:
    """The units of a level per scope, criteria and adjacency, as a
    :class:`gcrm.territories.LevelUnits`, kept :data:`UNITS_TTL_S` seconds."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: dict[tuple[object, ...], tuple[float, LevelUnits]] = {}
        self._lock = threading.Lock()

    def units(self, conn: Connection, principal: Principal, plan: Plan) -> LevelUnits:
        criteria = list(_balance(plan))
        adjacency = str(plan.settings.get("adjacency") or "queen")
        key = (principal.scope_key, plan.level, tuple(criteria), adjacency)
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
        if found is not None and found[0] > now:
            return found[1]
        units = LevelUnits(
            read_design_units(conn, level=plan.level, criteria=criteria), adjacency=adjacency
        )
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(min(self._items, key=lambda k: self._items[k][0]))
            self._items[key] = (now + UNITS_TTL_S, units)
        return units


def territory_handlers(services: Services) -> dict[str, Handler]:
    """The territory plan route handlers by operation name, over ``services``.

    Parameters
    ----------
    services
        The engines of the server; every read and write goes through ``services.data``,
        under the request's principal, but publishing (``services.owner``: it rewrites
        areas and area codes, after the route checked ``plan_territories``).

    Returns
    -------
    dict
        Operation name -> handler, for :func:`gcrm.api.create_api_blueprint`.
    """
    cache = _UnitCache()

    def plans(principal: Principal) -> Response:
        with services.data.connect() as conn:
            table = list_plans(conn)
        return jsonify([_summary(row) for row in table.to_dict("records")])

    def plan_design(principal: Principal) -> tuple[Response, int]:
        body = _body(m.PlanDesignBody, _DESIGN_EXAMPLE)
        with services.data.connect() as conn:
            units = read_design_units(conn, level=body.level, criteria=list(body.balance))
        _check_design(units, body)
        result = design_territories(
            units,
            k=body.k,
            balance=body.balance,
            locks=body.locks,
            adjacency=body.adjacency,
            seed=body.seed,
            iterations=body.iterations,
        )
        settings = {
            "method": "design",
            "source": "api",
            "adjacency": body.adjacency,
            "seed": body.seed,
            "iterations": body.iterations,
            "locks": dict(body.locks or {}),
        }
        with services.data.begin() as conn:
            plan_id = save_plan(
                conn,
                name=body.name,
                level=body.level,
                assignment=result.assignment,
                created_by=principal.name,
                balance=body.balance,
                settings=settings,
                figures=design_figures(result),
            )
            plan = read_plan(conn, plan_id)
        return jsonify(_detail(plan, result)), 201

    def plan(principal: Principal, path: m.PlanPath, query: m.PlanQuery) -> Response:
        with services.data.connect() as conn:
            found = read_plan(conn, path.plan)
            units = cache.units(conn, principal, found)
        result = _evaluate(units, found, found.assignment)
        if query.format == "geojson":
            return jsonify(_collection(found, result))
        return jsonify(_detail(found, result))

    def plan_diff(principal: Principal, path: m.PlanPath, query: m.PlanDiffQuery) -> Response:
        with services.data.connect() as conn:
            b = read_plan(conn, path.plan)
            a = read_plan(conn, query.against)
            # No accounts: the customers of the moved units are personal data, which leave
            # through `gcrm territories diff` (logged).
            tables = plan_diff_tables(conn, a, b, accounts=False)
        return jsonify(
            {
                "a": _header(a),
                "b": _header(b),
                "units": tables.diff.units,
                "moved_share": tables.diff.moved_share,
                "summary": {k: _json_value(v) for k, v in tables.summary.items()},
                "moved": _rows(tables.moved_units, _MOVED_KEYS),
                "flows": _rows(tables.flows, _FLOW_KEYS),
            }
        )

    def plan_evaluate(principal: Principal, path: m.PlanPath) -> Response:
        body = _body(m.PlanMovesBody, _MOVES_EXAMPLE)
        with services.data.connect() as conn:
            found = read_plan(conn, path.plan)
            units = cache.units(conn, principal, found)
        assignment = _moved(found, body.moves)
        result = _evaluate(units, found, assignment)
        changed = int((assignment != found.assignment.reindex(assignment.index)).sum())
        return jsonify(
            {
                "plan": _header(found),
                "moved": changed,
                "evaluation": _figures(result),
                "territories": _territories(found, result),
            }
        )

    def plan_version(principal: Principal, path: m.PlanPath) -> tuple[Response, int]:
        body = _body(m.PlanVersionBody, _MOVES_EXAMPLE)
        with services.data.connect() as conn:
            found = read_plan(conn, path.plan)
            units = cache.units(conn, principal, found)
        assignment = _moved(found, body.moves)
        result = _evaluate(units, found, assignment)
        table = found.territories.set_index("territory")
        with services.data.begin() as conn:
            plan_id = save_plan(
                conn,
                name=body.name or found.name,
                level=found.level,
                assignment=assignment,
                created_by=principal.name,
                balance=found.balance,
                settings={
                    **found.settings,
                    "method": "edit",
                    "source": "api",
                    "edited_from": found.id,
                    "moves": dict(body.moves),
                },
                figures=design_figures(result),
                parent_id=found.id,
                territory_names=_present(table["name"]),
                reps=_present(table["rep"]),
                bases={
                    int(t): (str(row["base"]), _number(row["lon"]), _number(row["lat"]))
                    for t, row in table.iterrows()
                    if row["base"] is not None and not pd.isna(row["base"])
                },
            )
            saved = read_plan(conn, plan_id)
        return jsonify(_detail(saved, result)), 201

    def plan_reps(principal: Principal, path: m.PlanPath) -> Response:
        body = _body(m.PlanRepsBody, _REPS_EXAMPLE)
        with services.data.begin() as conn:
            found = read_plan(conn, path.plan)
            assign_reps(conn, found.id, _rep_numbers(found, body.root))
            saved = read_plan(conn, found.id)
        return jsonify(
            {
                "id": saved.id,
                "name": saved.name,
                "version": saved.version,
                "territories": [
                    {"territory": int(r.territory), "name": r.name, "rep": _text(r.rep)}
                    for r in saved.territories.itertuples()
                ],
            }
        )

    def plan_publish(principal: Principal, path: m.PlanPath) -> Response:
        body = _optional_body(m.PlanPublishBody, _PUBLISH_EXAMPLE)
        # The owner's engine: publishing rewrites areas and the enrichment's area codes,
        # which the application role may only read; the route checked the permission.
        with services.owner.begin() as conn:
            try:
                publication = publish_plan(
                    conn, path.plan, level=body.level, published_by=principal.name
                )
            except ValidationError as exc:
                raise ValidationError(_api_words(str(exc))) from None
        notes: list[str] = []
        rebuilt = False
        if not body.cube:
            notes.append(
                "the cube was not rebuilt (cube false): run `gcrm cube build` before reports "
                f"by territory (GET .../report) or the dashboard show level {publication.level!r}"
            )
        else:
            try:
                rebuild_cube(services.owner, services.settings.cube_path)
                rebuilt = True
            except (GcrmError, OSError, SQLAlchemyError) as exc:
                # The publication is committed: say so, and what is left to do.
                _LOG.exception("cube rebuild after publishing %s failed", publication.plan_label)
                notes.append(
                    f"the plan is published but the cube was not rebuilt ({exc}); run "
                    "`gcrm cube build`"
                )
        return jsonify(_publication(publication, rebuilt=rebuilt, notes=notes))

    def plan_report(
        principal: Principal, path: m.PlanPath, query: m.PlanReportQuery
    ) -> Response | tuple[Response, int]:
        with services.data.connect() as conn:
            found = read_plan(conn, path.plan)
            publications = read_publications(conn)
        publication, refusal = _published(found, publications)
        if publication is None:
            return _conflict(refusal)
        level = str(publication["level"])
        # A cube older than the publication holds no territories, or an earlier plan's.
        built = cube_mtime(services.settings.cube_path) or 0.0
        if built < pd.Timestamp(publication["published_at"]).timestamp():
            return _conflict(
                f"plan {found.label} is published as level {level!r}, but the cube was not "
                "rebuilt since: publish it again with the cube rebuilt (POST "
                f'/api/territories/plans/{found.id}/publish with {{"cube": true}}) or run '
                "`gcrm cube build`"
            )
        cube = services.cube_for(principal)
        if level not in set(cube["level"].to_numpy().tolist()):
            msg = (
                f"no territory of plan {found.label} (level {level!r}) lies inside your scope, "
                "so there is nothing to report on; ask an admin for a scope holding whole "
                f"territories, or read the plan in your scope: GET /api/territories/plans/{found.id}"
            )
            raise NotFoundError(msg)
        with tempfile.TemporaryDirectory(prefix="gcrm-report-") as folder:
            # A transaction that commits: the report names customers and is recorded in the
            # audit log.
            with services.data.begin() as conn:
                report = build_territory_report(
                    conn, cube=cube, level=level, out_dir=Path(folder), formats=[query.format]
                )
            data = report.paths[query.format].read_bytes()
        response = send_file(
            io.BytesIO(data),
            mimetype=m.REPORT_MEDIA_TYPES[query.format],
            as_attachment=True,
            download_name=f"territories_{_file_word(found.name)}.{query.format}",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return {
        "territory_plans": plans,
        "territory_plan_design": plan_design,
        "territory_plan": plan,
        "territory_plan_diff": plan_diff,
        "territory_plan_evaluate": plan_evaluate,
        "territory_plan_version": plan_version,
        "territory_plan_reps": plan_reps,
        "territory_plan_publish": plan_publish,
        "territory_plan_report": plan_report,
    }


def _body(model: type[B], example: str) -> B:
    """The request's JSON body as ``model``, or a ValidationError naming the field, its
    value and the fix."""
    payload = request.get_json(silent=True)
    if payload is None:
        msg = (
            "the body is empty or not JSON; send (with Content-Type: application/json) e.g. "
            f"{example}"
        )
        raise ValidationError(msg)
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "value_error":
            raise ValidationError(
                str((error.get("ctx") or {}).get("error", error["msg"]))
            ) from None
        where = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "missing":
            raise ValidationError(f"{where} is missing; send e.g. {example}") from None
        if error["type"] == "extra_forbidden":
            fields = sorted(model.model_fields)
            msg = f"unknown field {where!r}; the body takes {fields}, e.g. {example}"
            raise ValidationError(msg) from None
        value = error.get("input")
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        msg = f"{where}={shown}: {error['msg']}; send e.g. {example}"
        raise ValidationError(msg) from None


def _optional_body(model: type[B], example: str) -> B:
    """The request's JSON body as ``model``; no body at all takes the model's defaults."""
    if not request.get_data():
        return model()
    return _body(model, example)


def _api_words(message: str) -> str:
    """A publishing error in the API's words: the CLI's ``--level-name`` is the body's
    ``level``."""
    message = re.sub(r"--level-name ('[^']*')", r"level=\1", message)
    return re.sub(r"--level-name ([a-z0-9_]+)", r'{"level": "\1"}', message)


def _published(plan: Plan, publications: pd.DataFrame) -> tuple[pd.Series | None, str]:
    """The latest publication of ``plan`` (a row of
    :func:`gcrm.territories.read_publications`), or None and why there is none."""
    mine = publications[publications["plan_id"] == plan.id]
    if not mine.empty:
        return mine.sort_values("published_at").iloc[-1], ""
    fix = f"publish it first: POST /api/territories/plans/{plan.id}/publish"
    if publications.empty:
        return None, f"plan {plan.label} is not published, nor is any plan; {fix}"
    held = ", ".join(
        f"level {row.level!r} holds plan {row.plan_label}" for row in publications.itertuples()
    )
    return (
        None,
        f"plan {plan.label} is not published ({held}); {fix}, or ask for that plan's report",
    )


def _conflict(message: str) -> tuple[Response, int]:
    """A 409 in the API's one error shape: the request needs another step first."""
    return jsonify(error_body(message, 409)), 409


def _file_word(name: str) -> str:
    """A plan name as part of a file name: letters, digits, ``.@-`` kept, the rest ``_``."""
    return re.sub(r"[^\w.@-]+", "_", name).strip("_") or "plan"


def _publication(publication: Publication, *, rebuilt: bool, notes: list[str]) -> dict[str, Any]:
    """A publication as :class:`gcrm.api.models.PlanPublication`."""
    return {
        "id": publication.id,
        "level": publication.level,
        "unit_level": publication.unit_level,
        "plan_id": publication.plan_id,
        "plan_label": publication.plan_label,
        "plan_level": publication.plan_level,
        "territories": publication.territories,
        "units": publication.units,
        "placed": dict(publication.placed),
        "totals": dict(publication.totals),
        "published_by": publication.published_by,
        "published_at": publication.published_at.isoformat(),
        "cube_rebuilt": rebuilt,
        "summary": publication.summary(),
        "notes": notes,
    }


def _check_design(units: gpd.GeoDataFrame, body: m.PlanDesignBody) -> None:
    """Refuse a design the API should not run, in the API's words (not the CLI's options)."""
    n = len(units)
    if n > m.MAX_DESIGN_UNITS:
        msg = (
            f"level={body.level!r} has {n:,} areas, more than the {m.MAX_DESIGN_UNITS:,} units a "
            "design through the API may divide; design it with `gcrm territories design` or "
            "pick a coarser level"
        )
        raise ValidationError(msg)
    if body.k > n:
        msg = f"k={body.k} is more than the {n} areas of level {body.level!r}; pass k from 1 to {n}"
        raise ValidationError(msg)
    codes = set(units["code"].astype(str))
    for code in body.locks or {}:
        if code not in codes:
            msg = (
                f"locks: unit {code!r} is not an area of level {body.level!r}; lock units by "
                f"their codes, e.g. {sorted(codes)[0]!r}"
            )
            raise ValidationError(msg)
    for name in body.balance:
        total = float(units[name].sum())
        if not total > 0:
            msg = (
                f"balance criterion {name!r} totals {total:g} over the areas of level "
                f"{body.level!r} in your scope; nothing to balance, leave it out of balance"
            )
            raise ValidationError(msg)


def _balance(plan: Plan) -> dict[str, float]:
    return plan.balance or dict(_DEFAULT_BALANCE)


def _evaluate(units: LevelUnits, plan: Plan, assignment: pd.Series) -> DesignResult:
    """The figures of ``assignment`` over the units the caller sees that the plan holds.

    A scoped caller sees only the areas of their scope (row-level security on the areas):
    the figures are then those of the plan's territories cut to that scope. When the plan
    covers every unit seen (the usual case) the kept adjacency answers; otherwise the units
    the plan holds are measured for this answer.
    """
    frame = units.units
    seen = frame[frame["code"].astype(str).isin(assignment.index)]
    if seen.empty:
        msg = (
            f"plan {plan.label} has no unit of level {plan.level!r} in your scope; ask for a "
            "plan of a level your areas are in"
        )
        raise NotFoundError(msg)
    given = assignment[assignment.index.isin(seen["code"].astype(str))].to_dict()
    if len(seen) == len(frame):
        return units.result(given, balance=_balance(plan), k=plan.k)
    return evaluate_assignment(
        seen, given, balance=_balance(plan), adjacency=units.adjacency, k=plan.k
    )


def _moved(plan: Plan, moves: Mapping[str, int]) -> pd.Series:
    """The plan's assignment with ``moves`` applied; every move checked against the plan."""
    for code, territory in moves.items():
        if code not in plan.assignment.index:
            msg = (
                f"moves: unit {code!r} is not a unit of plan {plan.label} (level "
                f"{plan.level!r}); move its units, e.g. {{{plan.assignment.index[0]!r}: 1}}"
            )
            raise ValidationError(msg)
        if not 1 <= territory <= plan.k:
            msg = (
                f"moves.{code}: territory {territory} is out of 1..k of plan {plan.label}; "
                f"use 1..{plan.k}"
            )
            raise ValidationError(msg)
    moved = plan.assignment.copy()
    if moves:  # pandas refuses to set an empty list of labels to an empty list of values
        moved.loc[list(moves)] = list(moves.values())
    return moved


def _rep_numbers(plan: Plan, reps: Mapping[str, str | None]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for key, rep in reps.items():
        if not key.isdigit() or not 1 <= int(key) <= plan.k:
            msg = (
                f"reps: {key!r} is not a territory of plan {plan.label}; key reps by "
                f"territory number 1..{plan.k}, e.g. {_REPS_EXAMPLE}"
            )
            raise ValidationError(msg)
        out[int(key)] = rep
    return out


def _header(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "name": plan.name,
        "version": plan.version,
        "parent_id": plan.parent_id,
        "level": plan.level,
        "k": plan.k,
        "balance": plan.balance,
        "is_current": plan.is_current,
        "created_by": plan.created_by,
        "created_at": plan.created_at.isoformat(),
    }


def _summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of :func:`gcrm.territories.list_plans` as :class:`gcrm.api.models.PlanSummary`."""
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "version": int(row["version"]),
        "parent_id": None if pd.isna(row["parent_id"]) else int(row["parent_id"]),
        "level": row["level"],
        "k": int(row["k"]),
        "balance": {str(k): float(v) for k, v in (row["balance"] or {}).items()},
        "is_current": bool(row["is_current"]),
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
        "units": int(row["units"]),
        "reps": int(row["reps"]),
        "figures": {
            "max_deviation": {k: _number(v) for k, v in (row["max_deviation"] or {}).items()},
            "mean_polsby_popper": _number(row["mean_polsby_popper"]),
        },
    }


def _figures(result: DesignResult) -> dict[str, Any]:
    return {
        "max_deviation": {k: _number(v) for k, v in result.max_deviation.items()},
        "mean_polsby_popper": _number(result.mean_polsby_popper),
        "mean_moment_of_inertia": _number(result.mean_moment_of_inertia),
        "contiguous": bool(result.territories["contiguous"].all()),
        "islands": list(result.islands),
        "seconds": round(result.seconds, 3),
    }


def _territories(plan: Plan, result: DesignResult) -> list[dict[str, Any]]:
    """Each of the plan's k territories: name, rep, base and its figures now (a territory
    the assignment leaves empty shows with no units)."""
    names = list(result.balance)
    figures = result.territories.set_index("territory")
    out = []
    for row in plan.territories.itertuples():
        t = int(row.territory)
        have = t in figures.index
        f = figures.loc[t] if have else None
        out.append(
            {
                "territory": t,
                "name": row.name,
                "rep": _text(row.rep),
                "base": _text(row.base),
                "lon": _number(row.lon),
                "lat": _number(row.lat),
                "units": int(f["units"]) if f is not None else 0,
                "totals": {n: _number(f[n]) if f is not None else 0.0 for n in names},
                "deviations": {
                    n: _number(f[f"{n}_deviation"]) if f is not None else None for n in names
                },
                "polsby_popper": (_number(f["polsby_popper"]) or 0.0) if f is not None else 0.0,
                "moment_of_inertia": (
                    (_number(f["moment_of_inertia"]) or 0.0) if f is not None else 0.0
                ),
                "contiguous": bool(f["contiguous"]) if f is not None else False,
            }
        )
    return out


def _detail(plan: Plan, result: DesignResult) -> dict[str, Any]:
    names = result.units.set_index(result.units["code"].astype(str))["name"]
    return {
        **_header(plan),
        "settings": plan.settings,
        "figures": plan.figures,
        "evaluation": _figures(result),
        "territories": _territories(plan, result),
        "units": [
            {"code": code, "name": _text(names.get(code)), "territory": int(t)}
            for code, t in plan.assignment.items()
        ],
    }


def _collection(plan: Plan, result: DesignResult) -> dict[str, Any]:
    """The territories dissolved from their units, as a GeoJSON FeatureCollection."""
    shapes = result.units[["territory", "geometry"]].dissolve(by="territory").geometry
    features = [
        {
            "type": "Feature",
            "id": props["territory"],
            "properties": props,
            "geometry": (
                shapely.geometry.mapping(shapes.loc[props["territory"]])
                if props["territory"] in shapes.index
                else None
            ),
        }
        for props in _territories(plan, result)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "plan": _header(plan),
        "evaluation": _figures(result),
    }


def _rows(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """Diff rows: ``keys`` (territory numbers as integers, texts or null), then the weights."""
    out = []
    for row in frame.to_dict("records"):
        item = {
            key: int(row[key]) if key.endswith("territory") or key == "units" else _text(row[key])
            for key in keys
        }
        out.append(item | {w: _number(row.get(w)) or 0.0 for w in _DIFF_WEIGHTS})
    return out


def _json_value(value: Any) -> Any:
    """numpy numbers as Python numbers, non-finite as null."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    return _number(value)


def _present(column: pd.Series) -> dict[int, str]:
    return {int(t): str(v) for t, v in column.items() if v is not None and not pd.isna(v)}


def _number(value: Any) -> float | None:
    """A float for JSON: NaN, infinities and missing values as null."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
