"""What the dashboard's panels show: the options of its controls, the choropleth's classes
and legend, the KPI cards, the chart (with its forecast) and the top-areas table. Plain functions over the cube,
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
    FORECAST_MEASURES,
    HOTSPOT_CLASSES,
    MEASURES,
    NO_BRANCH,
    ORDER_MEASURES,
    Forecast,
    area_sources,
    compare_periods,
    measure_unit,
    order_members,
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
    "FORECAST_MAP_MEASURES",
    "FORECAST_MONTHS",
    "KPI_MEASURES",
    "POINT_COLOURS",
    "approximate_values",
    "branch_options",
    "channel_options",
    "area_colours",
    "area_tooltips",
    "change_text",
    "change_tooltips",
    "choropleth_classes",
    "compare_options",
    "comparison_base",
    "comparison_or_note",
    "diverging_classes",
    "forecast_legend",
    "forecast_months_label",
    "forecast_note",
    "forecast_tooltips",
    "hotspot_colours",
    "hotspot_legend",
    "hotspot_tooltips",
    "months_between",
    "kpi_note",
    "order_filter",
    "view_comparison",
    "kpi_cards",
    "kpi_values",
    "legend_items",
    "measure_label",
    "measure_options",
    "no_forecast_note",
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
    "value_shares",
    "view_values",
]


#: Months the dashboard forecasts (the chart's continuation and the map's forecast measures).
FORECAST_MONTHS = 12
#: The map's forecast measures: option value -> the cube measure forecast over the next
#: :data:`FORECAST_MONTHS` months (flows summed, stocks at the last month).
FORECAST_MAP_MEASURES: dict[str, str] = {
    "revenue_next_12m": "revenue",
    "active_next_12m": "active",
    "churned_next_12m": "churned",
}


def measure_label(measure: str) -> str:
    """What ``measure`` (a cube measure or one of :data:`FORECAST_MAP_MEASURES`) is called."""
    if measure in FORECAST_MAP_MEASURES:
        return f"{MEASURES[FORECAST_MAP_MEASURES[measure]].label}, next {FORECAST_MONTHS} months"
    return MEASURES[measure].label


def measure_options() -> list[dict[str, str]]:
    """Dropdown options for every cube measure, then the forecast measures."""
    names = [*MEASURES, *FORECAST_MAP_MEASURES]
    return [{"label": measure_label(name), "value": name} for name in names]


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


def channel_options(ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options: all channels, then each channel of the cube's orders."""
    return [{"label": "All channels", "value": "all"}] + [
        {"label": c.replace("_", " ").capitalize(), "value": c}
        for c in order_members(ds, "channel")
    ]


def branch_options(ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options: all branches, then each branch (code and name) of the cube."""
    codes = order_members(ds, "branch")
    names = [str(n) for n in ds["branch_name"].values] if "branch_name" in ds.coords else codes
    return [{"label": "All branches", "value": "all"}] + [
        {"label": name if code == NO_BRANCH else f"{code} · {name}", "value": code}
        for code, name in zip(codes, names, strict=True)
    ]


def order_filter(
    measure: str, *, channel: str | None = None, branch: str | None = None
) -> tuple[dict[str, str | None], str | None]:
    """The channel or branch filter :mod:`gcrm.cube` is asked with for ``measure``, and a
    note on what is not filtered.

    Only revenue and orders are split by channel and branch: another measure is shown for
    every channel and branch, with a note saying so. The cube stores the two splits apart,
    so with both chosen the channel is applied and the branch left out (the note says so).
    """
    given = {d: v for d, v in (("channel", channel), ("branch", branch)) if not is_all(v)}
    if not given:
        return {}, None
    note = None
    if len(given) == 2:
        given.pop("branch")
        note = (
            "Channel and branch filter one at a time (stored apart): showing channel "
            f"{channel}, all branches; set Branch to All branches."
        )
    if measure not in ORDER_MEASURES:
        dims = " or ".join(given)
        label = MEASURES[measure].label if measure in MEASURES else measure
        return {}, f"{label} is not split by {dims} (only revenue and orders are): all shown."
    return dict(given), note


def kpi_note(*, channel: str | None, branch: str | None) -> str | None:
    """The note under the KPI cards when a channel or branch is chosen: revenue follows it,
    customer counts (and penetration) are not split by it and stay every channel's."""
    orders, both = order_filter("revenue", channel=channel, branch=branch)
    if not orders:
        return None
    ((dim, value),) = orders.items()
    text = f"Revenue of {dim} {value}; customer counts are not split by {dim} (all shown)."
    return f"{both} {text}" if both else text


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
    ds: xr.Dataset,
    view: View,
    *,
    measure: str,
    period: str | None,
    segment: str | None,
    channel: str | None = None,
    branch: str | None = None,
) -> pd.Series:
    """Values of ``measure`` for the areas drawn in ``view`` (of one channel or branch as
    :func:`order_filter` applies them)."""
    return select_measure(
        ds,
        measure,
        level=view["level"],
        period=_period_arg(period),
        segment=segment or None,
        parent=view.get("parent") or None,
        **order_filter(measure, channel=channel, branch=branch)[0],
    )


