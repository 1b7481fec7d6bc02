"""Did the campaign work? Response rate of targets and controls per area, uplift with an
interval, revenue per member since the start, and the same over all areas.

Uplift is the target group's response rate minus the control group's. Its interval is the
normal (Wald) approximation of a difference of two proportions,
``uplift ± z * sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c)`` with ``z`` = 1.96 for 95 %:
simple, and honest enough to show when an area's groups are too small to tell (the interval
then spans zero widely). An area without controls (or targets) has no uplift.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import folium
import numpy as np
import pandas as pd
from scipy.stats import norm
from sqlalchemy import Connection, text

from gcrm.areas import level_names, read_areas
from gcrm.campaigns.selection import Campaign, read_campaign
from gcrm.core import ValidationError
from gcrm.io import TABLE_FORMATS, check_suffix, write_frame
from gcrm.maps import classify_values, format_value, save_offline
from gcrm.maps.folium_layers import Attribution, Legend, add_area_layer
from gcrm.maps.style import DIVERGING_PALETTE, NO_DATA_COLOUR
from gcrm.store import load_queries

__all__ = [
    "OVERALL",
    "RESULT_COLUMNS",
    "RESULT_FORMATS",
    "build_results_map",
    "campaign_results",
    "uplift_interval",
    "write_results",
]

_SQL = load_queries(__package__, "campaigns.sql")

#: The ``area`` of the row over all areas.
OVERALL = "all"
#: The columns of :func:`campaign_results`, in order.
RESULT_COLUMNS = (
    "area", "code", "name", "targets", "controls", "target_responders", "control_responders",
    "target_rate", "control_rate", "uplift", "uplift_low", "uplift_high",
    "target_revenue_per_member", "control_revenue_per_member", "revenue_uplift",
)  # fmt: skip
RESULT_FORMATS = (*TABLE_FORMATS, ".html")


def uplift_interval(
    responders_t: np.ndarray | float,
    members_t: np.ndarray | float,
    responders_c: np.ndarray | float,
    members_c: np.ndarray | float,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uplift (target rate - control rate) and its Wald interval, NaN where a group is empty.

    Parameters
    ----------
    responders_t, members_t, responders_c, members_c
        Responders and members of the target and the control group (arrays or numbers).
    confidence
        The interval's confidence, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        ``(uplift, low, high)``.

    Raises
    ------
    ValidationError
        When ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        msg = f"confidence={confidence!r} must be between 0 and 1, e.g. 0.95"
        raise ValidationError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_t = np.asarray(members_t, dtype=float)
        n_c = np.asarray(members_c, dtype=float)
        p_t = np.where(n_t > 0, np.asarray(responders_t, dtype=float) / n_t, np.nan)
        p_c = np.where(n_c > 0, np.asarray(responders_c, dtype=float) / n_c, np.nan)
        uplift = p_t - p_c
        se = np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    z = float(norm.ppf(0.5 + confidence / 2))
    return uplift, uplift - z * se, uplift + z * se


def _counts(
    conn: Connection, found: Campaign, *, level: str, outcomes: Sequence[str] | None
) -> tuple[pd.DataFrame, bool]:
    with_orders = found.kind == "customers" and bool(
        conn.execute(text(_SQL["orders_since"]), {"starts_on": found.starts_on}).scalar()
    )
    result = conn.execute(
        text(_SQL["results"]),
        {
            "campaign_id": found.id,
            "level": level,
            "outcomes": [o.strip().lower() for o in outcomes] if outcomes else None,
            "with_orders": with_orders,
            "starts_on": found.starts_on,
        },
    )
    rows = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return rows, with_orders


def campaign_results(
    conn: Connection,
    campaign: str | int,
    *,
    level: str,
    outcomes: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Response rate and uplift of ``campaign`` per area of ``level``, and over all areas.

    Members count in the area they stood in when the campaign was made; a member without
    an area of ``level`` counts in the overall row only. Everything is counted in the
    caller's scope (row-level security on members, responses and orders).

    Parameters
    ----------
    conn
        A connection to the gcrm database.
    campaign
        The campaign's id or name.
    level
        An area level, e.g. ``"district"``.
    outcomes
        The outcomes that count as a response [default: every outcome].
    confidence
        The confidence of the uplift interval.

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS`, one row per area with members (by code), then the row of
        ``area`` :data:`OVERALL`. Rates are shares in [0, 1]; revenue per member (orders
        dated on or after the start, customers campaigns only) is NaN when no order is.
        ``attrs`` carry the campaign, level, outcomes and confidence.

    Raises
    ------
    NotFoundError
        When there is no such campaign.
    ValidationError
        When ``level`` is not an area level.
    """
    levels = level_names(conn)
    if level not in levels:
        msg = f"level={level!r} is not an area level; use one of {levels}"
        raise ValidationError(msg)
    found = read_campaign(conn, campaign)
    rows, with_orders = _counts(conn, found, level=level, outcomes=outcomes)
    rows["key"] = np.where(rows["overall"], OVERALL, rows["code"].fillna(""))
    rows = rows[rows["key"] != ""]
    wide = rows.pivot_table(
        index="key",
        columns="member_group",
        values=["members", "responders", "revenue"],
        aggfunc="sum",
        fill_value=0,
    )
    wide.columns = [f"{group}_{value}" for value, group in wide.columns]
    for group in ("target", "control"):
        for value in ("members", "responders", "revenue"):
            if f"{group}_{value}" not in wide:
                wide[f"{group}_{value}"] = 0
    keys = [k for k in sorted(wide.index) if k != OVERALL] + [OVERALL]
    wide = wide.reindex(keys, fill_value=0)
    uplift, low, high = uplift_interval(
        wide["target_responders"],
        wide["target_members"],
        wide["control_responders"],
        wide["control_members"],
        confidence=confidence,
    )
    names = {r[0]: r[1] for r in conn.execute(text(_SQL["area_names"]), {"level": level})}
    with np.errstate(divide="ignore", invalid="ignore"):
        t_rate = wide["target_responders"] / wide["target_members"].where(
            wide["target_members"] > 0
        )
        c_rate = wide["control_responders"] / wide["control_members"].where(
            wide["control_members"] > 0
        )
        t_rev = wide["target_revenue"] / wide["target_members"].where(wide["target_members"] > 0)
        c_rev = wide["control_revenue"] / wide["control_members"].where(wide["control_members"] > 0)
    if not with_orders:
        t_rev = c_rev = pd.Series(np.nan, index=wide.index)
    out = pd.DataFrame(
        {
            "area": [k if k == OVERALL else f"{level}:{k}" for k in wide.index],
            "code": [None if k == OVERALL else k for k in wide.index],
            "name": [names.get(k, "All areas" if k == OVERALL else None) for k in wide.index],
            "targets": wide["target_members"].astype(int).to_numpy(),
            "controls": wide["control_members"].astype(int).to_numpy(),
            "target_responders": wide["target_responders"].astype(int).to_numpy(),
            "control_responders": wide["control_responders"].astype(int).to_numpy(),
            "target_rate": t_rate.to_numpy(float),
            "control_rate": c_rate.to_numpy(float),
            "uplift": np.asarray(uplift, float),
            "uplift_low": np.asarray(low, float),
            "uplift_high": np.asarray(high, float),
            "target_revenue_per_member": t_rev.to_numpy(float),
            "control_revenue_per_member": c_rev.to_numpy(float),
        }
    )
    out["revenue_uplift"] = out["target_revenue_per_member"] - out["control_revenue_per_member"]
    out.attrs.update(
        campaign=found.name,
        campaign_id=found.id,
        kind=found.kind,
        level=level,
        outcomes=list(outcomes or []),
        confidence=confidence,
        starts_on=str(found.starts_on),
    )
    return out


