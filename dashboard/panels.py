"""What the dashboard's panels show: the options of its controls, the choropleth's classes
and legend, the KPI cards, the chart and the top-areas table. Plain functions over the cube,
called by :mod:`dashboard.callbacks`, so they can be tested without a browser."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from dashboard.view import View, area_coord, area_label, scope_area, table_scope
from gcrm.areas import AreaLevel
from gcrm.core import APPROXIMATE_PRECISIONS, ValidationError, is_all, parse_period
from gcrm.cube import (
    HOTSPOT_CLASSES,
    MEASURES,
    area_sources,
    compare_periods,
    measure_unit,
    periods,
    safe_ratio,
    select_measure,
    time_series,
    top_level,
)
from gcrm.maps import (
    HOTSPOT_COLOURS,
    SCHEMES,
    Classes,
    classify_values,
    format_value,
    is_share,
)
from gcrm.maps.style import (
    CUSTOMER_COLOUR,
    DASHBOARD_PALETTE,
    DIVERGING_PALETTE,
    NO_DATA_COLOUR,
    OTHER_COLOUR,
    PRECISION_COLOURS,
)

__all__ = [
    "APPROXIMATE_LABEL",
    "COMPARE_OPTIONS",
    "KPI_MEASURES",
    "POINT_COLOURS",
    "approximate_values",
    "area_colours",
    "area_tooltips",
    "change_text",
    "change_tooltips",
    "choropleth_classes",
    "compare_options",
    "comparison_base",
    "diverging_classes",
    "hotspot_colours",
    "hotspot_legend",
    "hotspot_tooltips",
    "months_between",
    "view_comparison",
    "kpi_cards",
    "kpi_values",
    "legend_items",
    "measure_options",
    "period_label",
    "period_options",
    "point_colour_options",
    "point_hideout",
    "point_legend_items",
    "scheme_options",
    "segment_options",
    "series_figure",
    "table_rows",
    "top_areas",
    "view_values",
]


def measure_options() -> list[dict[str, str]]:
    """Dropdown options for every cube measure."""
    return [{"label": m.label, "value": name} for name, m in MEASURES.items()]


def _period_label(period: str) -> str:
    if "-Q" in period:
        year, quarter = period.split("-")
        return f"{quarter} {year}"
    if "-" in period:
        return pd.Timestamp(f"{period}-01").strftime("%b %Y")
    return period


def period_options(ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options: the whole range, then years, quarters and months, newest first."""
    labels = list(periods(ds))
    years = sorted((p for p in labels if "-" not in p), reverse=True)
    quarters = sorted((p for p in labels if "-Q" in p), reverse=True)
    months = sorted((p for p in labels if "-" in p and "-Q" not in p), reverse=True)
    options = [{"label": "Whole range", "value": "all"}]
    options += [{"label": _period_label(p), "value": p} for p in years + quarters + months]
    return options


