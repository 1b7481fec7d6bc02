"""Data shaping for the dashboard: plain functions over the cube and PostGIS.

Callbacks in :mod:`dashboard.callbacks` only route inputs to these functions, so everything
that decides what the page shows can be tested without a browser.

The view state is a small dict kept in a ``dcc.Store``::

    {"level": "hex", "parent": "district:kamppi", "selected": "hex:891126d..."}

``level`` is the level of the areas drawn on the map, ``parent`` the area id whose children
are drawn (``None``: the whole region) and ``selected`` the clicked area (``None``: none).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
import xarray as xr
from sqlalchemy import Connection, Engine, text

from gcrm.core import NotFoundError, ValidationError
from gcrm.cube import MEASURES, periods, select_measure, time_series
from gcrm.cube.ops import APPROXIMATE_PRECISIONS
from gcrm.maps.layers import OTHER_COLOUR, PRECISION_COLOURS
from gcrm.store import read_geodataframe

__all__ = [
    "NO_DATA_COLOR",
    "PALETTE",
    "POINT_COLOURS",
    "AreaLevel",
    "Classes",
    "DashboardData",
    "View",
    "approximate_values",
    "area_colors",
    "area_label",
    "breadcrumb",
    "child_level",
    "classify",
    "drill_down",
    "filter_features",
    "format_value",
    "go_up",
    "initial_view",
    "kpi_cards",
    "kpi_values",
    "legend_items",
    "level_label",
    "level_options",
    "measure_values",
    "period_label",
    "measure_options",
    "period_options",
    "point_colour_options",
    "point_hideout",
    "point_legend_items",
    "points_geojson",
    "read_area_geojson",
    "read_area_levels",
    "scope_area",
    "segment_options",
    "select_area",
    "series_figure",
    "table_rows",
    "table_scope",
    "top_areas",
    "view_for_level",
]

#: Sequential palette (ColorBrewer YlGnBu, 5 classes), light = low.
PALETTE: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA_COLOR = "#d9d9d9"
#: Simplification tolerance for the browser, in degrees of EPSG:4326 (~5-10 m in Helsinki).
TOLERANCE_DEG = 0.00008

View = dict[str, Any]


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True)
class AreaLevel:
    """One row of ``gcrm.area_levels``."""

    level: str
    parent_level: str | None
    rank: int
    label: str


def read_area_levels(conn: Connection) -> list[AreaLevel]:
    """Read the area levels, coarsest first (by rank, then name)."""
    rows = conn.execute(
        text("SELECT level, parent_level, rank, label FROM gcrm.area_levels ORDER BY rank, level")
    ).all()
    return [AreaLevel(r.level, r.parent_level, int(r.rank), r.label) for r in rows]


def child_level(levels: Sequence[AreaLevel], level: str) -> str | None:
    """The level whose ``parent_level`` is ``level``, or ``None`` when nothing nests in it."""
    children = [lv.level for lv in levels if lv.parent_level == level]
    return children[0] if children else None


def level_options(levels: Sequence[AreaLevel], ds: xr.Dataset) -> list[dict[str, str]]:
    """Dropdown options for the levels that the cube holds."""
    in_cube = set(np.unique(ds["level"].values).tolist())
    return [{"label": lv.label, "value": lv.level} for lv in levels if lv.level in in_cube]


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
    return None if period in (None, "", "all") else period


# --------------------------------------------------------------------------- geometry


def read_area_geojson(
    conn: Connection, *, level: str, tolerance_deg: float = TOLERANCE_DEG
) -> dict[str, Any]:
    """Read the areas of ``level`` from PostGIS as a simplified GeoJSON FeatureCollection.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    level
        Area level, e.g. ``"district"``.
    tolerance_deg
        Douglas-Peucker tolerance in degrees of EPSG:4326 (storage CRS; the browser draws
        lon/lat, so simplifying in it keeps shared edges aligned with no reprojection).

    Returns
    -------
    dict
        Features with ``id`` = area id ``"<level>:<code>"`` and properties ``area``, ``level``,
        ``code``, ``name``.

    Raises
    ------
    NotFoundError
        When the database has no area of ``level``.
    """
    gdf = read_geodataframe(
        conn,
        "SELECT level, code, name, ST_AsBinary(geom) AS geom FROM gcrm.areas "
        "WHERE level = :level ORDER BY code",
        {"level": level},
    )
    if gdf.empty:
        msg = f"level={level!r} has no areas in gcrm.areas; import areas or pick another level"
        raise NotFoundError(msg)
    simple = shapely.simplify(gdf.geometry.to_numpy(), tolerance_deg, preserve_topology=True)
    gdf = gdf.set_geometry(shapely.set_precision(simple, 1e-6))
    gdf["area"] = gdf["level"] + ":" + gdf["code"]
    collection = gdf.to_geo_dict(drop_id=True)
    for feature in collection["features"]:
        feature["id"] = feature["properties"]["area"]
    return collection


def filter_features(collection: Mapping[str, Any], area_ids: Sequence[str]) -> dict[str, Any]:
    """Keep the features whose id is in ``area_ids``."""
    keep = set(area_ids)
    return {
        "type": "FeatureCollection",
        "features": [f for f in collection["features"] if f["id"] in keep],
    }


def points_geojson(conn: Connection, *, kind: str) -> dict[str, Any]:
    """Customers or leads as a GeoJSON FeatureCollection of points for clustering.

    Customer points carry only segment, status and geocode precision (no names: personal
    data stays on the server); lead points carry the business name and category (public OSM
    data).

    Raises
    ------
    ValidationError
        When ``kind`` is not ``"customers"`` or ``"leads"``.
    """
    queries = {
        "customers": "SELECT segment, status, geocode_precision, ST_AsBinary(geom) AS geom "
        "FROM gcrm.customers WHERE geom IS NOT NULL",
        "leads": "SELECT name, category, ST_AsBinary(geom) AS geom FROM gcrm.leads",
    }
    if kind not in queries:
        msg = f"kind={kind!r} is not a point layer; use one of {sorted(queries)}"
        raise ValidationError(msg)
    gdf = read_geodataframe(conn, queries[kind])
    if kind == "leads":
        gdf["tooltip"] = gdf["name"] + " (" + gdf["category"].str.replace("_", " ") + ")"
    return gdf.to_geo_dict(drop_id=True)


#: How customer points can be coloured: option value -> (label, palette by property).
POINT_COLOURS: dict[str, tuple[str, dict[str, str]]] = {
    "none": ("One colour", {}),
    "precision": ("Geocode precision", dict(PRECISION_COLOURS)),
}
#: The customer points' colour when not coloured by a property (as in gcrm.js).
CUSTOMER_COLOUR = "#6a3d9a"


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
    (:data:`gcrm.maps.layers.PRECISION_COLOURS`, grey when unknown).
    """
    colours = _check_colour_by(colour_by)
    return {"kind": "customers", "colourBy": colour_by, "colors": colours, "other": OTHER_COLOUR}


