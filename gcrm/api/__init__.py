"""The JSON API: a Flask blueprint over the gcrm library (no Dash imports).

Routes (mounted under ``/api`` by the dashboard):

- ``GET /health``: database and cube status.
- ``GET /leads/near``: leads near ``lon``/``lat``, an ``address`` or a ``customer_id``, as a
  GeoJSON FeatureCollection sorted by distance.
- ``GET /cube/slice``: one measure per area of a level, ``[{area, code, name, value}]``.

Errors of the library map to ``{"error": message}`` with the status of
:data:`gcrm.api.errors.STATUS_BY_ERROR` (400 validation, 404 not found, 503 database).
"""

from gcrm.api.blueprint import create_api_blueprint
from gcrm.api.errors import STATUS_BY_ERROR, status_of
from gcrm.api.shaping import cube_slice, leads_collection

__all__ = ["STATUS_BY_ERROR", "create_api_blueprint", "cube_slice", "leads_collection", "status_of"]
