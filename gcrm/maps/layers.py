"""The dashboard's extra map layers, as GeoJSON for the browser: the branches, the heat of the
customers (or of their revenue) in one map view, and the branches' drive-time catchments.

The heat is counted in PostGIS for the view's box only (``gcrm.customer_heat``, migration
0015: under the user's scope, on the grid of the point clusters), never from every point;
the browser gets one translucent square per cell with customers. Revenue is not summed from
the orders per view: that took 3.6 s for one year of 15,000,000 orders at 1,000,000
customers (7 s for all years). Each customer is weighted instead by the revenue per customer
of its area in the cube (the finest level, same period and segment): a cell's revenue is its
customers times the revenue per customer of the area under the cell's centre (looking up
each customer's own area cost 10 us a customer, 1 s for a street-level view of 75,000).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError, ValidationError, period_bounds
from gcrm.cube import measure_unit, select_measure
from gcrm.maps.classify import classify_values
from gcrm.maps.sources import _cells_across_world, _check_bbox
from gcrm.maps.style import SEQUENTIAL_PALETTE, format_value
from gcrm.routing import branch_catchments, read_road_graph
from gcrm.store import load_queries

__all__ = [
    "CATCHMENT_MINUTES",
    "CATCHMENT_PALETTE",
    "HEAT_CELL_PX",
    "HEAT_EXACT_ROWS",
    "HEAT_MEASURES",
    "HEAT_SAMPLE_ROWS",
    "branch_geojson",
    "catchment_geojson",
    "catchment_inputs",
    "heat_in_view",
    "revenue_per_customer",
]

_SQL = load_queries(__package__, "layers.sql")
#: Side of a heat cell in screen pixels (half a cluster's: the heat shows more detail).
HEAT_CELL_PX = 24
#: A view with at most this many customers is counted exactly (~4 us a customer: an index
#: scan with a random heap read each) ...
HEAT_EXACT_ROWS = 25_000
#: ... one with more, on a page sample of about this many rows of the table (~1 us a row).
HEAT_SAMPLE_ROWS = 100_000
#: What the heat is of: customers counted, or their areas' revenue per customer summed.
HEAT_MEASURES = ("customers", "revenue")
#: Drive-time limits of the catchments the dashboard draws (minutes).
CATCHMENT_MINUTES = (10.0, 20.0, 30.0)
#: ColorBrewer Greens, dark = short drive: catchments, apart from the heat's YlOrRd and the
#: choropleth's YlGnBu.
CATCHMENT_PALETTE = ("#00441b", "#238b45", "#74c476", "#c7e9c0")
#: Classes of the heat's cells (quantiles of the cells in view).
HEAT_CLASSES = 5
#: The equator's length in metres (Web Mercator's sphere): a cell's side on the ground.
_EQUATOR_M = 40_075_016.686
_ROAD_FIX = (
    "import roads with `gcrm import roads ROADS.gpkg` "
    "(or `gcrm import osm FILE.osm.pbf --layers roads`)"
)


def branch_geojson(conn: Connection) -> dict[str, Any]:
    """The branches as GeoJSON points with ``code`` and ``name`` (few rows; public data).

    Returns
    -------
    dict
        A FeatureCollection of Points, ordered by code; empty when there is no branch.
    """
    rows = conn.execute(text(_SQL["branch_points"])).mappings()
    features = [
        {
            "type": "Feature",
            "id": r["code"],
            "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
            "properties": {"code": r["code"], "name": r["name"]},
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def _finest_level(ds: xr.Dataset) -> str:
    """The cube's level with the most areas: its revenue per customer varies the most."""
    levels, counts = np.unique(ds["level"].to_numpy().astype(str), return_counts=True)
    if not len(levels):
        msg = "the cube has no area; build it with `gcrm cube build`"
        raise ValidationError(msg)
    return str(levels[int(np.argmax(counts))])


def revenue_per_customer(
    ds: xr.Dataset, *, level: str, period: str | None = None, segment: str | None = None
) -> pd.Series:
    """Revenue per customer of each area of ``level`` in ``period``, from the cube.

    The customers are those on the books at some time in the period (active at its end, or
    churned in it), as the map's points and heat count them; an area with none has no value.

    Returns
    -------
    pandas.Series
        Indexed by area code (not id), in the region's currency.
    """
    period = None if period in (None, "all") else period
    segment = None if segment in (None, "all") else segment
    revenue = select_measure(ds, "revenue", level=level, period=period, segment=segment)
    active = select_measure(ds, "active", level=level, period=period, segment=segment)
    churned = select_measure(ds, "churned", level=level, period=period, segment=segment)
    customers = (active + churned).where(lambda s: s > 0)
    per = (revenue / customers).dropna()
    per.index = [str(ds["code"].sel(area=a).item()) for a in per.index]
    return per