def point_legend_items(colour_by: str) -> list[tuple[str, str]]:
    """``(colour, label)`` rows of the customer-point legend, best precision first."""
    colours = _check_colour_by(colour_by)
    if not colours:
        return [(CUSTOMER_COLOUR, "customer")]
    return [(colour, name) for name, colour in colours.items() if name != "none"]


@dataclass
class DashboardData:
    """What the dashboard reads: the cube, area levels, and per-level geometry cached in memory."""

    engine: Engine
    cube: xr.Dataset
    region_name: str = "Helsinki demo region"
    _levels: list[AreaLevel] | None = None
    _geometry: dict[str, dict[str, Any]] = field(default_factory=dict)
    _points: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def levels(self) -> list[AreaLevel]:
        """Area levels from ``gcrm.area_levels`` (read once)."""
        if self._levels is None:
            with self.engine.connect() as conn:
                self._levels = read_area_levels(conn)
        return self._levels

    def geometry(self, level: str) -> dict[str, Any]:
        """Simplified area geometry of ``level`` (read once per level)."""
        with self._lock:
            if level not in self._geometry:
                with self.engine.connect() as conn:
                    self._geometry[level] = read_area_geojson(conn, level=level)
            return self._geometry[level]

    def points(self, kind: str) -> dict[str, Any]:
        """Customer or lead points (read once)."""
        with self._lock:
            if kind not in self._points:
                with self.engine.connect() as conn:
                    self._points[kind] = points_geojson(conn, kind=kind)
            return self._points[kind]

    def view_geometry(self, view: View) -> dict[str, Any]:
        """The features drawn for ``view``: the level's areas, children of the parent if any."""
        ids = _areas_of(self.cube, level=view["level"], parent=view.get("parent"))
        return filter_features(self.geometry(view["level"]), ids)


