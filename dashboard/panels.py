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
from gcrm.core import APPROXIMATE_PRECISIONS, ValidationError, is_all
from gcrm.cube import MEASURES, area_sources, measure_unit, periods, select_measure, time_series
from gcrm.maps import SCHEMES, Classes, classify_values, format_value, is_share
from gcrm.maps.style import (
    CUSTOMER_COLOUR,
    DASHBOARD_PALETTE,
    NO_DATA_COLOUR,
    OTHER_COLOUR,
    PRECISION_COLOURS,
)

__all__ = [
    "APPROXIMATE_LABEL",
    "KPI_MEASURES",
    "POINT_COLOURS",
    "approximate_values",
    "area_colours",
    "area_tooltips",
    "choropleth_classes",
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
    values: Mapping[str, float], *, ds: xr.Dataset | None = None
) -> list[tuple[str, str, str]]:
    """``(key, label, formatted value)`` per KPI card (money in ``ds``' currency).

    The last card reads e.g. "Placed approximately: 12 customers (3.4%)".
    """
    cards = [
        (m, MEASURES[m].label, format_value(values[m], unit=_unit(m, ds)))
        for m in KPI_MEASURES
        if m in values and m in MEASURES
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
) -> tuple[str, go.Figure]:
    """Title and Plotly line chart of ``measure`` by month for the scope of ``view``."""
    area = scope_area(view)
    series = time_series(
        ds, measure, area=area, level=None if area else view["level"], segment=segment or None
    )
    label = MEASURES[measure].label
    title = f"{label} by month · {area_label(ds, area, region_name=region_name)}"
    fig = go.Figure(
        go.Scatter(
            x=pd.to_datetime(series.index),
            y=series.to_numpy(dtype=float),
            mode="lines+markers",
            line={"color": "#2c7fb8", "width": 2},
            marker={"size": 4},
            name=label,
            hovertemplate="%{x|%b %Y}: %{y:,.4~g}<extra></extra>",
        )
    )
    fig.update_layout(
        margin={"l": 48, "r": 12, "t": 8, "b": 32},
        height=260,
        template="plotly_white",
        yaxis_title=label,
        showlegend=False,
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
) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Level, parent and rows of the top-areas table; the selected area is kept in the rows."""
    level, parent = table_scope(view, levels)
    values = view_values(
        ds, {"level": level, "parent": parent}, measure=measure, period=period, segment=segment
    )
    rows = top_areas(values, ds, measure=measure, limit=limit)
    selected = view.get("selected")
    if selected and selected in values.index and all(r["area"] != selected for r in rows):
        ranked = top_areas(values, ds, measure=measure, limit=len(values))
        rows.append(next(r for r in ranked if r["area"] == selected))
    return level, parent, rows


def period_label(period: str | None) -> str:
    """Human label of a period value (``"all"``/``None``: the whole range)."""
    return "whole range" if _period_arg(period) is None else _period_label(str(period))
