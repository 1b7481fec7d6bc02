"""Turning library results into JSON-ready objects (plain functions, no Flask)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import xarray as xr

__all__ = ["cube_slice", "leads_collection"]


def _json_number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def cube_slice(
    ds: xr.Dataset,
    *,
    level: str,
    measure: str,
    period: str | None = None,
    segment: str | None = None,
    parent: str | None = None,
) -> list[dict[str, Any]]:
    """One measure for every area of ``level``: ``[{area, code, name, value}]``, by area id.

    Parameters are those of :func:`gcrm.cube.select_measure`; NaN values become ``None``.
    """
    from gcrm.cube import select_measure

    values = select_measure(ds, measure, level=level, period=period, segment=segment, parent=parent)
    coords = ds[["code", "name"]].sel(area=list(values.index))
    return [
        {"area": str(area), "code": str(code), "name": str(name), "value": _json_number(value)}
        for area, code, name, value in zip(
            values.index,
            coords["code"].values,
            coords["name"].values,
            values.to_numpy(),
            strict=True,
        )
    ]


def leads_collection(leads: Any, *, origin: Any = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``leads`` (a GeoDataFrame), nearest first.

    ``origin`` (a :class:`gcrm.leads.Origin`) goes into a foreign member ``origin``.
    """
    frame = leads.sort_values("distance_m", kind="stable") if "distance_m" in leads else leads
    frame = frame.copy()
    for column in frame.columns:
        if column != frame.geometry.name and (
            pd.api.types.is_datetime64_any_dtype(frame[column]) or frame[column].dtype == object
        ):
            frame[column] = frame[column].map(_jsonable)
    collection: dict[str, Any] = json.loads(frame.to_json(na="null", drop_id=True))
    if origin is not None:
        collection["origin"] = {
            "lon": origin.lon,
            "lat": origin.lat,
            "label": origin.label,
            "precision": origin.precision,
        }
    return collection


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
