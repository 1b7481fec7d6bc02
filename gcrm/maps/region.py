"""Standalone region and territory maps (folium, offline, no basemap tiles)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gcrm.core import NotFoundError, ValidationError, check_precisions
from gcrm.cube import MEASURES, measure_unit, select_measure
from gcrm.maps.classify import Classes, classify_values
from gcrm.maps.folium_layers import (
    Attribution,
    Legend,
    add_area_layer,
    add_branch_layer,
    add_point_cluster,
)
from gcrm.maps.offline import save_offline
from gcrm.maps.sources import read_areas, read_branches, read_customer_points, read_lead_points
from gcrm.maps.style import (
    BRANCH_COLOUR,
    LEAD_COLOUR,
    NO_DATA_COLOUR,
    OTHER_COLOUR,
    PRECISION_COLOURS,
    STATUS_COLOURS,
    categorical_colours,
    format_value,
)

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "build_region_map",
    "build_territory_map",
    "make_region_map",
    "make_territory_map",
    "measure_values",
]

MIN_ZOOM = 3
MAX_ZOOM = 19
PointColour = Literal["status", "precision"]
_POINT_COLOURS: dict[str, tuple[str, dict[str, str]]] = {
    "status": ("status", dict(STATUS_COLOURS)),
    "precision": ("geocode_precision", dict(PRECISION_COLOURS)),
}


def measure_values(
    cube: xr.Dataset,
    *,
    measure: str,
    level: str,
    period: str | None = None,
    segment: str | None = None,
) -> tuple[pd.Series, str, str]:
    """Values of ``measure`` per area id of ``level``, with the measure's label and unit."""
    values = select_measure(cube, measure, level=level, period=period, segment=segment)
    return values, MEASURES[measure].label, measure_unit(cube, measure)


def _base_map(areas: gpd.GeoDataFrame, *, height: str = "100%") -> folium.Map:
    # No basemap tiles: the page must render offline; areas give the geographic context.
    # Without a tile layer Leaflet knows no zoom range, and markercluster needs one.
    m = folium.Map(
        tiles=None, height=height, control_scale=True, maxZoom=MAX_ZOOM, minZoom=MIN_ZOOM
    )
    minx, miny, maxx, maxy = areas.total_bounds
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    return m


def _choropleth(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    values: pd.Series | None,
    title: str,
    unit: str,
    highlight: str | None = None,
    scheme: str = "quantiles",
) -> tuple[str, list[tuple[str, str]]]:
    aligned = (
        pd.Series(float("nan"), index=areas["area_id"])
        if values is None
        else values.reindex(areas["area_id"]).astype(float)
    )
    classes = classify_values(aligned, scheme=scheme)
    fill = classes.colours_for(aligned)
    entries = _legend_entries(classes, aligned)
    labelled = areas.assign(value=[format_value(v, unit=unit) for v in aligned])
    add_area_layer(
        m,
        labelled,
        fill=fill,
        tooltip_fields=[("name", "Area"), ("code", "Code"), ("value", title)],
        name=f"Areas: {title}",
        highlight=highlight,
    )
    return title, entries


def _legend_entries(classes: Classes, values: pd.Series) -> list[tuple[str, str]]:
    """The classes' ranges, plus "no data" when some area has none."""
    entries = classes.legend()
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        entries.append((NO_DATA_COLOUR, "no data"))
    return entries


def _add_customers(
    m: folium.Map,
    customers: gpd.GeoDataFrame,
    *,
    colour_by: str,
    precisions: tuple[str, ...] | None = None,
) -> list:
    column, palette = _POINT_COLOURS[colour_by]
    colour = customers[column].map(palette).fillna(OTHER_COLOUR)
    label = customers["name"] + " (" + customers["status"] + ", " + customers["segment"] + ")"
    only = "" if precisions is None else f"; precision {', '.join(precisions)}"
    add_point_cluster(
        m, customers, colour=colour, label=label, name=f"Customers ({len(customers)}{only})"
    )
    present = set(customers[column].dropna())
    entries = [(c, name) for name, c in palette.items() if name in present]
    if present - palette.keys():
        entries.append((OTHER_COLOUR, "other"))
    return [(f"Customers by {colour_by}", entries)]


def _add_leads(m: folium.Map, leads: gpd.GeoDataFrame) -> list:
    label = leads["name"] + " (" + leads["category"] + ")"
    colour = pd.Series(LEAD_COLOUR, index=leads.index)
    add_point_cluster(
        m, leads, colour=colour, label=label, name=f"Leads ({len(leads)})", show=False, radius=5
    )
    return [("Points", [(LEAD_COLOUR, "lead"), (BRANCH_COLOUR, "branch")])]