def segment_options(ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options: all segments, then each segment of the cube."""
    segments = [str(s) for s in ds["segment"].values]
    return [{"label": "All segments", "value": "all"}] + [
        {"label": s.replace("_", " ").capitalize(), "value": s} for s in segments
    ]


def _period_arg(period: str | None) -> str | None:
    return None if is_all(period) else period


#: How customer points can be coloured: option value -> (label, palette by property).
POINT_COLOURS: dict[str, tuple[str, dict[str, str]]] = {
    "none": ("One colour", {}),
    "precision": ("Geocode precision", dict(PRECISION_COLOURS)),
}


def _check_colour_by(colour_by: str) -> dict[str, str]:
    if colour_by not in POINT_COLOURS:
        msg = f"colour_by={colour_by!r} is not a point colouring; use one of {list(POINT_COLOURS)}"
        raise ValidationError(msg)
    return POINT_COLOURS[colour_by][1]


def point_colour_options() -> list[dict[str, str]]:
    """Radio options for colouring the customer points."""
    return [{"label": label, "value": key} for key, (label, _) in POINT_COLOURS.items()]


def point_hideout(colour_by: str) -> dict[str, Any]:
    """The customer layer's ``hideout``: how ``gcrm.pointToLayer`` colours each point.

    With ``"precision"`` a point takes the colour of its ``geocode_precision`` property
    (:data:`gcrm.maps.PRECISION_COLOURS`, grey when unknown).
    """
    colours = _check_colour_by(colour_by)
    return {"kind": "customers", "colourBy": colour_by, "colors": colours, "other": OTHER_COLOUR}


def point_legend_items(colour_by: str) -> list[tuple[str, str]]:
    """``(colour, label)`` rows of the customer-point legend, best precision first."""
    colours = _check_colour_by(colour_by)
    if not colours:
        return [(CUSTOMER_COLOUR, "customer")]
    return [(colour, name) for name, colour in colours.items() if name != "none"]


def scheme_options() -> list[dict[str, str]]:
    """Options for how the map's values are classed (:data:`gcrm.maps.SCHEMES`)."""
    return [{"label": label, "value": key} for key, label in SCHEMES.items()]


def choropleth_classes(values: pd.Series, *, scheme: str = "quantiles") -> Classes:
    """The map's classes of ``values`` (:func:`gcrm.maps.classify_values`, dashboard colours)."""
    return classify_values(values, scheme=scheme, palette=DASHBOARD_PALETTE)


def area_colours(values: pd.Series, classes: Classes) -> dict[str, str]:
    """Fill colour per area id."""
    return {str(area): colour for area, colour in classes.colours_for(values).items()}


def _unit(measure: str, ds: xr.Dataset | None) -> str:
    """The unit ``measure`` is shown in: the cube's currency for money (none without a cube)."""
    return measure_unit(ds if ds is not None else _NO_CUBE, measure)


#: Stands for a cube where there is none: money is then shown without a currency.
_NO_CUBE = xr.Dataset()


def area_tooltips(
    values: pd.Series, ds: xr.Dataset, *, measure: str, period: str | None
) -> dict[str, str]:
    """The map's tooltip of each area in ``values``: its name, the measure's value in the
    period and, for a statistic or an estimate, where the figure comes from (source,
    vintage), one line each."""
    areas = [str(a) for a in values.index]
    if not areas:
        return {}
    names = ds["name"].sel(area=areas).values
    sources = area_sources(ds, measure, areas)
    label = MEASURES[measure].label
    when = "" if MEASURES[measure].kind in ("static", "ratio") else f", {period_label(period)}"
    unit = _unit(measure, ds)
    tips = {}
    for area, name, value in zip(areas, names, values.to_numpy(float), strict=True):
        lines = [str(name), f"{label}{when}: {format_value(value, unit=unit)}"]
        if sources[area]:
            lines.append(f"Source: {sources[area]}")
        tips[area] = "\n".join(lines)
    return tips


def legend_items(
    classes: Classes, *, measure: str, ds: xr.Dataset | None = None
) -> list[tuple[str, str]]:
    """``(colour, range text)`` rows of the legend, lowest class first, then "no data"."""
    return [*classes.legend(unit=_unit(measure, ds)), (NO_DATA_COLOUR, "no data")]


def view_values(
    ds: xr.Dataset, view: View, *, measure: str, period: str | None, segment: str | None
) -> pd.Series:
    """Values of ``measure`` for the areas drawn in ``view``."""
    return select_measure(
        ds,
        measure,
        level=view["level"],
        period=_period_arg(period),
        segment=segment or None,
        parent=view.get("parent") or None,
    )


def top_areas(
    values: pd.Series, ds: xr.Dataset, *, measure: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Rows of the top-areas table: rank, name, code, formatted value, share of the total."""
    ranked = values.dropna().sort_values(ascending=False).head(limit)
    total = float(values.sum(skipna=True))
    kind = str(getattr(MEASURES[measure], "kind", ""))
    unit = _unit(measure, ds)
    rows = []
    for rank, (area, value) in enumerate(ranked.items(), start=1):
        share = value / total if total and kind not in ("derived", "ratio") else float("nan")
        rows.append(
            {
                "rank": rank,
                "area": str(area),
                "code": str(ds["code"].sel(area=area).item()),
                "name": str(ds["name"].sel(area=area).item()),
                "value": format_value(float(value), unit=unit),
                "share": format_value(share, unit="share"),
            }
        )
    return rows


KPI_MEASURES: tuple[str, ...] = ("customers", "active", "revenue", "penetration")
APPROXIMATE_LABEL = "Placed approximately"


def approximate_values(ds: xr.Dataset, view: View) -> dict[str, float]:
    """Customers placed approximately (street level or coarser) in the scope of ``view``,
    and their share of the customers placed at all.

    From the cube's ``customers_by_precision``: the selected area, else the parent, else the
    region (the areas of the view's level, which tile it). NaN when the cube has no
    precision counts (built before they existed).
    """
    nan = {"approximate": float("nan"), "approximate_share": float("nan")}
    if "customers_by_precision" not in ds:
        return nan
    area = scope_area(view)
    if area:
        area_coord(ds, area, "level")  # a clear error for an unknown area
        counts = ds["customers_by_precision"].sel(area=area)
    else:
        counts = ds["customers_by_precision"].isel(
            area=np.flatnonzero(ds["level"].values == view["level"])
        )
        counts = counts.sum("area")
    approx = float(counts.sel(precision=list(APPROXIMATE_PRECISIONS)).sum())
    placed = float(counts.drop_sel(precision="none").sum())
    return {
        "approximate": approx,
        "approximate_share": approx / placed if placed else nan["approximate_share"],
    }


def kpi_values(
    ds: xr.Dataset, view: View, *, period: str | None, segment: str | None
) -> dict[str, float]:
    """Customers, active, revenue, penetration and approximately placed customers
    (:func:`approximate_values`) of the scope of ``view``.

    The scope is the selected area, else the parent, else the region (the sum over the areas
    of the view's level, which tile the region; penetration recomputed from the sums).
    """
    area = scope_area(view)
    level = area_coord(ds, area, "level") if area else view["level"]

    def measure(m: str) -> pd.Series:
        return select_measure(
            ds, m, level=level, period=_period_arg(period), segment=segment or None
        )

    if area:
        values = {m: float(measure(m).get(area, np.nan)) for m in KPI_MEASURES}
        return values | approximate_values(ds, view)
    sums = {
        m: float(measure(m).sum(skipna=True))
        for m in ("customers", "active", "revenue", "households")
    }
    households = sums.pop("households")
    sums["penetration"] = sums["active"] / households if households else float("nan")
    return sums | approximate_values(ds, view)


def kpi_cards(
    values: Mapping[str, float],
    *,
    ds: xr.Dataset | None = None,
    base: Mapping[str, float] | None = None,
    base_period: str | None = None,
) -> list[tuple[str, str, str]]:
    """``(key, label, formatted value)`` per KPI card (money in ``ds``' currency).

    With ``base`` (the same KPIs in ``base_period``) a figure reads with its change, e.g.
    "€1,234 (+8.3% vs 2024-Q2)". The last card reads e.g. "Placed approximately:
    12 customers (3.4%)".
    """

    def shown(m: str) -> str:
        text_ = format_value(values[m], unit=_unit(m, ds))
        if base is None or m not in base:
            return text_
        return f"{text_} ({change_text(values[m], base[m])} vs {base_period})"

    cards = [
        (m, MEASURES[m].label, shown(m)) for m in KPI_MEASURES if m in values and m in MEASURES
    ]
    if "approximate" in values:
        count = values["approximate"]
        share = format_value(values.get("approximate_share"), unit="share")
        text_ = "–" if not math.isfinite(count) else f"{count:,.0f} customers ({share})"
        cards.append(("approximate", APPROXIMATE_LABEL, text_))
    return cards


def series_figure(
    ds: xr.Dataset,
    view: View,
    *,
    measure: str,
    segment: str | None,
    region_name: str,
    period: str | None = None,
    base_period: str | None = None,
) -> tuple[str, go.Figure]:
    """Title and Plotly line chart of ``measure`` by month for the scope of ``view``.

    With ``base_period`` (the period ``period`` is compared with) a second, dashed line
    draws the series as it was that many months earlier, shifted to line up: at
    ``period``'s months it shows the base period's.
    """
    area = scope_area(view)
    series = time_series(
        ds, measure, area=area, level=None if area else view["level"], segment=segment or None
    )
    label = MEASURES[measure].label
    title = f"{label} by month · {area_label(ds, area, region_name=region_name)}"
    x = pd.to_datetime(series.index)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=series.to_numpy(dtype=float),
            mode="lines+markers",
            line={"color": "#2c7fb8", "width": 2},
            marker={"size": 4},
            name=label,
            hovertemplate="%{x|%b %Y}: %{y:,.4~g}<extra></extra>",
        )
    )
    compared = base_period is not None and period is not None and not is_all(period)
    if compared:
        shift = months_between(str(base_period), str(period))
        fig.add_trace(
            go.Scatter(
                x=x,
                # Months are consecutive in the cube: shifting by rows shifts by months.
                y=series.shift(shift).to_numpy(dtype=float),
                mode="lines",
                line={"color": "#969696", "width": 2, "dash": "dash"},
                name=f"{shift} months earlier (base {base_period})",
                hovertemplate="%{x|%b %Y}: %{y:,.4~g}<extra>base</extra>",
            )
        )
    fig.update_layout(
        margin={"l": 48, "r": 12, "t": 8, "b": 32},
        height=260,
        template="plotly_white",
        yaxis_title=label,
        showlegend=compared,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        font={"family": "Inter, system-ui, sans-serif", "size": 12},
    )
    if is_share(_unit(measure, ds)):
        fig.update_yaxes(tickformat=".0%")
    return title, fig


def table_rows(
    ds: xr.Dataset,
    view: View,
    levels: Sequence[AreaLevel],
    *,
    measure: str,
    period: str | None,
    segment: str | None,
    limit: int = 8,
    compare: str | None = None,
) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Level, parent and rows of the top-areas table; the selected area is kept in the rows.

    With ``compare`` (``"previous"`` or ``"yoy"``) and one period, each row also holds
    ``base`` (the value in the base period) and ``change`` (the % change), formatted.

    Raises
    ------
    ValidationError
        When the base period is not wholly inside the cube (:func:`comparison_base`).
    """
    level, parent = table_scope(view, levels)
    scope = {"level": level, "parent": parent}
    base = comparison_base(ds, period=period, compare=compare)
    table = None
    if base is None:
        values = view_values(ds, scope, measure=measure, period=period, segment=segment)
    else:
        table = view_comparison(
            ds, scope, measure=measure, period=str(period), compare=str(compare), segment=segment
        )
        values = table["value"]
    rows = top_areas(values, ds, measure=measure, limit=limit)
    selected = view.get("selected")
    if selected and selected in values.index and all(r["area"] != selected for r in rows):
        ranked = top_areas(values, ds, measure=measure, limit=len(values))
        rows.append(next(r for r in ranked if r["area"] == selected))
    if table is not None:
        unit = _unit(measure, ds)
        for row in rows:
            before = float(table.at[row["area"], "base"])
            row["base"] = format_value(before, unit=unit)
            row["change"] = change_text(float(table.at[row["area"], "value"]), before)
    return level, parent, rows


def period_label(period: str | None) -> str:
    """Human label of a period value (``"all"``/``None``: the whole range)."""
    return "whole range" if _period_arg(period) is None else _period_label(str(period))


# ------------------------------------------------------------------ comparing periods

#: The "Compare with" control: option value -> label (``"none"``: no comparison).
COMPARE_OPTIONS: dict[str, str] = {
    "none": "Nothing",
    "previous": "Previous period",
    "yoy": "Same period last year",
}


def compare_options() -> list[dict[str, str]]:
    """Dropdown options of the "Compare with" control (:data:`COMPARE_OPTIONS`)."""
    return [{"label": label, "value": key} for key, label in COMPARE_OPTIONS.items()]


def comparison_base(ds: xr.Dataset, *, period: str | None, compare: str | None) -> str | None:
    """The period ``period`` is compared with, or ``None`` when there is no comparison
    (``compare`` is ``"none"``/``None``, or the period is the whole range).

    Raises
    ------
    ValidationError
        When ``compare`` is unknown, or the base period is not wholly inside the cube (the
        message, :func:`gcrm.cube.compare_periods`', names the cube's range).
    """
    if compare in (None, "none") or is_all(period):
        return None
    if compare not in COMPARE_OPTIONS:
        msg = f"compare={compare!r} is not a comparison; use one of {list(COMPARE_OPTIONS)}"
        raise ValidationError(msg)
    # The library checks both periods against the cube's months; one measure at the top
    # level is a small slice.
    check = compare_periods(
        ds, "customers", level=top_level(ds), period=str(period), compare=str(compare)
    )
    return str(check.attrs["base_period"])


def view_comparison(
    ds: xr.Dataset,
    view: View,
    *,
    measure: str,
    period: str,
    compare: str,
    segment: str | None,
) -> pd.DataFrame:
    """:func:`gcrm.cube.compare_periods` for the areas drawn in ``view``: ``value``,
    ``base``, ``change`` and ``pct_change`` per area id."""
    return compare_periods(
        ds,
        measure,
        level=view["level"],
        period=period,
        compare=compare,
        segment=None if is_all(segment) else segment,
        parent=view.get("parent") or None,
    )


def change_text(value: float, base: float) -> str:
    """The change from ``base`` to ``value`` in percent with its sign, ``"+8.3%"``; "–"
    where the base is 0 or missing (as :func:`gcrm.cube.compare_periods` leaves it)."""
    pct = float(safe_ratio(value - base, abs(base)))
    return format_value(pct, unit="share") if not math.isfinite(pct) else f"{pct:+.1%}"


def diverging_classes(changes: pd.Series) -> Classes:
    """Classes of ``changes`` (fractions, 0.083 for +8.3%) centred on zero: equal steps from
    -m to +m, m the largest change either way, so the middle class (near white) holds
    zero and equal changes up and down take colours equally strong."""
    y = changes.to_numpy(dtype=float)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return Classes(breaks=(), colours=(), scheme="diverging")
    reach = float(np.abs(y).max())
    middle = DIVERGING_PALETTE[len(DIVERGING_PALETTE) // 2]
    if reach == 0:
        return Classes((0.0, 0.0), (middle,), "diverging")
    breaks = np.linspace(-reach, reach, len(DIVERGING_PALETTE) + 1)
    return Classes(tuple(float(b) for b in breaks), DIVERGING_PALETTE, "diverging")


def change_tooltips(table: pd.DataFrame, ds: xr.Dataset, *, measure: str) -> dict[str, str]:
    """The map's tooltip of each area of a comparison (:func:`view_comparison`): its name,
    the value in the period and in the base period, and the change."""
    if table.empty:
        return {}
    period, base = table.attrs["period"], table.attrs["base_period"]
    label, unit = MEASURES[measure].label, _unit(measure, ds)
    names = ds["name"].sel(area=[str(a) for a in table.index]).values
    return {
        str(area): "\n".join(
            [
                str(name),
                f"{label}, {period}: {format_value(row.value, unit=unit)}",
                f"{label}, {base}: {format_value(row.base, unit=unit)}",
                f"Change: {change_text(row.value, row.base)}",
            ]
        )
        for area, name, row in zip(table.index, names, table.itertuples(), strict=True)
    }


def months_between(earlier: str, later: str) -> int:
    """Months from the start of period ``earlier`` to the start of ``later``."""
    start, stop = (pd.Timestamp(parse_period(p).start) for p in (earlier, later))
    return (stop.year - start.year) * 12 + stop.month - start.month


# ------------------------------------------------------------------ hot spots


def hotspot_colours(result: pd.DataFrame) -> dict[str, str]:
    """Fill colour per area id of a :func:`gcrm.cube.find_hotspots` result, by class."""
    colours = result["cluster"].map(HOTSPOT_COLOURS).fillna(NO_DATA_COLOUR)
    return dict(zip(result["area_id"].astype(str), colours, strict=True))


def hotspot_legend(result: pd.DataFrame) -> tuple[str, list[tuple[str, str]], str]:
    """Title, ``(colour, "class (count)")`` rows and the method's line of the hot spot
    legend: e.g. "Getis-Ord Gi* · alpha 0.05 · Benjamini-Hochberg false discovery rate ·
    999 permutations"."""
    meta = result.attrs
    counts = result["cluster"].value_counts()
    rows = [
        (HOTSPOT_COLOURS[name], f"{name} ({counts.get(name, 0)})")
        for name in HOTSPOT_CLASSES[meta["method"]]
        if counts.get(name, 0) or name != HOTSPOT_CLASSES[meta["method"]][-1]
    ]
    title = f"Hot spots of {MEASURES[meta['measure']].label} · {period_label(meta['period'])}"
    method = (
        f"{meta['method_label']} · alpha {meta['alpha']:g} · {meta['correction_label']} · "
        f"{meta['permutations']} permutations"
    )
    return title, rows, method


def hotspot_tooltips(result: pd.DataFrame) -> dict[str, str]:
    """The map's tooltip of each area of a hot spot result: name, value, class, adjusted
    p-value."""
    unit = str(result.attrs.get("unit", ""))
    label = MEASURES[result.attrs["measure"]].label
    return {
        str(row.area_id): "\n".join(
            [
                str(row.name),
                f"{label}: {format_value(row.value, unit=unit)}",
                f"Class: {row.cluster}",
                f"Adjusted p: {'–' if pd.isna(row.p_adjusted) else f'{row.p_adjusted:.3f}'}",
            ]
        )
        for row in result.itertuples()
    }