# --------------------------------------------------------------------------- view state


def _areas_of(ds: xr.Dataset, *, level: str, parent: str | None) -> list[str]:
    mask = ds["level"] == level
    if parent:
        mask = mask & (ds["parent"] == parent)
    return [str(a) for a in ds["area"].values[mask.values]]


def _area_coord(ds: xr.Dataset, area: str, coord: str) -> str:
    if area not in ds.indexes["area"]:
        msg = f"area={area!r} is not in the cube; pick an area id such as {str(ds['area'].values[0])!r}"
        raise NotFoundError(msg)
    return str(ds[coord].sel(area=area).item())


def area_label(ds: xr.Dataset, area: str | None, *, region_name: str) -> str:
    """Display name of an area id, or of the region when ``area`` is ``None``."""
    return region_name if not area else _area_coord(ds, area, "name")


def initial_view(levels: Sequence[AreaLevel], ds: xr.Dataset) -> View:
    """The view a page opens on: the coarsest level in the cube, whole region, nothing selected."""
    options = level_options(levels, ds)
    if not options:
        msg = "the cube holds none of the levels in gcrm.area_levels; rebuild it with `gcrm cube build`"
        raise NotFoundError(msg)
    return view_for_level(options[0]["value"])


def view_for_level(level: str) -> View:
    """The whole region at ``level``, nothing selected."""
    return {"level": level, "parent": None, "selected": None}


def select_area(view: View, area: str | None) -> View:
    """``view`` with ``area`` selected (``None`` clears the selection)."""
    return {**view, "selected": area}


def drill_down(view: View, levels: Sequence[AreaLevel]) -> View:
    """Show the children of the selected area at the next level down; unchanged if none."""
    selected = view.get("selected")
    child = child_level(levels, view["level"])
    if not selected or child is None:
        return view
    return {"level": child, "parent": selected, "selected": None}


def go_up(view: View, ds: xr.Dataset) -> View:
    """Back to the parent's level, with the parent selected; unchanged at the top."""
    parent = view.get("parent")
    if not parent:
        return view
    grandparent = _area_coord(ds, parent, "parent") or None
    return {"level": _area_coord(ds, parent, "level"), "parent": grandparent, "selected": parent}


def scope_area(view: View) -> str | None:
    """The area the chart, table and KPIs describe: the selection, else the parent."""
    return view.get("selected") or view.get("parent") or None


def breadcrumb(view: View, ds: xr.Dataset, *, region_name: str) -> list[tuple[str | None, str]]:
    """``(area id, name)`` pairs from the region down to the parent of the view."""
    chain: list[tuple[str | None, str]] = []
    area = view.get("parent")
    while area:
        chain.append((area, _area_coord(ds, area, "name")))
        area = _area_coord(ds, area, "parent") or None
    return [(None, region_name), *reversed(chain)]


# --------------------------------------------------------------------------- choropleth


@dataclass(frozen=True)
class Classes:
    """Class breaks of a choropleth: ``len(colors) == len(breaks) - 1``."""

    breaks: tuple[float, ...]
    colors: tuple[str, ...]

    def color_of(self, value: float) -> str:
        """Colour of ``value``; :data:`NO_DATA_COLOR` for NaN or no classes."""
        if value is None or not math.isfinite(value) or not self.colors:
            return NO_DATA_COLOR
        idx = int(np.searchsorted(np.asarray(self.breaks[1:-1]), value, side="right"))
        return self.colors[min(idx, len(self.colors) - 1)]