def build_region_map(
    conn: Connection,
    *,
    cube: xr.Dataset | None,
    level: str = "district",
    measure: str = "active",
    period: str | None = None,
    segment: str | None = None,
    colour_points_by: PointColour = "status",
    precisions: Sequence[str] | None = None,
    scheme: str = "quantiles",
) -> folium.Map:
    """Build the region map (see :func:`make_region_map`) without saving it."""
    wanted = None if precisions is None else check_precisions(precisions)
    if colour_points_by not in _POINT_COLOURS:
        msg = (
            f"colour_points_by={colour_points_by!r} is not supported; "
            f"use one of {sorted(_POINT_COLOURS)}"
        )
        raise ValidationError(msg)
    areas = read_areas(conn, level=level)
    m = _base_map(areas)
    if cube is None:
        values, title, unit = None, "no cube loaded", ""
    else:
        values, label, unit = measure_values(
            cube, measure=measure, level=level, period=period, segment=segment
        )
        title = f"{label}, {period or 'all months'}, {segment or 'all segments'}"
    legend = [_choropleth(m, areas, values=values, title=title, unit=unit, scheme=scheme)]
    legend += _add_customers(
        m,
        read_customer_points(conn, segment=segment, precisions=wanted),
        colour_by=colour_points_by,
        precisions=wanted,
    )
    legend += _add_leads(m, read_lead_points(conn))
    add_branch_layer(m, read_branches(conn))
    Legend(legend).add_to(m)
    Attribution().add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def make_region_map(
    conn: Connection,
    *,
    cube: xr.Dataset | None,
    level: str = "district",
    measure: str = "active",
    period: str | None = None,
    segment: str | None = None,
    colour_points_by: PointColour = "status",
    precisions: Sequence[str] | None = None,
    scheme: str = "quantiles",
    out: Path,
) -> Path:
    """Write a standalone, offline HTML map of one area level.

    The areas of ``level`` are filled by ``measure`` (classes by ``scheme``), with customers
    (clustered circles coloured by status or geocode precision), leads (a clustered layer,
    hidden at first), branches, a legend, a layer control and the OpenStreetMap attribution.
    There are no basemap tiles and every script and stylesheet is inlined, so the file opens
    with no network.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    cube
        The region cube (:func:`gcrm.cube.build_region_cube`); ``None`` draws areas unfilled.
    level
        Area level to draw (``district``, ``postcode``, ``hex``, ...).
    measure
        A measure of :data:`gcrm.cube.MEASURES`.
    period
        ``"2025-03"``, ``"2025-Q1"``, ``"2025"`` or ``None`` for the whole cube range.
    segment
        A customer segment, or ``None``/``"all"`` for all; also filters the customer points.
    colour_points_by
        ``"status"`` (active/churned) or ``"precision"`` (geocode precision).
    precisions
        Draw only customers geocoded at these precisions (e.g. ``["rooftop",
        "interpolated"]``); ``None`` draws every geocoded customer.
    scheme
        How values are classed: ``"quantiles"``, ``"natural_breaks"`` or
        ``"equal_interval"`` (:data:`gcrm.maps.classify.SCHEMES`).
    out
        Path of the HTML file to write; parent folders are created.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    NotFoundError
        When ``level`` has no areas or ``measure`` is unknown.
    ValidationError
        When ``colour_points_by`` or a precision is not supported (or the cube rejects
        period/segment).
    """
    m = build_region_map(
        conn,
        cube=cube,
        level=level,
        measure=measure,
        period=period,
        segment=segment,
        colour_points_by=colour_points_by,
        precisions=precisions,
        scheme=scheme,
    )
    return save_offline(m, out)


def build_territory_map(
    conn: Connection,
    *,
    level: str,
    values: pd.Series | None = None,
    title: str = "",
    unit: str = "",
    territories: pd.Series | None = None,
    highlight: str | None = None,
    height: str = "100%",
) -> folium.Map:
    """A map of the areas of ``level`` as territories, without points.

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    level
        Area level whose areas are drawn.
    values
        Numbers indexed by area id (``"<level>:<code>"``): areas are filled by quantile class.
    title
        Name of ``values`` in the legend and tooltips.
    unit
        Unit of ``values`` (see :func:`gcrm.maps.format_value`).
    territories
        Territory name indexed by area id: areas are coloured by territory instead
        (when several areas make one territory). Exclusive with ``values``.
    highlight
        An area id drawn with a thick outline, and the map zoomed to it.
    height
        CSS height of the map (``"100%"`` for a page of its own, e.g. ``"480px"`` in a report).

    Returns
    -------
    folium.Map
        Render it with :func:`gcrm.maps.offline.save_offline` to stay offline.
    """
    if values is not None and territories is not None:
        msg = "pass values= (a KPI per area) or territories= (a name per area), not both"
        raise ValidationError(msg)
    areas = read_areas(conn, level=level)
    if highlight is not None and highlight not in set(areas["area_id"]):
        msg = f"highlight={highlight!r} is not an area of level {level!r}; use an id like {areas['area_id'].iloc[0]!r}"
        raise NotFoundError(msg)
    m = _base_map(areas, height=height)
    if territories is None:
        legend = [_choropleth(m, areas, values=values, title=title, unit=unit, highlight=highlight)]
    else:
        named = areas.assign(territory=territories.reindex(areas["area_id"]).to_numpy())
        fill, entries = categorical_colours(named["territory"])
        add_area_layer(
            m,
            named,
            fill=fill,
            tooltip_fields=[("name", "Area"), ("territory", "Territory")],
            name="Territories",
            highlight=highlight,
        )
        legend = [(title or "Territory", entries)]
    if highlight is not None:
        minx, miny, maxx, maxy = areas.loc[areas["area_id"] == highlight].total_bounds
        m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    Legend(legend).add_to(m)
    Attribution().add_to(m)
    return m


def make_territory_map(
    conn: Connection,
    *,
    level: str,
    out: Path,
    values: pd.Series | None = None,
    title: str = "",
    unit: str = "",
    territories: pd.Series | None = None,
    highlight: str | None = None,
) -> Path:
    """Write :func:`build_territory_map` as a standalone offline HTML file; return ``out``."""
    m = build_territory_map(
        conn,
        level=level,
        values=values,
        title=title,
        unit=unit,
        territories=territories,
        highlight=highlight,
    )
    return save_offline(m, out)
