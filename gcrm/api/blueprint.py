"""The Flask blueprint: the routes of :data:`OPERATIONS`, registered from the same table that
writes the OpenAPI document, thin handlers over the library, one JSON shape for every error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, NoReturn, cast

import flask
import psycopg
from flask import Blueprint, Response, jsonify, request
from flask_limiter import RateLimitExceeded
from sqlalchemy import Connection, text
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RoutingException

from gcrm.access import Principal, record_access
from gcrm.api import models as m
from gcrm.api.customers import read_customer, read_customer_page
from gcrm.api.docs import docs_asset, docs_page
from gcrm.api.limits import RouteLimits
from gcrm.api.openapi import Operation, openapi_document
from gcrm.api.params import parse_path, parse_query
from gcrm.api.shaping import (
    address_frame,
    cube_slice,
    forecast_record,
    geocode_record,
    geocode_records,
    reverse_record,
)
from gcrm.areas import level_names
from gcrm.core import GcrmError, NotFoundError, ValidationError, parse_area_id
from gcrm.cube import compare_periods, find_hotspots, forecast, hotspots_geojson, measure_unit
from gcrm.geocode import geocode_frame, geocode_one, reverse_geocode
from gcrm.leads import nearby_geojson, resolve_origin
from gcrm.web import Services, current_request_principal, error_response, require

__all__ = ["OPERATIONS", "create_api_blueprint"]

_LOG = logging.getLogger(__name__)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_CATCH_ALL = "no_route"
#: Lead fields that name or reach a person (a sole trader's name, address, phone, website):
#: lead lists count as personal data in the audit log.
LEAD_PERSONAL_FIELDS = ("name", "street", "housenumber", "postcode", "city", "phone", "website")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/health", "health", "Database and cube status",
        "Whether the database answers and the cube of the caller's scope loads. Public.",
        m.Health, "service", other_bodies=((503, m.Health),),
    ),
    Operation(
        "GET", "/leads/near", "leads_near", "Leads near a point, an address or a customer",
        "Leads within radius_m of exactly one origin (lon and lat, address, or customer_id), "
        "nearest first, as a GeoJSON FeatureCollection with the origin as a foreign member.",
        m.LeadCollection, "leads", permission="read_leads", query=m.LeadsNearQuery,
        errors=(404, 422), personal_data=True,
    ),
    Operation(
        "GET", "/cube/slice", "cube_slice", "One measure per area of a level",
        "A slice of the cube of the caller's scope: one value per area, by area id.",
        list[m.CubeRow], "cube", permission="view_aggregates", query=m.CubeSliceQuery,
        errors=(404,),
    ),
    Operation(
        "GET", "/cube/forecast", "cube_forecast", "A measure's next months, with a backtest",
        "A forecast of one measure for one area or the total of a level's areas, from the "
        "cube of the caller's scope: exponential smoothing (ETS, with 12-month seasonality "
        "given two years of history), 80% and 95% prediction intervals by month and for the "
        "next 3, 6 and 12 months together, and the backtest on the last 12 months against "
        "the same month last year.",
        m.ForecastAnswer, "cube", permission="view_aggregates", query=m.ForecastQuery,
        errors=(404,),
    ),
    Operation(
        "GET", "/hotspots", "hotspots", "Hot and cold spots of a measure",
        "Getis-Ord Gi* or local Moran's I of one measure over the areas of a level, from the "
        "cube of the caller's scope: queen contiguity, permutation pseudo p-values adjusted "
        "for testing every area, a class per area; as a GeoJSON FeatureCollection stating the "
        "method, alpha and correction.",
        m.HotspotCollection, "cube", permission="view_aggregates", query=m.HotspotsQuery,
        errors=(404,),
    ),
    Operation(
        "GET", "/geocode", "geocode_one", "Geocode one address",
        "The offline reference's answer for one address (placed or not: an unplaced address "
        "answers precision none with null coordinates).",
        m.GeocodeAnswer, "geocoding", permission="geocode", query=m.GeocodeQuery,
    ),
    Operation(
        "POST", "/geocode", "geocode_many", "Geocode up to 10,000 addresses",
        "Results in the order of the addresses sent. Rate-limited per token.",
        list[m.GeocodeAnswer], "geocoding", permission="geocode",
        body=m.GeocodeBody,
        rate_limited=True,
    ),
    Operation(
        "GET", "/reverse", "reverse", "The nearest reference address to a point",
        "404 when no reference address lies within max_distance_m.",
        m.ReverseAnswer, "geocoding", permission="geocode", query=m.ReverseQuery,
        errors=(404,),
    ),
    Operation(
        "GET", "/customers", "customers", "Customers, a page at a time",
        "The customers the caller may see, by id, optionally in one area; with the offset "
        "of the next page (null on the last).",
        m.CustomerPage, "customers", permission="read_customers", query=m.CustomersQuery,
        personal_data=True,
    ),
    Operation(
        "GET", "/customers/<customer_id>", "customer", "One customer",
        "404 for an id that does not exist and for a customer outside the caller's scope "
        "alike.",
        m.Customer, "customers", permission="read_customers", path=m.CustomerPath,
        errors=(404,), personal_data=True,
    ),
)  # fmt: skip


def create_api_blueprint(services: Services, *, name: str = "gcrm_api") -> Blueprint:
    """Create the JSON API blueprint; mount it with ``app.register_blueprint(bp, url_prefix="/api")``.

    The server must resolve each request's principal first (:func:`gcrm.web.install`): every
    route but ``/health`` asks for a permission, and reads through ``services.data``, under
    the principal's scope.

    Parameters
    ----------
    services
        The engines and per-scope cubes of the server.
    name
        Blueprint name (unique per Flask app).

    Returns
    -------
    flask.Blueprint
        The routes of :data:`OPERATIONS`, ``/openapi.json``, ``/docs``, and a JSON 404 or 405
        for any other path below the prefix.

    Raises
    ------
    ConfigurationError
        When ``services.settings.rate_limit`` is not a rate.
    """
    bp = Blueprint(name, __name__)
    limits = RouteLimits(services.settings)
    bp.record_once(lambda state: limits.init_app(cast(flask.Flask, state.app)))
    handlers = _handlers(services)
    for op in OPERATIONS:
        view = _view(op, handlers[op.name])
        bp.add_url_rule(
            op.rule, op.name, limits.limit(view) if op.rate_limited else view, methods=[op.method]
        )
    document = json.dumps(openapi_document(OPERATIONS))
    bp.add_url_rule(
        "/openapi.json", "openapi", lambda: Response(document, mimetype="application/json")
    )
    bp.add_url_rule("/docs", "docs", lambda: _docs(name))
    bp.add_url_rule("/docs/<name>", "docs_asset", docs_asset)
    no_route = _no_route_view(name)
    for rule in ("", "/", "/<path:path>"):
        bp.add_url_rule(rule, _CATCH_ALL, no_route, methods=_METHODS)
    bp.register_error_handler(RateLimitExceeded, limits.exceeded)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(GcrmError, error_response)
    bp.register_error_handler(OperationalError, error_response)
    bp.register_error_handler(DataError, _data_error)
    bp.register_error_handler(psycopg.DataError, _data_error)
    bp.register_error_handler(Exception, _unexpected)
    return bp


Handler = Callable[..., Response | tuple[Response, int]]


def _view(op: Operation, handler: Handler) -> Callable[..., Response | tuple[Response, int]]:
    """The route of ``op``: the permission first (401/403 before any 400), then the
    parameters through the route's models, then the handler."""

    def view(**path: str) -> Response | tuple[Response, int]:
        principal = require(op.permission) if op.permission is not None else None
        kwargs: dict[str, Any] = {"principal": principal}
        query = parse_query(op.query or m.NoQuery, request.args)
        if op.query is not None:
            kwargs["query"] = query
        if op.path is not None:
            kwargs["path"] = parse_path(op.path, path)
        return handler(**kwargs)

    # flask-limiter tells limits apart by the view's name.
    view.__name__ = view.__qualname__ = f"api_{op.name}"
    return view


