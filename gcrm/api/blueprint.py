"""The Flask blueprint: thin routes over :mod:`gcrm.api.shaping` and the library."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, Response, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gcrm.api.params import float_arg, int_arg, list_arg, str_arg
from gcrm.api.shaping import (
    address_frame,
    cube_slice,
    geocode_records,
    leads_collection,
    reverse_record,
)
from gcrm.core import GcrmError, NotFoundError, ValidationError
from gcrm.geocode import geocode_frame, reverse_geocode
from gcrm.leads import find_nearby_leads, resolve_origin
from gcrm.web import Services, current_request_principal, error_response, require

__all__ = ["create_api_blueprint"]

DEFAULT_RADIUS_M = 1000.0
MAX_RADIUS_M = 50_000.0
DEFAULT_LIMIT = 50
DEFAULT_REVERSE_M = 250.0
MAX_REVERSE_M = 10_000.0


def create_api_blueprint(services: Services, *, name: str = "gcrm_api") -> Blueprint:
    """Create the JSON API blueprint; mount it with ``app.register_blueprint(bp, url_prefix="/api")``.

    The server must resolve each request's principal first (:func:`gcrm.web.install`): every
    route asks for a permission, and reads through ``services.data``, under the principal's
    scope.

    Parameters
    ----------
    services
        The engines and per-scope cubes of the server.
    name
        Blueprint name (unique per Flask app).

    Returns
    -------
    flask.Blueprint
        With ``/health``, ``/leads/near``, ``/cube/slice``, ``/geocode`` (GET one, POST a
        batch) and ``/reverse``.
    """
    bp = Blueprint(name, __name__)
    bp.register_error_handler(GcrmError, error_response)
    bp.register_error_handler(OperationalError, error_response)
    bp.add_url_rule("/health", "health", lambda: _health(services))
    bp.add_url_rule("/leads/near", "leads_near", lambda: _leads_near(services))
    bp.add_url_rule("/cube/slice", "cube_slice", lambda: _cube_slice(services))
    bp.add_url_rule("/geocode", "geocode_one", lambda: _geocode_one(services), methods=["GET"])
    bp.add_url_rule("/geocode", "geocode_many", lambda: _geocode_many(services), methods=["POST"])
    bp.add_url_rule("/reverse", "reverse", lambda: _reverse(services))
    return bp


def _health(services: Services) -> tuple[Response, int]:
    status: dict[str, Any] = {"status": "ok", "database": "ok", "cube": "ok"}
    code = 200
    try:
        with services.data.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (GcrmError, OperationalError) as exc:
        status.update(status="unavailable", database=str(exc).splitlines()[0])
        code = 503
    principal = current_request_principal()
    try:
        if principal is not None:
            services.cube_for(principal)
    except (GcrmError, OSError, OperationalError) as exc:
        status["cube"] = f"not loaded: {exc}"
    return jsonify(status), code


def _cube_slice(services: Services) -> Response:
    principal = require("view_aggregates")
    args = request.args
    level = str_arg(args, "level")
    measure = str_arg(args, "measure")
    for name, value in (("level", level), ("measure", measure)):
        if value is None:
            msg = f"{name} is missing; pass e.g. /api/cube/slice?level=district&measure=revenue"
            raise ValidationError(msg)
    period = str_arg(args, "period")
    rows = cube_slice(
        services.cube_for(principal),
        level=str(level),
        measure=str(measure),
        period=None if period == "all" else period,
        segment=str_arg(args, "segment"),
        parent=str_arg(args, "parent"),
    )
    return jsonify(rows)


def _leads_near(services: Services) -> Response:
    require("read_leads")
    args = request.args
    origin_kwargs = _origin_kwargs(args)
    radius_m = float_arg(
        args, "radius_m", default=DEFAULT_RADIUS_M, minimum=1.0, maximum=MAX_RADIUS_M
    )
    limit = int_arg(args, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=1000)
    with services.data.connect() as conn:
        origin = resolve_origin(conn, **origin_kwargs)
        leads = find_nearby_leads(
            conn,
            lon=origin.lon,
            lat=origin.lat,
            radius_m=radius_m,
            limit=limit,
            categories=list_arg(args, "category"),
            zoning_classes=list_arg(args, "zoning_class"),
        )
    return jsonify(leads_collection(leads, origin=origin))


def _origin_kwargs(args: Any) -> dict[str, Any]:
    """Exactly one of lon+lat, address, customer_id."""
    lon = float_arg(args, "lon", minimum=-180.0, maximum=180.0)
    lat = float_arg(args, "lat", minimum=-90.0, maximum=90.0)
    address = str_arg(args, "address")
    customer_id = str_arg(args, "customer_id")
    given = [
        name
        for name, present in (
            ("lon/lat", lon is not None or lat is not None),
            ("address", address is not None),
            ("customer_id", customer_id is not None),
        )
        if present
    ]
    if len(given) != 1:
        msg = (
            f"origin given as {given or 'nothing'}; pass exactly one of lon and lat, "
            "address, or customer_id"
        )
        raise ValidationError(msg)
    if given == ["lon/lat"]:
        if lon is None or lat is None:
            msg = f"lon={lon!r}, lat={lat!r}: pass both lon and lat"
            raise ValidationError(msg)
        return {"lon": lon, "lat": lat}
    return {"address": address} if address is not None else {"customer_id": customer_id}


def _geocode_one(services: Services) -> Response:
    require("geocode")
    address = str_arg(request.args, "address")
    if address is None:
        msg = "address is missing; pass e.g. /api/geocode?address=Mannerheimintie%2010,%20Helsinki"
        raise ValidationError(msg)
    # A transaction: the geocoder remembers what it found in its cache.
    with services.data.begin() as conn:
        results = geocode_frame(conn, pd.DataFrame({"address": [address]}))
    return jsonify(geocode_records(results)[0])


def _geocode_many(services: Services) -> Response:
    require("geocode")
    frame = address_frame(request.get_json(silent=True))
    with services.data.begin() as conn:
        results = geocode_frame(conn, frame)
    return jsonify(geocode_records(results))


def _reverse(services: Services) -> Response:
    require("geocode")
    args = request.args
    lon = float_arg(args, "lon", minimum=-180.0, maximum=180.0)
    lat = float_arg(args, "lat", minimum=-90.0, maximum=90.0)
    if lon is None or lat is None:
        msg = f"lon={lon!r}, lat={lat!r}: pass both, e.g. /api/reverse?lon=24.9402&lat=60.1692"
        raise ValidationError(msg)
    max_m = float_arg(
        args, "max_distance_m", default=DEFAULT_REVERSE_M, minimum=1.0, maximum=MAX_REVERSE_M
    )
    with services.data.connect() as conn:
        found = reverse_geocode(conn, lon=lon, lat=lat, max_distance_m=max_m)
    if found.ref is None:
        msg = (
            f"no reference address within max_distance_m={max_m:g} of lon={lon}, lat={lat}; "
            "pass a larger max_distance_m or check the coordinates (EPSG:4326)"
        )
        raise NotFoundError(msg)
    return jsonify(reverse_record(found))
