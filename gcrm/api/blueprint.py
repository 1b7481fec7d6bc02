"""The Flask blueprint: the routes of :data:`OPERATIONS`, registered from the same table that
writes the OpenAPI document, thin handlers over the library, one JSON shape for every error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, NoReturn, cast

import flask
import pandas as pd
import psycopg
import pydantic
import shapely
import shapely.errors
import shapely.geometry
from flask import Blueprint, Response, jsonify, request
from flask.sansio.blueprints import BlueprintSetupState
from flask_limiter import RateLimitExceeded
from pydantic import TypeAdapter
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import PathConverter, RoutingException

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
from gcrm.api.territories import territory_handlers
from gcrm.areas import level_names
from gcrm.campaigns import OVERALL, campaign_results, list_campaigns
from gcrm.core import GcrmError, NotFoundError, ValidationError, parse_area_id
from gcrm.cube import compare_periods, find_hotspots, forecast, hotspots_geojson, measure_unit
from gcrm.geocode import geocode_frame, geocode_one, reverse_geocode
from gcrm.leads import (
    LEAD_PERSONAL_FIELDS,
    drive_time_geojson,
    nearby_geojson,
    resolve_origin,
    within_geojson,
)
from gcrm.routing import plan_route, route_geojson
from gcrm.scoring import latest_run, read_churn_list, read_lead_score
from gcrm.web import Services, current_request_principal, error_response, require

__all__ = ["OPERATIONS", "create_api_blueprint"]

_LOG = logging.getLogger(__name__)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_CATCH_ALL = "no_route"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/health", "health", "Database and cube status",
        "Whether the database answers and the cube of the caller's scope loads. Public.",
        m.Health, "service", other_bodies=((503, m.Health),),
    ),
    Operation(
        "GET", "/leads/near", "leads_near", "Leads near a point, an address or a customer",
        "Leads within radius_m, or within minutes of driving on the road graph (rows then "
        "carry drive_time_s), of exactly one origin (lon and lat, address, or customer_id), "
        "nearest or quickest first (or by score), with their lead score and its reasons, as a "
        "GeoJSON FeatureCollection with the origin as a foreign member.",
        m.LeadCollection, "leads", permission="read_leads", query=m.LeadsNearQuery,
        errors=(404, 422), personal_data=True,
    ),
    Operation(
        "GET", "/leads/within", "leads_within", "Leads in an area",
        "Leads whose area code at the level of area is its code (as enrichment set it), by "
        "id or by score, as a GeoJSON FeatureCollection (origin null).",
        m.LeadCollection, "leads", permission="read_leads", query=m.LeadsWithinQuery,
        personal_data=True,
    ),
    Operation(
        "POST", "/leads/within", "leads_within_polygon", "Leads inside a polygon",
        "Leads inside the GeoJSON Polygon or MultiPolygon (or a Feature holding one) sent as "
        "the body, in EPSG:4326 (a lead on the boundary is not inside); the filters in the "
        "query string as for GET. A GeoJSON FeatureCollection (origin null).",
        m.LeadCollection, "leads", permission="read_leads", query=m.LeadsWithinQuery,
        body=m.LeadsWithinBody, personal_data=True,
    ),
    Operation(
        "GET", "/leads/<id:lead_id>/score", "lead_score", "One lead's score and its reasons",
        "The lead's score (gcrm leads score), its percentile among all leads, the three "
        "features that moved it most in words, and the run that made it with its backtest "
        "against the random and distance baselines. 404 for a lead without a score and for "
        "a lead outside the caller's scope alike.",
        m.LeadScore, "leads", permission="read_leads", path=m.LeadScorePath, errors=(404,),
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
        "POST", "/route", "route", "The day's visit order of up to 200 stops",
        "The order to visit the stops from the start (a point or a branch code) on the road "
        "graph, with arrival and departure times, optional time windows per stop and a day "
        "length; stops that do not fit come back with a reason; the path along the roads as "
        "a GeoJSON FeatureCollection.",
        m.RouteAnswer, "leads", permission="read_leads", body=m.RouteBody, errors=(404,),
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
    Operation(
        "GET", "/customers/churn-risk", "customers_churn_risk", "Customers by churn risk",
        "The active customers the caller may see, riskiest first: each one's probability of "
        "churning in the next 6 months (gcrm customers churn-risk), the three reasons that "
        "moved it most, revenue of the last 12 months and area codes; names only for callers "
        "who may read customers one by one. With the run that scored them and its backtest "
        "against a recency-only ranking.",
        m.ChurnRiskList, "customers", permission="view_aggregates", query=m.ChurnRiskQuery,
        personal_data=True,
    ),
    Operation(
        "GET", "/campaigns", "campaigns", "Campaigns",
        "Every campaign, newest first, with its targets and controls in the caller's scope. "
        "No personal data: a campaign's contacts leave only through `gcrm campaigns export`, "
        "which is logged.",
        list[m.CampaignSummary], "campaigns", permission="view_aggregates",
    ),
    Operation(
        "GET", "/campaigns/<campaign>/results", "campaign_results",
        "A campaign's response rate and uplift per area",
        "Targets and controls per area of a level and overall (members counted in the area "
        "they stood in when the campaign was made), the response rate of each group, the "
        "uplift (target rate minus control rate) with a 95% Wald interval, and revenue per "
        "member since the campaign's start; in the caller's scope.",
        m.CampaignResults, "campaigns", permission="view_aggregates",
        path=m.CampaignPath, query=m.CampaignResultsQuery, errors=(404,),
    ),
    Operation(
        "GET", "/territories/plans", "territory_plans", "Stored territory plans",
        "Every stored territory plan, newest first: id, name and version, level, k, the "
        "criteria it balances, whether it is current, how many territories have a rep, its "
        "figures when saved. No personal data.",
        list[m.PlanSummary], "territories", permission="territory_reports",
    ),
    Operation(
        "POST", "/territories/plans", "territory_plan_design", "Design and save a territory plan",
        "Divide the areas of a level into k contiguous territories balanced on the criteria "
        "(weights of the caller's scope), optionally with units locked to territories, and "
        "save the plan as the next version of its name. Runs while the request waits (the "
        "Bay Area's 1,454 zones, k=8, on a busy 2-core server: 20 s with iterations 0, 92 s "
        "by default); a level of more than 5,000 areas is refused (use `gcrm territories "
        "design`).",
        m.PlanDetail, "territories", permission="plan_territories", body=m.PlanDesignBody,
        errors=(404,), status=201,
    ),
    Operation(
        "GET", "/territories/plans/<plan>", "territory_plan", "A territory plan and its figures",
        "The plan (id, name, name@version or current) with each territory's name, rep, base, "
        "totals, deviations from the mean, Polsby-Popper and contiguity, computed now on the "
        "units' weights in the caller's scope, and its units; or, with format=geojson, a "
        "FeatureCollection of the territories dissolved from their units.",
        m.PlanDetail | m.PlanCollection, "territories", permission="territory_reports",
        path=m.PlanPath, query=m.PlanQuery, errors=(404,),
    ),
    Operation(
        "GET", "/territories/plans/<plan>/diff", "territory_plan_diff", "What changes between two plans",
        "The units that move from the territories of plan `against` to those of the path's "
        "plan, and the flows per (from, to) territory with their units, customers and "
        "revenue (in the caller's scope).",
        m.PlanDiffAnswer, "territories", permission="territory_reports",
        path=m.PlanPath, query=m.PlanDiffQuery, errors=(404,),
    ),
    Operation(
        "POST", "/territories/plans/<plan>/evaluate", "territory_plan_evaluate",
        "What if units moved (nothing saved)",
        "The plan's territories after moving the units of the body to other territories: "
        "totals, deviations, Polsby-Popper and contiguity in the caller's scope. Nothing is "
        "saved (POST .../versions saves).",
        m.PlanEvaluation, "territories", permission="territory_reports", path=m.PlanPath,
        body=m.PlanMovesBody, errors=(404,),
    ),
    Operation(
        "POST", "/territories/plans/<plan>/versions", "territory_plan_version",
        "Save a plan with moves as its next version",
        "The plan with the units of the body moved, saved as the next version of its name (or "
        "of `name`), made from this plan (parent_id); territory names, reps and bases are "
        "kept.",
        m.PlanDetail, "territories", permission="plan_territories", path=m.PlanPath,
        body=m.PlanVersionBody, errors=(404,), status=201,
    ),
    Operation(
        "PUT", "/territories/plans/<plan>/reps", "territory_plan_reps", "Set territories' reps",
        "Territory number -> rep (null or blank clears it) for the plan's territories.",
        m.PlanReps, "territories", permission="plan_territories", path=m.PlanPath,
        body=m.PlanRepsBody, errors=(404,),
    ),
    Operation(
        "POST", "/territories/plans/<plan>/publish", "territory_plan_publish",
        "Publish a plan: every customer and lead gets its territory and rep",
        "In one transaction, the plan's territories become the areas of a level (`territory` "
        "by default, codes T01..), its units a level `<level>_unit` nested under it, every "
        "customer's and lead's area codes get both (GET /api/customers then carries its "
        "territory and rep), the publication is recorded and the plan marked current; an "
        "earlier publication of the level is replaced. Then, unless cube is false, the cube "
        "is rebuilt while the request waits. The body is optional.",
        m.PlanPublication, "territories", permission="plan_territories", path=m.PlanPath,
        body=m.PlanPublishBody, body_required=False, errors=(404,),
    ),
    Operation(
        "GET", "/territories/plans/<plan>/report", "territory_plan_report",
        "A published plan's report per territory (PDF, XLSX, GeoPackage or HTML)",
        "The report of the territories of the level the plan is published as, from the cube "
        "of the caller's scope, as a file to download (territories_<plan name>.<format>): "
        "KPIs, balance against the mean, top customers. 409 when the plan is not the one "
        "published (POST .../publish first) or the cube lacks its territories. Recorded in "
        "the audit log (it names customers).",
        bytes, "territories", permission="territory_reports", path=m.PlanPath,
        query=m.PlanReportQuery, errors=(404, 409),
        media_types=tuple(m.REPORT_MEDIA_TYPES.values()),
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
    # Before any rule: the rules are compiled with the converters the app has then.
    bp.record_once(_register_id_converter)
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


def _route_body(payload: Any) -> m.RouteBody:
    """The body of POST /api/route, or a ValidationError naming the field and the fix."""
    try:
        return m.RouteBody.model_validate(payload)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        msg = (
            f"{where}: {first['msg']} (got {first.get('input')!r}); send "
            '{"start": {"lon": .., "lat": ..} or "B01", "stops": [{"lon": .., "lat": ..}, ..]}'
        )
        raise ValidationError(msg) from None


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
            filters = _lead_filters(query)
            if query.minutes is not None:
                found = drive_time_geojson(conn, origin, minutes=query.minutes, **filters)
            else:
                radius_m = 1000.0 if query.radius_m is None else query.radius_m
                found = nearby_geojson(conn, origin, radius_m=radius_m, **filters)
            if found.features:
                _audit(conn, "GET /api/leads/near", found.features, LEAD_PERSONAL_FIELDS, query)
        return Response(found.body, mimetype="application/json")

    def leads_within(principal: Principal, query: m.LeadsWithinQuery) -> Response:
        if query.area is None:
            msg = (
                "area is missing; pass area=LEVEL:CODE (e.g. /api/leads/within?area=district:D01)"
                ", or POST a GeoJSON Polygon to /api/leads/within"
            )
            raise ValidationError(msg)
        with services.data.begin() as conn:
            found = within_geojson(conn, area=query.area, **_lead_filters(query))
            if found.features:
                _audit(conn, "GET /api/leads/within", found.features, LEAD_PERSONAL_FIELDS, query)
        return Response(found.body, mimetype="application/json")

    def leads_within_polygon(principal: Principal, query: m.LeadsWithinQuery) -> Response:
        polygon = _polygon_body(request.get_json(silent=True))
        with services.data.begin() as conn:
            found = within_geojson(conn, polygon=polygon, area=query.area, **_lead_filters(query))
            if found.features:
                _audit(conn, "POST /api/leads/within", found.features, LEAD_PERSONAL_FIELDS, query)
        return Response(found.body, mimetype="application/json")

    def lead_score(principal: Principal, path: m.LeadScorePath) -> Response:
        with services.data.begin() as conn:
            found = read_lead_score(conn, path.lead_id)
        if found is None:
            msg = (
                f"lead_id={path.lead_id!r} has no score you can see; check the id, or score "
                "the leads with `gcrm leads score`"
            )
            raise NotFoundError(msg)
        return jsonify(found)

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

    def route(principal: Principal) -> Response:
        body = _route_body(request.get_json(silent=True))
        stops = pd.DataFrame(
            {
                "id": [s.id for s in body.stops],
                "lon": [s.lon for s in body.stops],
                "lat": [s.lat for s in body.stops],
                "window_start": [(s.window or (None, None))[0] for s in body.stops],
                "window_end": [(s.window or (None, None))[1] for s in body.stops],
                "service_minutes": [s.service_minutes for s in body.stops],
            }
        )
        start = body.start if isinstance(body.start, str) else (body.start.lon, body.start.lat)
        with services.data.connect() as conn:
            plan = plan_route(
                conn,
                stops,
                start=start,
                start_time=body.start_time,
                day_hours=body.day_hours,
                service_minutes=body.service_minutes,
                returns=body.returns,
            )
        return jsonify(
            {
                "stops": _records(plan.stops),
                "unserved": _records(plan.unserved),
                "totals": plan.totals(),
                "path": route_geojson(plan),
            }
        )

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

    def customers_churn_risk(principal: Principal, query: m.ChurnRiskQuery) -> Response:
        names = principal.can("read_customers")
        with services.data.begin() as conn:
            area = None
            if query.area is not None:
                area = parse_area_id(query.area, levels=level_names(conn))
            found = read_churn_list(
                conn, area=area, limit=query.limit, min_risk=query.min_risk, names=names
            )
            run = latest_run(conn, "churn", with_backtest=True)
            if found.rows and names:
                _audit(conn, "GET /api/customers/churn-risk", found.rows, ("id", "name"), query)
        body = (
            f'{{"customers": {found.body}, "limit": {query.limit}, '
            f'"run": {json.dumps(_run_record(run))}}}'
        )
        return Response(body, mimetype="application/json")

    def customer(principal: Principal, path: m.CustomerPath) -> Response:
        with services.data.begin() as conn:
            body = read_customer(conn, path.customer_id)
            _audit(conn, "GET /api/customers/{id}", 1, _CUSTOMER_FIELDS, path)
        return Response(body, mimetype="application/json")

    def campaigns(principal: Principal) -> Response:
        with services.data.begin() as conn:
            table = list_campaigns(conn)
        return jsonify(_records(table))

    def campaign_result(
        principal: Principal, path: m.CampaignPath, query: m.CampaignResultsQuery
    ) -> Response:
        with services.data.begin() as conn:
            results = campaign_results(
                conn, path.campaign, level=query.level, outcomes=query.outcome
            )
        rows = _records(results)
        meta = {k: results.attrs[k] for k in m.CampaignResults.model_fields if k in results.attrs}
        return jsonify(
            {
                **meta,
                "areas": [r for r in rows if r["area"] != OVERALL],
                "overall": next(r for r in rows if r["area"] == OVERALL),
            }
        )

    return {
        "health": health,
        "leads_near": leads_near,
        "leads_within": leads_within,
        "leads_within_polygon": leads_within_polygon,
        "lead_score": lead_score,
        "cube_slice": cube,
        "cube_forecast": cube_forecast,
        "hotspots": hotspots,
        "geocode_one": geocode_address,
        "geocode_many": geocode_many,
        "reverse": reverse,
        "route": route,
        "customers": customers,
        "customer": customer,
        "customers_churn_risk": customers_churn_risk,
        "campaigns": campaigns,
        "campaign_results": campaign_result,
        **territory_handlers(services),
    }


_CUSTOMER_FIELDS = (*m.Customer.model_fields, "area_<level>")
_POLYGON_EXAMPLE = (
    '{"type": "Polygon", "coordinates": [[[24.93, 60.16], [24.95, 60.16], [24.95, 60.17], '
    "[24.93, 60.16]]]}"
)


def _lead_filters(query: m.LeadsNearQuery | m.LeadsWithinQuery) -> dict[str, Any]:
    """The filters every lead search takes, as keyword arguments of :mod:`gcrm.leads`."""
    filters: dict[str, Any] = {
        "limit": query.limit,
        "categories": query.category,
        "zoning_classes": query.zoning_class,
        "min_score": query.min_score,
        "customers": query.customers,
        "sort": query.sort,
    }
    if isinstance(query, m.LeadsNearQuery):
        filters["area"] = query.area
    return filters


def _polygon_body(payload: Any) -> BaseGeometry:
    """The body of POST /api/leads/within as a shapely polygon (EPSG:4326)."""
    if payload is None:
        msg = (
            "the body is empty or not JSON; send (with Content-Type: application/json) a "
            f"GeoJSON Polygon or MultiPolygon, or a Feature holding one, e.g. {_POLYGON_EXAMPLE}"
        )
        raise ValidationError(msg)
    try:
        parsed = TypeAdapter(m.LeadsWithinBody).validate_python(payload)
    except pydantic.ValidationError:
        kind = payload.get("type") if isinstance(payload, dict) else type(payload).__name__
        msg = (
            f"the body (type {kind!r}) is not a GeoJSON Polygon or MultiPolygon, nor a Feature "
            f"holding one; send e.g. {_POLYGON_EXAMPLE}"
        )
        raise ValidationError(msg) from None
    geometry = parsed.geometry if isinstance(parsed, m.PolygonFeature) else parsed
    try:
        polygon = shapely.geometry.shape(geometry.model_dump())
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        OverflowError,
        shapely.errors.GEOSException,
    ):
        msg = (
            f"the body's {geometry.type} coordinates are not rings of [lon, lat] pairs; each "
            f"ring needs at least 4 positions, the last equal to the first, e.g. {_POLYGON_EXAMPLE}"
        )
        raise ValidationError(msg) from None
    return polygon


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON objects: NaN as null, dates and times as ISO text."""
    out = frame.astype(object).where(frame.notna(), None)
    return [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        for row in out.to_dict("records")
    ]


def _run_record(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """A score run as the API shows it (:class:`gcrm.api.models.ScoreRun`)."""
    if run is None:
        return None
    return {
        "id": int(run["id"]),
        "model": str(run["model"]),
        "created_at": run["created_at"].isoformat(),
        "backtest": run["backtest"],
    }


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


def _register_id_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("id", _IdConverter)


class _IdConverter(PathConverter):
    """A path variable that is an id of any characters, slashes too (a lead's
    ``osm:node/123``); werkzeug's ``path`` converter stops at a line break, and the route
    would then fall through to Flask's HTML 404 instead of answering as the API does."""

    regex = r"[^/](?s:.)*?"


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
