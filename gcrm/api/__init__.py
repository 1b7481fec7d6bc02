"""The JSON API: a Flask blueprint over the gcrm library (no Dash imports).

Routes (mounted under ``/api``; the contract is ``GET /api/openapi.json``, readable at
``GET /api/docs``):

- ``GET /health``: database and cube status (public).
- ``GET /leads/near``: leads near ``lon``/``lat``, an ``address`` or a ``customer_id``, as a
  GeoJSON FeatureCollection sorted by distance (built by PostgreSQL).
- ``GET /cube/slice``: one measure per area of a level, ``[{area, code, name, value}]``.
- ``GET /geocode?address=...``: one address, ``{lon, lat, precision, score, source,
  matched_address}`` (the fast path of :func:`gcrm.geocode.geocode_one`).
- ``POST /geocode``: ``{"addresses": ["...", ...]}`` or ``[{"street", "housenumber",
  "postcode", "city"}, ...]`` (at most 10,000), a list of results in the same order;
  rate-limited per token.
- ``GET /reverse?lon=&lat=&max_distance_m=250``: the nearest reference address,
  ``{address, ref, distance_m, lon, lat}``; 404 when none is that close.
- ``GET /customers?area=LEVEL:CODE&limit=&offset=`` and ``GET /customers/{id}``: the
  customers of the caller's scope (404 for one outside it, as for one that does not exist).

Every route's parameters and answers are the models of :mod:`gcrm.api.models`, which both
validate the requests and write the OpenAPI document. Every error, also an unknown path below
``/api`` or a method a route does not take, answers ``{"error": message, "status": code}``
with the status of :data:`gcrm.web.STATUS_BY_ERROR`. Answers carrying personal data
(customers, lead lists) are recorded in the audit log.
"""

from gcrm.api.blueprint import OPERATIONS, create_api_blueprint
from gcrm.api.customers import CustomerRows, read_customer, read_customer_page
from gcrm.api.limits import RouteLimits, rate_limit_key
from gcrm.api.openapi import Operation, openapi_document
from gcrm.api.params import parse_query
from gcrm.api.shaping import (
    MAX_BATCH,
    address_frame,
    cube_slice,
    geocode_record,
    geocode_records,
    leads_collection,
    reverse_record,
)

__all__ = [
    "MAX_BATCH",
    "OPERATIONS",
    "CustomerRows",
    "Operation",
    "RouteLimits",
    "address_frame",
    "create_api_blueprint",
    "cube_slice",
    "geocode_record",
    "geocode_records",
    "leads_collection",
    "openapi_document",
    "parse_query",
    "rate_limit_key",
    "read_customer",
    "read_customer_page",
    "reverse_record",
]