def value_shares(values: pd.Series, *, measure: str) -> pd.Series:
    """Each area's share of the total of ``values``; NaN for a measure whose values do not
    add up (derived, ratio) or a total of 0."""
    total = float(values.sum(skipna=True))
    kind = str(getattr(MEASURES[measure], "kind", ""))
    if not total or kind in ("derived", "ratio"):
        return pd.Series(np.nan, index=values.index, dtype=float)
    return values.astype(float) / total


def top_areas(
    values: pd.Series, ds: xr.Dataset, *, measure: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Rows of the top-areas table: rank, name, code, formatted value, share of the total."""
    ranked = values.dropna().sort_values(ascending=False).head(limit)
    shares = value_shares(values, measure=measure)
    unit = _unit(measure, ds)
    rows = []
    for rank, (area, value) in enumerate(ranked.items(), start=1):
        share = shares[area]
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
    ds: xr.Dataset,
    view: View,
    *,
    period: str | None,
    segment: str | None,
    channel: str | None = None,
    branch: str | None = None,
) -> dict[str, float]:
    """Customers, active, revenue, penetration and approximately placed customers
    (:func:`approximate_values`) of the scope of ``view``.

    The scope is the selected area, else the parent, else the region (the sum over the areas
    of the view's level, which tile the region; penetration recomputed from the sums).
    Revenue is that of ``channel`` or ``branch``; customer counts are not split by them and
    stay those of every channel (:func:`order_filter`'s note says so).
    """
    area = scope_area(view)
    level = area_coord(ds, area, "level") if area else view["level"]

    def measure(m: str) -> pd.Series:
        return select_measure(
            ds,
            m,
            level=level,
            period=_period_arg(period),
            segment=segment or None,
            **order_filter(m, channel=channel, branch=branch)[0],
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
    "€1,234 (+8.3% vs Q2 2024)". The last card reads e.g. "Placed approximately:
    12 customers (3.4%)".
    """

    def shown(m: str) -> str:
        text_ = format_value(values[m], unit=_unit(m, ds))
        if base is None or m not in base:
            return text_
        return f"{text_} ({change_text(values[m], base[m])} vs {period_label(base_period)})"

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
    forecast: Forecast | None = None,
    channel: str | None = None,
    branch: str | None = None,
) -> tuple[str, go.Figure]:
    """Title and Plotly line chart of ``measure`` by month for the scope of ``view``.

    With ``base_period`` (the period ``period`` is compared with) a second, dashed line
    draws the series as it was that many months earlier, shifted to line up: at
    ``period``'s months it shows the base period's. With ``forecast`` (of the same measure
    and scope, :func:`gcrm.cube.forecast`) a dashed line continues the series over the
    forecast's months, in a light band of its 80% prediction interval.
    """
    area = scope_area(view)
    orders = order_filter(measure, channel=channel, branch=branch)[0]
    series = time_series(
        ds,
        measure,
        area=area,
        level=None if area else view["level"],
        segment=segment or None,
        channel=orders.get("channel"),
        branch=orders.get("branch"),
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
                name=f"{shift} months earlier (base {period_label(base_period)})",
                hovertemplate="%{x|%b %Y}: %{y:,.4~g}<extra>base</extra>",
            )
        )
    if forecast is not None:
        _add_forecast(fig, series, forecast)
    fig.update_layout(
        margin={"l": 48, "r": 12, "t": 8, "b": 32},
        height=260,
        template="plotly_white",
        yaxis_title=label,
        showlegend=compared or forecast is not None,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        font={"family": "Inter, system-ui, sans-serif", "size": 12},
    )
    if is_share(_unit(measure, ds)):
        fig.update_yaxes(tickformat=".0%")
    return title, fig


#: The forecast's colour (the series') and its interval band's, light.
_FORECAST_COLOUR = "#2c7fb8"
_BAND_COLOUR = "rgba(44, 127, 184, 0.15)"


def _add_forecast(fig: go.Figure, series: pd.Series, result: Forecast) -> None:
    """The forecast as a dashed line from the series' last month on, and its 80% interval
    as a band beneath it (the band's upper edge first, the lower filled up to it)."""
    months = result.months
    last_x, last_y = pd.Timestamp(series.index[-1]), float(np.nan_to_num(series.iloc[-1]))
    # Starting at the last actual month joins the dashed line (and the band) to the series.
    x = [last_x, *pd.to_datetime(months.index)]

    def joined(column: str) -> list[float]:
        return [last_y, *months[column].to_numpy(dtype=float)]

    fig.add_trace(
        go.Scatter(
            x=x,
            y=joined("upper_80"),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            name="80% interval, upper",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=joined("lower_80"),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_BAND_COLOUR,
            hoverinfo="skip",
            name="80% prediction interval",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=joined("forecast"),
            mode="lines",
            line={"color": _FORECAST_COLOUR, "width": 2, "dash": "dash"},
            name=f"Forecast, next {len(months)} months",
            customdata=np.column_stack([joined("lower_80"), joined("upper_80")]),
            hovertemplate=(
                "%{x|%b %Y}: %{y:,.4~g} (80%: %{customdata[0]:,.4~g} to "
                "%{customdata[1]:,.4~g})<extra>forecast</extra>"
            ),
        )
    )


def forecast_note(result: Forecast) -> str:
    """What the chart says of its forecast: the model and the backtest beside it, e.g.
    "Forecast: ETS(A,Ad,A) on 36 months · backtest on the last 12 months: MAPE 8.1% vs
    11.4% for the same month last year, the model was closer". When the model did worse
    than the naive forecast, it says so; without a backtest, why not."""
    model = result.model.split(":")[0]
    head = f"Forecast: {model} on {result.history_months} months"
    backtest = result.backtest
    if backtest is None:
        return " · ".join([head, *result.notes])
    metric = backtest.pct_metric
    errors = (
        f"backtest on the last {len(backtest.months)} months: {metric} "
        f"{backtest.pct_model:.1f}% vs {backtest.pct_naive:.1f}% for the same month last year"
    )
    verdict = {
        "model": "the model was closer",
        "naive": "the model did worse than the same month last year: trust it less",
        "tie": "the model did no better than the same month last year",
    }[backtest.better]
    return " · ".join([head, f"{errors}, {verdict}", *result.notes])


def no_forecast_note(measure: str) -> str:
    """Why the chart has no forecast of ``measure``: it does not change month by month."""
    forecastable = ", ".join(MEASURES[m].label for m in FORECAST_MEASURES)
    return f"No forecast for {MEASURES[measure].label}: forecasts are of {forecastable}."


def forecast_months_label(ds: xr.Dataset, *, months: int = FORECAST_MONTHS) -> str:
    """The months after the cube's last, e.g. "Jan 2026 – Dec 2026"."""
    last = pd.Timestamp(ds["month"].values[-1])
    first, final = last + pd.DateOffset(months=1), last + pd.DateOffset(months=months)
    return f"{first:%b %Y} – {final:%b %Y}"


def forecast_legend(ds: xr.Dataset, *, measure: str) -> tuple[str, str]:
    """Title and note of the map's legend for a forecast measure (one of
    :data:`FORECAST_MAP_MEASURES`)."""
    label = MEASURES[FORECAST_MAP_MEASURES[measure]].label
    title = f"{label} · forecast, next {FORECAST_MONTHS} months ({forecast_months_label(ds)})"
    note = (
        "ETS per area, smoothing fitted on the areas' total; each area's tooltip gives its "
        "80% and 95% prediction intervals."
    )
    return title, note


def forecast_tooltips(table: pd.DataFrame, ds: xr.Dataset, *, measure: str) -> dict[str, str]:
    """The map's tooltip of each area of a forecast (:func:`gcrm.cube.forecast_table_by_area`
    of the measure behind ``measure``, one of :data:`FORECAST_MAP_MEASURES`): its name, the
    forecast and its 80% and 95% intervals."""
    if table.empty:
        return {}
    unit = _unit(FORECAST_MAP_MEASURES[measure], ds)
    label = measure_label(measure)
    names = ds["name"].sel(area=[str(a) for a in table.index]).values

    def interval(row: Any, level: int) -> str:
        low, high = getattr(row, f"lower_{level}"), getattr(row, f"upper_{level}")
        return (
            f"{level}% interval: {format_value(low, unit=unit)} to {format_value(high, unit=unit)}"
        )

    return {
        str(area): "\n".join(
            [
                str(name),
                f"{label}: {format_value(row.forecast, unit=unit)}",
                interval(row, 80),
                interval(row, 95),
            ]
        )
        for area, name, row in zip(table.index, names, table.itertuples(), strict=True)
    }


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
    values: pd.Series | None = None,
    channel: str | None = None,
    branch: str | None = None,
) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Level, parent and rows of the top-areas table; the selected area is kept in the rows.

    With ``compare`` (``"previous"`` or ``"yoy"``) and one period, each row also holds
    ``base`` (the value in the base period) and ``change`` (the % change), formatted.
    ``values`` (by area id of the table's scope, :func:`dashboard.view.table_scope`; a
    forecast, say) are ranked instead of ``measure``'s in ``period``, without comparison.

    Raises
    ------
    ValidationError
        When the base period is not wholly inside the cube (:func:`comparison_base`).
    """
    level, parent = table_scope(view, levels)
    scope = {"level": level, "parent": parent}
    base = None if values is not None else comparison_base(ds, period=period, compare=compare)
    table = None
    orders = {"channel": channel, "branch": branch}
    if values is None and base is None:
        values = view_values(ds, scope, measure=measure, period=period, segment=segment, **orders)
    elif values is None:
        table = view_comparison(
            ds,
            scope,
            measure=measure,
            period=str(period),
            compare=str(compare),
            segment=segment,
            **orders,
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
    """How the dashboard shows a period value: "Q2 2025", "Mar 2025", "2025", or "whole
    range" for ``"all"``/``None`` (links and the library keep "2025-Q2", "2025-03")."""
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