def _cell_polygons(x: np.ndarray, y: np.ndarray, cells: float) -> list[list[list[list[float]]]]:
    """Each grid cell's square as GeoJSON polygon rings (lon/lat, 6 decimals)."""
    west = x / cells * 360.0 - 180.0
    east = (x + 1) / cells * 360.0 - 180.0

    def lat(t: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * t))))

    north, south = lat(y / cells), lat((y + 1) / cells)
    corners = np.round(np.stack([west, south, east, north], axis=1), 6).tolist()
    return [[[[w, s], [e, s], [e, n], [w, n], [w, s]]] for w, s, e, n in corners]


def heat_in_view(
    conn: Connection,
    *,
    bbox: Sequence[float],
    zoom: float,
    of: str = "customers",
    segment: str | None = None,
    period: str | None = None,
    cube: xr.Dataset | None = None,
    cell_px: int = HEAT_CELL_PX,
    exact_rows: int | None = HEAT_EXACT_ROWS,
    sample_rows: int = HEAT_SAMPLE_ROWS,
) -> dict[str, Any]:
    """The density of customers (or of their revenue) in one map view, per grid cell.

    Counted in PostGIS on the customers the connection may see (the user's scope, applied
    by ``gcrm.customer_heat`` as by the points), in the view's box only, on the Web Mercator
    grid of the view's zoom (``cell_px`` pixels a cell, at most
    :data:`~gcrm.maps.sources.MAX_CELLS_ACROSS` across the view).

    Parameters
    ----------
    conn
        Connection to the gcrm database.
    bbox
        The view's ``(west, south, east, north)`` in degrees of EPSG:4326.
    zoom
        The map's zoom level (Leaflet's): sizes the grid.
    of
        ``"customers"``: customers per cell. ``"revenue"``: a cell's customers times the
        revenue per customer (:func:`revenue_per_customer`, in ``cube``) of the area of the
        cube's finest level under the cell's centre, or the nearest (an estimate: the
        area's average).
    segment, period
        The customers of a segment, on the books at some time in a period (as the points).
    cube
        The cube of the reader's scope; needed for ``of="revenue"``.
    cell_px
        Side of a cell in screen pixels.
    exact_rows
        A view with more customers is counted on a page sample of the table and scaled up
        (``sampled`` < 1); None: always exact.
    sample_rows
        The sample's size in rows of the whole table (those in the view are counted).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection of square Polygons, one per cell with customers, with
        properties ``value`` (customers, or revenue) and ``colour`` (quantile class of the
        cells in view, light to dark). Members beside ``features``: ``of``, ``cell_m`` (a
        cell's side on the ground at the view's centre), ``sampled`` (the share counted),
        ``total`` (the sum of the values), ``unit``, ``title`` and ``legend`` (``[colour,
        label]`` per class).

    Raises
    ------
    ValidationError
        When ``of``, ``bbox`` or ``period`` is not one, or ``of="revenue"`` without a cube.
    """
    if of not in HEAT_MEASURES:
        msg = f"of={of!r} is not a heat; use one of {list(HEAT_MEASURES)}"
        raise ValidationError(msg)
    if of == "revenue" and cube is None:
        msg = "of='revenue' needs cube=, the cube whose revenue weights the customers"
        raise ValidationError(msg)
    box = _check_bbox(bbox)
    start, stop = period_bounds(period)
    cells = _cells_across_world(box, zoom, cell_px)
    level = _finest_level(cube) if of == "revenue" and cube is not None else None
    params = dict(zip(("west", "south", "east", "north"), box, strict=True)) | {
        "segment": None if segment in (None, "all") else segment,
        "start": start,
        "stop": stop,
        "cells": cells,
        "level": level,
        "exact_rows": exact_rows,
        "sample_rows": sample_rows,
    }
    rows = pd.DataFrame(
        conn.execute(text(_SQL["customer_heat"]), params).all(),
        columns=["x", "y", "area", "customers", "sampled"],
    )
    sampled = float(rows["sampled"].iloc[0]) if len(rows) else 1.0
    if of == "revenue" and cube is not None:
        weights = revenue_per_customer(cube, level=str(level), period=period, segment=segment)
        rows["value"] = rows["customers"] * rows["area"].map(weights).fillna(0.0).astype(float)
        unit = measure_unit(cube, "revenue")
    else:
        rows["value"] = rows["customers"].astype(float)
        unit = "customers"
    cell = rows.groupby(["x", "y"], as_index=False)["value"].sum()
    cell["value"] = cell["value"] / sampled
    cell = cell[cell["value"] > 0]
    return _heat_collection(cell, cells=cells, box=box, of=of, unit=unit, sampled=sampled)


