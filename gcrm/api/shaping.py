"""Turning library results into JSON-ready objects (plain functions, no Flask)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pydantic
import xarray as xr

from gcrm.api.models import MAX_BATCH, AddressParts
from gcrm.core import ValidationError
from gcrm.cube import Forecast, select_measure
from gcrm.geocode import GeocodeResult, parse_addresses

__all__ = [
    "MAX_BATCH",
    "address_frame",
    "cube_slice",
    "forecast_record",
    "geocode_record",
    "geocode_records",
    "leads_collection",
    "reverse_record",
]

_ADDRESS_FIELDS = ("street", "housenumber", "postcode", "city")
_RESULT_FIELDS = ("lon", "lat", "precision", "score", "source", "matched_address")


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
    channel: str | None = None,
    branch: str | None = None,
) -> list[dict[str, Any]]:
    """One measure for every area of ``level``: ``[{area, code, name, value}]``, by area id.

    Parameters are those of :func:`gcrm.cube.select_measure`; NaN values become ``None``.
    """
    values = select_measure(
        ds,
        measure,
        level=level,
        period=period,
        segment=segment,
        parent=parent,
        channel=channel,
        branch=branch,
    )
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


def forecast_record(result: Forecast, *, unit: str) -> dict[str, Any]:
    """A :class:`gcrm.cube.Forecast` as JSON (:class:`gcrm.api.models.ForecastAnswer`)."""

    def rows(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
        return [
            {key: label, **{c: _json_number(v) for c, v in row.items()}}
            for label, row in zip(frame.index, frame.to_dict("records"), strict=True)
        ]

    months = result.months.set_axis(result.months.index.strftime("%Y-%m"))
    backtest = result.backtest
    return {
        "measure": result.measure,
        "target": result.target,
        "segment": result.segment,
        "model": result.model,
        "history_months": result.history_months,
        "unit": unit,
        "months": rows(months, "month"),
        "totals": rows(result.totals, "months"),
        "backtest": None
        if backtest is None
        else {
            "model": backtest.model,
            "months": len(backtest.months),
            "mae_model": _json_number(backtest.mae_model),
            "mae_naive": _json_number(backtest.mae_naive),
            "pct_metric": backtest.pct_metric,
            "pct_model": _json_number(backtest.pct_model),
            "pct_naive": _json_number(backtest.pct_naive),
            "better": backtest.better,
            "description": backtest.describe(),
        },
        "notes": list(result.notes),
    }


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


def _batch_items(payload: Any) -> list[Any]:
    items = payload.get("addresses") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        what = "empty or not JSON" if payload is None else f"a JSON {type(payload).__name__}"
        msg = (
            f"the body is {what}; send (with Content-Type: application/json) "
            '{"addresses": ["Mannerheimintie 10, Helsinki", ...]} or '
            '[{"street": "Mannerheimintie", "housenumber": "10", "postcode": "00100", '
            '"city": "Helsinki"}, ...]'
        )
        raise ValidationError(msg)
    if len(items) > MAX_BATCH:
        msg = f"addresses has {len(items):,} items; send at most {MAX_BATCH:,} per call"
        raise ValidationError(msg)
    return items


def _part_text(value: str | float | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _split_item(i: int, item: Any) -> dict[str, str | None]:
    """One item as address parts, checked by :class:`gcrm.api.models.AddressParts`."""
    if isinstance(item, str):
        item = {"address": item}
    if not isinstance(item, dict):
        msg = f"addresses[{i}]={item!r} is neither a string nor an object; send one of them"
        raise ValidationError(msg)
    unknown = set(item) - set(AddressParts.model_fields)
    if unknown:
        msg = f"addresses[{i}] has unknown keys {sorted(unknown)}; use {list(_ADDRESS_FIELDS)}"
        raise ValidationError(msg)
    try:
        parts = AddressParts.model_validate(item, strict=True)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = error["loc"][0]
        value = item.get(str(key))
        msg = (
            f"addresses[{i}].{key}={_shown(value)} is not accepted ({error['msg'].lower()}); "
            "send text or a number, at most 500 characters, without NUL characters"
        )
        raise ValidationError(msg) from None
    return {k: _part_text(v) for k, v in parts.model_dump().items()}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def address_frame(payload: Any) -> pd.DataFrame:
    """The geocoder's input frame from a POST body, in the body's order.

    ``payload`` is ``{"addresses": [...]}`` or a bare list (:class:`gcrm.api.models.GeocodeBatch`);
    each item a one-line address string or an object with ``street``, ``housenumber``,
    ``postcode``, ``city`` (any may be missing) or ``address``.

    Raises
    ------
    ValidationError
        When the body has another shape, an item is neither string nor object, an object has
        unknown keys or a value that is not text or a number, or there are more than
        :data:`MAX_BATCH` items.
    """
    rows = pd.DataFrame.from_records(
        [_split_item(i, item) for i, item in enumerate(_batch_items(payload))],
        columns=["address", *_ADDRESS_FIELDS],
    ).astype("string")
    # One-line items are split here so both kinds go through the geocoder in one pass.
    one_line = rows["address"].notna()
    if one_line.any():
        parsed = parse_addresses(rows.loc[one_line, "address"])
        rows.loc[one_line, list(_ADDRESS_FIELDS)] = parsed[list(_ADDRESS_FIELDS)]
    return rows[list(_ADDRESS_FIELDS)]


def _record(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _RESULT_FIELDS:
        value = getattr(row, name)
        if value is None or pd.isna(value):
            out[name] = None
        elif name in ("lon", "lat", "score"):
            out[name] = _json_number(value)
        else:
            out[name] = str(value)
    return out


def geocode_records(results: pd.DataFrame) -> list[dict[str, Any]]:
    """Geocoder results as JSON objects, in order: lon, lat, precision, score, source,
    matched_address (missing values as ``None``)."""
    # One dict per row is what JSON needs; at most MAX_BATCH rows.
    return [_record(row) for row in results[list(_RESULT_FIELDS)].itertuples(index=False)]


def geocode_record(result: GeocodeResult) -> dict[str, Any]:
    """One :class:`gcrm.geocode.GeocodeResult` as the JSON object of :func:`geocode_records`."""
    return {
        "lon": None if result.lon is None else _json_number(result.lon),
        "lat": None if result.lat is None else _json_number(result.lat),
        "precision": result.precision,
        "score": _json_number(result.score),
        "source": result.source,
        "matched_address": result.matched_address,
    }


def reverse_record(found: Any) -> dict[str, Any]:
    """A :class:`gcrm.ingest.ReverseResult` as a JSON object."""
    return {
        "address": found.address,
        "ref": found.ref,
        "distance_m": found.distance_m,
        "lon": found.lon,
        "lat": found.lat,
    }