def comparison_or_note(
    ds: xr.Dataset, *, period: str | None, compare: str | None
) -> tuple[str | None, str | None]:
    """``(note, base period)``: the base period ``period`` is compared with, or why there is
    none to show (``note``; both None when no comparison was asked for). What the panels,
    the map and the exports all go by."""
    if compare in (None, "none"):
        return None, None
    if is_all(period):
        return "Choose a period to compare it with another.", None
    try:
        return None, comparison_base(ds, period=period, compare=compare)
    except ValidationError as exc:
        return f"No comparison: {exc}", None


def view_comparison(
    ds: xr.Dataset,
    view: View,
    *,
    measure: str,
    period: str,
    compare: str,
    segment: str | None,
    channel: str | None = None,
    branch: str | None = None,
) -> pd.DataFrame:
    """:func:`gcrm.cube.compare_periods` for the areas drawn in ``view``: ``value``,
    ``base``, ``change`` and ``pct_change`` per area id (of one channel or branch as
    :func:`order_filter` applies them)."""
    return compare_periods(
        ds,
        measure,
        level=view["level"],
        period=period,
        compare=compare,
        segment=None if is_all(segment) else segment,
        parent=view.get("parent") or None,
        **order_filter(measure, channel=channel, branch=branch)[0],
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
    period, base = (period_label(table.attrs[k]) for k in ("period", "base_period"))
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
