"""The Planning page's state as plain data: the plan on screen, the comparison plan and the
pending what-if moves, their link, the territories' colours, rows, chart and map layers.
No Dash, no database: every function here is tested without a browser.

The page's state is a small dict kept in a ``dcc.Store`` (``pl-state``) and in the link::

    {"plan": 12, "compare": 10, "moves": [["C01", 3], ["C02", 3]], "target": 3}

``moves`` are applied in order on top of the plan's stored assignment; Undo drops the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

import pandas as pd

from gcrm.core import ValidationError
from gcrm.maps.style import TERRITORY_PALETTE, territory_colour
from gcrm.territories import DESIGN_CRITERIA

__all__ = [
    "BAND",
    "CRITERIA",
    "DEFAULT_BALANCE",
    "State",
    "apply_moves",
    "balance_figure",
    "balance_of_choices",
    "design_of_controls",
    "diff_rows",
    "empty_state",
    "flow_rows",
    "move",
    "publication_note",
    "publish_message",
    "query_of_state",
    "state_of_query",
    "territory_rows",
    "undo",
    "unit_hideout",
]

State = dict[str, Any]

#: The deviation from the mean a plan aims within (the chart's band), as a share.
BAND = 0.03
#: What a plan can be balanced on, as the design's checkboxes list them.
CRITERIA: dict[str, str] = {name: name.capitalize() for name in DESIGN_CRITERIA}
DEFAULT_BALANCE = ["customers", "revenue"]
#: Weights listed in the diff (when the units have them).
SHOWN_WEIGHTS = ("customers", "revenue")
#: Moves a link carries at most (a longer edit is saved as a version, not linked).
MAX_LINK_MOVES = 200


def empty_state() -> State:
    """No plan picked, no comparison, no moves."""
    return {"plan": None, "compare": None, "moves": [], "target": None}


def balance_of_choices(criteria: Sequence[str] | None) -> dict[str, float]:
    """The checked criteria as a balance, each of weight 1.

    Raises
    ------
    ValidationError
        When none is checked or one is unknown.
    """
    chosen = [str(c) for c in criteria or []]
    if not chosen:
        msg = f"balance: check at least one criterion of {list(CRITERIA)}, e.g. customers"
        raise ValidationError(msg)
    unknown = [c for c in chosen if c not in CRITERIA]
    if unknown:
        msg = f"balance criterion {unknown[0]!r} is unknown; use one of {list(CRITERIA)}"
        raise ValidationError(msg)
    return dict.fromkeys(chosen, 1.0)


def design_of_controls(
    *, name: Any, level: Any, k: Any, criteria: Sequence[str] | None, seed: Any
) -> dict[str, Any]:
    """The design the page's controls describe, checked: name, level, k, balance, seed.

    Raises
    ------
    ValidationError
        When the name or level is missing, or k or the seed is not a whole number (k >= 1).
    """
    text = str(name or "").strip()
    if not text:
        msg = "plan name is empty; type a name for the new plan, e.g. 2026 plan"
        raise ValidationError(msg)
    if not level:
        msg = "level: choose the level whose areas the territories are made of"
        raise ValidationError(msg)
    if not _whole(k) or int(float(k)) < 1:
        msg = f"k={k!r} must be a whole number of territories, 1 or more, e.g. 20"
        raise ValidationError(msg)
    seed = 0 if seed in (None, "") else seed
    if not _whole(seed):
        msg = f"seed={seed!r} must be a whole number, e.g. 0"
        raise ValidationError(msg)
    return {
        "name": text,
        "level": str(level),
        "k": int(float(k)),
        "balance": balance_of_choices(criteria),
        "seed": int(float(seed)),
    }


def _whole(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number == int(number)


def apply_moves(assignment: Mapping[str, int], moves: Sequence[Sequence[Any]]) -> dict[str, int]:
    """``assignment`` with ``moves`` (``[code, territory]`` pairs) applied in order; moves of
    codes the plan does not have are left out."""
    out = {str(c): int(t) for c, t in assignment.items()}
    for code, territory in moves:
        if str(code) in out:
            out[str(code)] = int(territory)
    return out


def move(state: State, code: str, *, assignment: Mapping[str, int]) -> State:
    """``state`` with unit ``code`` moved to the target territory (no change when it is in
    it already, or no target is chosen)."""
    target = state.get("target")
    if target is None or code not in assignment:
        return state
    now = apply_moves(assignment, state.get("moves") or [])
    if now.get(code) == int(target):
        return state
    return {**state, "moves": [*(state.get("moves") or []), [str(code), int(target)]]}


def undo(state: State) -> State:
    """``state`` without its last move."""
    return {**state, "moves": list(state.get("moves") or [])[:-1]}


def query_of_state(state: State) -> str:
    """The link of ``state``: ``?plan=12&compare=10&target=3&move=C01:3&move=C02:3``."""
    params: list[tuple[str, str]] = []
    if state.get("plan") is not None:
        params.append(("plan", str(state["plan"])))
    if state.get("compare") is not None:
        params.append(("compare", str(state["compare"])))
    if state.get("target") is not None:
        params.append(("target", str(state["target"])))
    moves = list(state.get("moves") or [])[:MAX_LINK_MOVES]
    params += [("move", f"{code}:{territory}") for code, territory in moves]
    return "?" + urlencode(params) if params else ""


def state_of_query(query: str | None) -> State:
    """The state a link sets; what it gets wrong is left out (no plan: nothing)."""
    params = parse_qs((query or "").lstrip("?"))
    one = {k: v[-1] for k, v in params.items() if v}
    state = empty_state()
    for key in ("plan", "compare", "target"):
        if str(one.get(key, "")).isdigit():
            state[key] = int(one[key])
    if state["plan"] is None:
        return empty_state()
    moves = []
    for text in params.get("move", [])[:MAX_LINK_MOVES]:
        code, _, territory = text.rpartition(":")
        if code and territory.isdigit() and int(territory) >= 1:
            moves.append([code, int(territory)])
    state["moves"] = moves
    return state


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _number(value: Any, digits: int = 0) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def territory_rows(
    table: pd.DataFrame, territories: pd.DataFrame | None, *, criteria: Sequence[str]
) -> list[dict[str, Any]]:
    """One dict per territory for the table: number, name, rep, colour, units, each
    criterion's total and deviation (per cent), Polsby-Popper, contiguous.

    ``table`` is a design's ``territories`` (``gcrm.territories.DesignResult``);
    ``territories`` the plan's (``territory``, ``name``, ``rep``), or None.
    """
    names: dict[int, tuple[str, str]] = {}
    if territories is not None and not territories.empty:
        for rec in territories.to_dict("records"):
            names[int(rec["territory"])] = (_text(rec.get("name")), _text(rec.get("rep")))
    rows = []
    # k rows (tens at most): a loop over dicts is the plain way to build them.
    for rec in table.to_dict("records"):
        t = int(rec["territory"])
        name, rep = names.get(t, (f"Territory {t}", ""))
        row: dict[str, Any] = {
            "territory": t,
            "name": name,
            "rep": rep,
            "colour": territory_colour(t),
            "units": int(rec["units"]),
        }
        for c in criteria:
            row[c] = _number(rec.get(c))
            row[f"{c}_deviation"] = _number(100 * float(rec[f"{c}_deviation"]), 1)
        row["polsby_popper"] = _number(rec.get("polsby_popper"), 3)
        row["moment_of_inertia"] = _number(rec.get("moment_of_inertia"), 3)
        row["contiguous"] = bool(rec.get("contiguous"))
        rows.append(row)
    return rows


def balance_figure(rows: Sequence[Mapping[str, Any]], *, criteria: Sequence[str]) -> dict:
    """Grouped bars: each territory's deviation from the mean (per cent) per criterion, with
    the band of +/- :data:`BAND` shaded (a plotly figure as a dict)."""
    territories = [f"T{r['territory']}" for r in rows]
    bars = [
        {
            "type": "bar",
            "name": CRITERIA.get(c, c),
            "x": territories,
            "y": [r.get(f"{c}_deviation") for r in rows],
            "hovertemplate": "%{x}: %{y:+.1f} %<extra>" + CRITERIA.get(c, c) + "</extra>",
        }
        for c in criteria
    ]
    band = 100 * BAND
    return {
        "data": bars,
        "layout": {
            "barmode": "group",
            "height": 300,
            "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
            "yaxis": {"title": {"text": "deviation from the mean (%)"}, "zeroline": True},
            "legend": {"orientation": "h", "y": -0.2},
            "shapes": [
                {
                    "type": "rect",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": -band,
                    "y1": band,
                    "fillcolor": "rgba(26,152,80,0.12)",
                    "line": {"width": 0},
                    "layer": "below",
                }
            ],
        },
    }


def unit_hideout(
    codes: Sequence[str], assignment: Mapping[str, int], *, moved: Sequence[str] = ()
) -> dict[str, Any]:
    """What the unit layer's style and tooltips read (``hideout``): each unit's territory by
    code, the palette (territory t has colour ``palette[(t - 1) % 30]``) and the codes moved
    by the pending edit. Small (a number per unit), so a move repaints quickly."""
    return {
        "territory": {str(c): int(assignment[c]) for c in codes if c in assignment},
        "palette": list(TERRITORY_PALETTE),
        "moved": list(moved),
    }


def diff_rows(moved: pd.DataFrame) -> list[dict[str, Any]]:
    """The moved units of a comparison: code, name, from, to and their weights."""
    rows = []
    shown = [c for c in SHOWN_WEIGHTS if c in moved.columns]
    for rec in moved.to_dict("records"):
        row = {
            "code": str(rec["code"]),
            "name": _text(rec.get("name")),
            "from": int(rec["from_territory"]),
            "to": int(rec["to_territory"]),
        }
        row.update({w: _number(rec[w]) for w in shown})
        rows.append(row)
    return rows


def flow_rows(flows: pd.DataFrame) -> list[dict[str, Any]]:
    """The flows of a comparison: from -> to, units, customers, revenue."""
    shown = [c for c in SHOWN_WEIGHTS if c in flows.columns]
    return [
        {
            "from": int(rec["from_territory"]),
            "to": int(rec["to_territory"]),
            "units": int(rec["units"]),
            **{w: _number(rec[w]) for w in shown},
        }
        for rec in flows.to_dict("records")
    ]


#: What publishing does, as the confirmation says it before it is done.
PUBLISH_EFFECT = (
    "every customer and lead gets its territory and rep; the plan becomes the area level "
    "territory (its units the level territory_unit), replacing any plan published before; "
    "the cube is rebuilt, about a minute on the Bay Area."
)


def publish_message(label: str | None) -> str:
    """The confirmation asked before publishing the plan ``label`` (``name@version``)."""
    plan = f"plan {label}" if label else "the plan on screen"
    return f"Publish {plan}? {PUBLISH_EFFECT[0].upper()}{PUBLISH_EFFECT[1:]}"


def publication_note(
    publications: Sequence[Mapping[str, Any]], plan: int | None
) -> tuple[str, str | None]:
    """What the page says of ``plan`` beside the plan picker, and the level it is published
    as (None: not published, nothing to report on).

    ``publications`` are :func:`gcrm.territories.read_publications`' rows (one per level
    published now): the plan's own says where and when; another's says which plan the level
    holds instead.
    """
    if plan is None:
        return "", None
    own = [p for p in publications if int(p["plan_id"]) == int(plan)]
    if own:
        notes = [
            f"Published as level {p['level']} on {_day(p['published_at'])} by {p['published_by']}."
            for p in own
        ]
        return " ".join(notes), str(own[0]["level"])
    if not publications:
        return "Not published: no plan is published yet.", None
    others = "; ".join(
        f"level {p['level']} is {p['plan_label']} (since {_day(p['published_at'])})"
        for p in publications
    )
    return f"Not published: {others}.", None


def _day(moment: Any) -> str:
    return str(pd.Timestamp(moment).date()) if moment is not None else "?"