def _heat_collection(
    cell: pd.DataFrame,
    *,
    cells: float,
    box: tuple[float, float, float, float],
    of: str,
    unit: str,
    sampled: float,
) -> dict[str, Any]:
    """The cells as GeoJSON, coloured by quantile class, with the legend's title and rows."""
    values = cell["value"].round(0 if of == "customers" or sampled < 1 else 2)
    classes = classify_values(
        values.reset_index(drop=True), k=HEAT_CLASSES, palette=SEQUENTIAL_PALETTE
    )
    colours = classes.colours_for(values.reset_index(drop=True)).tolist()
    rings = _cell_polygons(cell["x"].to_numpy(float), cell["y"].to_numpy(float), cells)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": ring},
            "properties": {"value": float(value), "colour": colour},
        }
        for ring, value, colour in zip(rings, values, colours, strict=True)
    ]
    latitude = math.radians((box[1] + box[3]) / 2)
    cell_m = _EQUATOR_M * math.cos(latitude) / cells
    side = _round_m(cell_m)
    what = "Customers" if of == "customers" else "Revenue"
    title = f"{what} per cell of ~{side}"
    if sampled < 1:
        title += f" (estimated from a {sampled:.0%} sample)"
    return {
        "type": "FeatureCollection",
        "features": features,
        "of": of,
        "cell_m": cell_m,
        "sampled": sampled,
        "total": float(values.sum()),
        "unit": unit,
        "title": title,
        "legend": [list(row) for row in classes.legend(unit=unit if of == "revenue" else "")],
    }


def _round_m(metres: float) -> str:
    """A cell's side as people say it: ``"~120 m"``, ``"~2.4 km"``."""
    if metres >= 1000:
        return f"{metres / 1000:.1f} km"
    return f"{float(f'{metres:.2g}'):.0f} m"


def catchment_inputs(conn: Connection) -> str:
    """A stamp of what the catchments are computed from (roads, road graph, branches): when
    it changes, catchments computed before are out of date."""
    return str(conn.execute(text(_SQL["catchment_inputs"])).scalar_one())


def catchment_geojson(
    conn: Connection, *, minutes: Sequence[float] = CATCHMENT_MINUTES
) -> dict[str, Any]:
    """Drive-time catchments of every branch (:func:`gcrm.routing.branch_catchments`) as
    GeoJSON, largest limit first (so the shorter ones are drawn on top), coloured by limit.

    The road graph is read as stored (built from the roads when not current, and not
    stored: the connection may be read-only). Takes seconds on a city's roads: cache it.

    Returns
    -------
    dict
        A FeatureCollection of (Multi)Polygons with properties ``code``, ``name``,
        ``minutes``, ``area_km2``, ``colour``; beside the features, ``legend``
        (``[colour, "≤ 10 min"]`` per limit, shortest first) and ``minutes``.

    Raises
    ------
    NotFoundError
        When there is no road (the message names the import that fixes it) or no branch.
    """
    try:
        graph = read_road_graph(conn, store=False)
    except NotFoundError:
        msg = f"No road graph for drive-time catchments: gcrm.roads is empty; {_ROAD_FIX}"
        raise NotFoundError(msg) from None
    gdf = branch_catchments(conn, minutes=minutes, graph=graph)
    limits = sorted(gdf["minutes"].unique())
    # Short drive times in the darkest colour, as the offline catchment map draws them.
    palette = CATCHMENT_PALETTE
    colour = {m: palette[min(i, len(palette) - 1)] for i, m in enumerate(limits)}
    gdf = gdf[~gdf.geometry.is_empty].sort_values(["minutes", "code"], ascending=[False, True])
    gdf = gdf.assign(colour=gdf["minutes"].map(colour), minutes=gdf["minutes"].astype(float))
    collection = gdf[["code", "name", "minutes", "area_km2", "colour", "geometry"]].to_geo_dict(
        drop_id=True
    )
    collection["legend"] = [[colour[m], f"≤ {format_value(m)} min"] for m in limits]
    collection["minutes"] = [float(m) for m in limits]
    return collection