def _handlers(services: Services) -> dict[str, Handler]:
    """The route handlers by operation name, over ``services``."""

    def health(principal: Principal | None) -> tuple[Response, int]:
        return _health(services)

    def leads_near(principal: Principal, query: m.LeadsNearQuery) -> Response:
        with services.data.begin() as conn:
            origin = resolve_origin(
                conn,
                lon=query.lon,
                lat=query.lat,
                address=query.address,
                customer_id=query.customer_id,
            )
            found = nearby_geojson(
                conn,
                origin,
                radius_m=query.radius_m,
                limit=query.limit,
                categories=query.category,
                zoning_classes=query.zoning_class,
            )
            if found.features:
                _audit(conn, "GET /api/leads/near", found.features, LEAD_PERSONAL_FIELDS, query)
        return Response(found.body, mimetype="application/json")

    def cube(principal: Principal, query: m.CubeSliceQuery) -> Response:
        ds = services.cube_for(principal)
        period = None if query.period == "all" else query.period
        rows = cube_slice(
            ds,
            level=query.level,
            measure=query.measure,
            period=period,
            segment=query.segment,
            parent=query.parent,
            channel=query.channel,
            branch=query.branch,
        )
        if query.compare is not None:
            compared = compare_periods(
                ds,
                query.measure,
                period=period or "all",
                compare=query.compare,
                level=query.level,
                segment=query.segment,
                parent=query.parent,
                channel=query.channel,
                branch=query.branch,
            )[["base", "change", "pct_change"]]
            # NaN (a change relative to nothing) is JSON null.
            extra = compared.astype(object).where(compared.notna(), None)
            for row in rows:
                row.update(extra.loc[row["area"]].to_dict())
        return jsonify(rows)

    def cube_forecast(principal: Principal, query: m.ForecastQuery) -> Response:
        ds = services.cube_for(principal)
        result = forecast(
            ds,
            query.measure,
            area=query.area,
            level=query.level,
            segment=query.segment,
            horizon=query.horizon,
        )
        return jsonify(forecast_record(result, unit=measure_unit(ds, query.measure)))

    def hotspots(principal: Principal, query: m.HotspotsQuery) -> Response:
        ds = services.cube_for(principal)
        with services.data.connect() as conn:
            result = find_hotspots(
                ds,
                conn,
                level=query.level,
                measure=query.measure,
                period=None if query.period == "all" else query.period,
                segment=query.segment,
                parent=query.parent,
                channel=query.channel,
                branch=query.branch,
                method=query.method,
                alpha=query.alpha,
                correction=query.correction,
                permutations=query.permutations,
                seed=query.seed,
                islands=query.islands,
            )
        return jsonify(hotspots_geojson(result))

    def geocode_address(principal: Principal, query: m.GeocodeQuery) -> Response:
        # A transaction: an address the fast path cannot place climbs the whole ladder,
        # which stages it in a temporary table.
        with services.data.begin() as conn:
            return jsonify(geocode_record(geocode_one(conn, query.address)))

    def geocode_many(principal: Principal) -> Response:
        frame = address_frame(request.get_json(silent=True))
        with services.data.begin() as conn:
            results = geocode_frame(conn, frame)
        return jsonify(geocode_records(results))

    def reverse(principal: Principal, query: m.ReverseQuery) -> Response:
        with services.data.connect() as conn:
            found = reverse_geocode(
                conn, lon=query.lon, lat=query.lat, max_distance_m=query.max_distance_m
            )
        if found.ref is None:
            msg = (
                f"no reference address within max_distance_m={query.max_distance_m:g} of "
                f"lon={query.lon}, lat={query.lat}; pass a larger max_distance_m or check the "
                "coordinates (EPSG:4326)"
            )
            raise NotFoundError(msg)
        return jsonify(reverse_record(found))

    def customers(principal: Principal, query: m.CustomersQuery) -> Response:
        with services.data.begin() as conn:
            area = None
            if query.area is not None:
                area = parse_area_id(query.area, levels=level_names(conn))
            page = read_customer_page(
                conn,
                area=area,
                limit=query.limit,
                offset=query.offset,
                in_scope=principal.scoped and not principal.all_areas,
            )
            if page.rows:
                _audit(conn, "GET /api/customers", page.rows, _CUSTOMER_FIELDS, query)
        following = query.offset + page.rows
        body = (
            f'{{"customers": {page.body}, "limit": {query.limit}, '
            f'"offset": {query.offset}, '
            f'"next_offset": {following if page.more else "null"}}}'
        )
        return Response(body, mimetype="application/json")

    def customer(principal: Principal, path: m.CustomerPath) -> Response:
        with services.data.begin() as conn:
            body = read_customer(conn, path.customer_id)
            _audit(conn, "GET /api/customers/{id}", 1, _CUSTOMER_FIELDS, path)
        return Response(body, mimetype="application/json")

    return {
        "health": health,
        "leads_near": leads_near,
        "cube_slice": cube,
        "cube_forecast": cube_forecast,
        "hotspots": hotspots,
        "geocode_one": geocode_address,
        "geocode_many": geocode_many,
        "reverse": reverse,
        "customers": customers,
        "customer": customer,
    }


