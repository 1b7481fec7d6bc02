"""The JSON API: a Flask blueprint over the gcrm library (no Dash imports).

Routes (mounted under ``/api`` by the dashboard):

- ``GET /health``: database and cube status.
- ``GET /leads/near``: leads near ``lon``/``lat``, an ``address`` or a ``customer_id``, as a
  GeoJSON FeatureCollection sorted by distance.
- ``GET /cube/slice``: one measure per area of a level, ``[{area, code, name, value}]``.
- ``GET /geocode?address=...``: one address, ``{lon, lat, precision, score, source,
  matched_address}``.
- ``POST /geocode``: ``{"addresses": ["...", ...]}`` or ``[{"street", "housenumber",
  "postcode", "city"}, ...]`` (at most 10,000), a list of results in the same order.
- ``GET /reverse?lon=&lat=&max_distance_m=250``: the nearest reference address,
  ``{address, ref, distance_m, lon, lat}``; 404 when none is that close.

Errors of the library map to ``{"error": message}`` with the status of
:data:`gcrm.api.http_errors.STATUS_BY_ERROR` (400 validation, 404 not found, 503 database).
"""

from gcrm.api.blueprint import create_api_blueprint
from gcrm.api.shaping import (
    MAX_BATCH,
    address_frame,
    cube_slice,
    geocode_records,
    leads_collection,
    reverse_record,
)

__all__ = [
    "MAX_BATCH",
    "address_frame",
    "create_api_blueprint",
    "cube_slice",
    "geocode_records",
    "leads_collection",
    "reverse_record",
]