def classify(values: pd.Series, *, n_classes: int = 5, palette: Sequence[str] = PALETTE) -> Classes:
    """Quantile class breaks of ``values`` (NaN ignored), merged where quantiles coincide.

    Raises
    ------
    ValidationError
        When ``n_classes`` is outside 1..len(palette).
    """
    if not 1 <= n_classes <= len(palette):
        msg = f"n_classes={n_classes!r} must be between 1 and {len(palette)} (the palette size)"
        raise ValidationError(msg)
    finite = values[np.isfinite(values.to_numpy(dtype=float))].astype(float)
    if finite.empty:
        return Classes(breaks=(), colors=())
    breaks = np.unique(np.quantile(finite, np.linspace(0, 1, n_classes + 1)))
    if len(breaks) == 1:
        return Classes(breaks=(breaks[0], breaks[0]), colors=(palette[len(palette) // 2],))
    n = len(breaks) - 1
    # Spread fewer classes across the palette so colours stay distinct.
    picks = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return Classes(breaks=tuple(float(b) for b in breaks), colors=tuple(palette[i] for i in picks))


def area_colors(values: pd.Series, classes: Classes) -> dict[str, str]:
    """Fill colour per area id."""
    return {str(area): classes.color_of(float(v)) for area, v in values.items()}


def format_value(value: float | None, *, unit: str = "") -> str:
    """Format a measure value for people: thousands separators, currency, percent."""
    if value is None or not math.isfinite(value):
        return "–"
    unit_l = unit.lower()
    if unit_l in {"eur", "€"}:
        return f"€{value:,.0f}"
    if unit_l in {"share", "ratio", "fraction", "%", "percent"}:
        return f"{value:.1%}"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _unit(measure: str) -> str:
    return str(getattr(MEASURES[measure], "unit", "") or "")


def legend_items(classes: Classes, *, measure: str) -> list[tuple[str, str]]:
    """``(colour, range text)`` rows of the legend, lowest class first."""
    unit = _unit(measure)
    rows = [
        (color, f"{format_value(lo, unit=unit)} – {format_value(hi, unit=unit)}")
        for color, lo, hi in zip(
            classes.colors, classes.breaks[:-1], classes.breaks[1:], strict=True
        )
    ]
    return [*rows, (NO_DATA_COLOR, "no data")]


def measure_values(
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


# --------------------------------------------------------------------------- panels


def top_areas(
    values: pd.Series, ds: xr.Dataset, *, measure: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Rows of the top-areas table: rank, name, code, formatted value, share of the total."""
    ranked = values.dropna().sort_values(ascending=False).head(limit)
    total = float(values.sum(skipna=True))
    kind = str(getattr(MEASURES[measure], "kind", ""))
    unit = _unit(measure)
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
        _area_coord(ds, area, "level")  # a clear error for an unknown area
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
    level = _area_coord(ds, area, "level") if area else view["level"]
    common = {"level": level, "period": _period_arg(period), "segment": segment or None}
    if area:
        values = {m: float(select_measure(ds, m, **common).get(area, np.nan)) for m in KPI_MEASURES}
        return values | approximate_values(ds, view)
    sums = {
        m: float(select_measure(ds, m, **common).sum(skipna=True))
        for m in ("customers", "active", "revenue", "households")
    }
    households = sums.pop("households")
    sums["penetration"] = sums["active"] / households if households else float("nan")
    return sums | approximate_values(ds, view)


def kpi_cards(values: Mapping[str, float]) -> list[tuple[str, str, str]]:
    """``(key, label, formatted value)`` per KPI card.

    The last card reads e.g. "Placed approximately: 12 customers (3.4%)".
    """
    cards = [
        (m, MEASURES[m].label, format_value(values[m], unit=_unit(m)))
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
    if _unit(measure).lower() in {"share", "ratio", "fraction", "%", "percent"}:
        fig.update_yaxes(tickformat=".0%")
    return title, fig


def table_scope(view: View, levels: Sequence[AreaLevel]) -> tuple[str, str | None]:
    """``(level, parent)`` of the top-areas table.

    With an area selected that has a level below it, the table ranks its children;
    otherwise it ranks the areas drawn on the map.
    """
    selected = view.get("selected")
    child = child_level(levels, view["level"])
    if selected and child is not None:
        return child, selected
    return view["level"], view.get("parent") or None


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
    values = measure_values(
        ds, {"level": level, "parent": parent}, measure=measure, period=period, segment=segment
    )
    rows = top_areas(values, ds, measure=measure, limit=limit)
    selected = view.get("selected")
    if selected and selected in values.index and all(r["area"] != selected for r in rows):
        ranked = top_areas(values, ds, measure=measure, limit=len(values))
        rows.append(next(r for r in ranked if r["area"] == selected))
    return level, parent, rows


def level_label(levels: Sequence[AreaLevel], level: str) -> str:
    """The label of ``level`` (the level name itself when not listed)."""
    return next((lv.label for lv in levels if lv.level == level), level)


def period_label(period: str | None) -> str:
    """Human label of a period value (``"all"``/``None``: the whole range)."""
    return "whole range" if _period_arg(period) is None else _period_label(str(period))