_CUSTOMER_FIELDS = (*m.Customer.model_fields, "area_<level>")


def _audit(
    conn: Connection, action: str, rows: int, fields: tuple[str, ...], params: m.ApiQuery
) -> None:
    """Record who read ``rows`` rows of personal ``fields`` (and with which parameters)."""
    given = params.model_dump(exclude_defaults=True)
    record_access(
        conn,
        action=action,
        rows=rows,
        fields=fields,
        target=str(given.get("customer_id") or given.get("area") or "") or None,
        detail=given,
    )


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


def _docs(blueprint: str) -> Response:
    return docs_page(
        spec_url=flask.url_for(f"{blueprint}.openapi"),
        assets_url=flask.url_for(f"{blueprint}.docs_asset", name="x").rsplit("/", 1)[0],
    )


def _no_route_view(blueprint: str) -> Callable[..., NoReturn]:
    def no_route(path: str = "") -> NoReturn:
        _no_route(blueprint)

    return no_route


def _no_route(blueprint: str) -> NoReturn:
    """No route for this path: 405 (with Allow) when another method has one, else 404."""
    adapter = flask.current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in _METHODS:
        try:
            endpoint, _ = adapter.match(method=method)
        except (HTTPException, RoutingException):
            continue
        if endpoint != f"{blueprint}.{_CATCH_ALL}":
            allowed.append(method)
    if allowed:
        msg = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
        raise MethodNotAllowed(valid_methods=allowed, description=msg)
    msg = f"no route {request.method} {request.path}; the routes are listed at /api/docs"
    raise NotFound(description=msg)


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    """A werkzeug error in the one JSON shape, keeping its headers (Allow on a 405)."""
    response, status = error_response(exc)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response, status


def _data_error(exc: Exception) -> tuple[Response, int]:
    """A value PostgreSQL refused (SQLAlchemy's DataError, or psycopg's from a COPY)."""
    msg = (
        "a value sent cannot be stored or compared by PostgreSQL (e.g. a NUL character or a "
        "number out of range); check the values and send them again"
    )
    return error_response(ValidationError(msg))


def _unexpected(exc: Exception) -> tuple[Response, int]:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    _LOG.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(exc)