def build_results_map(conn: Connection, results: pd.DataFrame) -> folium.Map:
    """An offline map of :func:`campaign_results`: the targets' response rate and the uplift
    per area, one layer each, with both groups' figures and the interval in the tooltips."""
    meta = results.attrs
    areas = read_areas(conn, level=meta["level"])
    per_area = results[results["area"] != OVERALL].set_index("area")
    shown = areas.join(per_area.drop(columns=["code", "name"]), on="area_id")
    pct = {c: [format_value(v, unit="share") for v in shown[c]] for c in _PCT_COLUMNS}
    labelled = shown.assign(
        **{f"{c}_text": v for c, v in pct.items()},
        targets_text=shown["targets"].map(lambda v: "–" if pd.isna(v) else f"{int(v)}"),
        controls_text=shown["controls"].map(lambda v: "–" if pd.isna(v) else f"{int(v)}"),
    )
    tooltips = [
        ("name", "Area"),
        ("targets_text", "Targets"),
        ("controls_text", "Controls"),
        ("target_rate_text", "Target response rate"),
        ("control_rate_text", "Control response rate"),
        ("uplift_text", "Uplift"),
        ("uplift_low_text", "Uplift, low"),
        ("uplift_high_text", "Uplift, high"),
    ]
    m = folium.Map(tiles=None, control_scale=True, maxZoom=19, minZoom=3)
    minx, miny, maxx, maxy = areas.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    legend = []
    for column, title, palette, show in (
        ("target_rate", "Target response rate", None, False),
        ("uplift", "Uplift (target - control rate)", DIVERGING_PALETTE, True),
    ):
        values = shown[column].astype(float)
        classes = (
            classify_values(values, palette=palette, k=min(5, len(palette)))
            if palette
            else classify_values(values)
        )
        entries = classes.legend(unit="share")
        if not np.isfinite(values.to_numpy()).all():
            entries.append((NO_DATA_COLOUR, "no data"))
        layer = add_area_layer(
            m, labelled, fill=classes.colours_for(values), tooltip_fields=tooltips, name=title
        )
        layer.show = show
        legend.append((title, entries))
    overall = results[results["area"] == OVERALL].iloc[0]
    title = (
        f"Campaign {meta['campaign']} by {meta['level']}: overall uplift "
        f"{format_value(overall['uplift'], unit='share')} "
        f"({format_value(overall['uplift_low'], unit='share')} to "
        f"{format_value(overall['uplift_high'], unit='share')}, "
        f"{meta['confidence']:.0%})"
    )
    m.add_child(Legend([(title, []), *legend]))
    m.add_child(Attribution())
    folium.LayerControl(collapsed=False).add_to(m)
    return m


_PCT_COLUMNS = ("target_rate", "control_rate", "uplift", "uplift_low", "uplift_high")


def write_results(conn: Connection, results: pd.DataFrame, *, path: Path) -> Path:
    """Write :func:`campaign_results` to ``path``: ``.csv``, ``.xlsx`` or an offline ``.html``
    map (see :func:`build_results_map`).

    Raises
    ------
    ValidationError
        When the suffix is none of :data:`RESULT_FORMATS`.
    """
    suffix = check_suffix(Path(path), RESULT_FORMATS)
    if suffix == ".html":
        return save_offline(build_results_map(conn, results), Path(path))
    return write_frame(
        results,
        Path(path),
        layer="results",
        formats=TABLE_FORMATS,
        number_formats={c: "0.0%" for c in _PCT_COLUMNS},
    )
