"""The baseline of benchmarks/service_load.py: the two interactive routes as they ran before
issue 9, on the same server, auth and row-level security as gcrm's.

- ``/api/leads/near``: the library's search into a GeoDataFrame
  (:func:`gcrm.leads.find_nearby_leads`), shaped into GeoJSON in Python
  (:func:`gcrm.api.shaping.leads_collection`);
- ``/api/geocode``: one address through the set-based ladder (:func:`gcrm.geocode.geocode_frame`
  on a one-row frame), shaped by :func:`gcrm.api.shaping.geocode_records`.

Served by gunicorn as ``_baseline_app:app`` with GCRM_DATABASE_URL / GCRM_DATA_DIR set.
"""

from __future__ import annotations

import flask
import pandas as pd
from flask import jsonify, request

from gcrm.api.shaping import geocode_records, leads_collection
from gcrm.core import get_settings
from gcrm.geocode import geocode_frame
from gcrm.leads import find_nearby_leads, resolve_origin
from gcrm.web import Services, install, require

services = Services(get_settings())
app = flask.Flask("gcrm_baseline")
app.secret_key = "baseline"
install(app, services)


@app.get("/api/health")
def health() -> flask.Response:
    return jsonify({"status": "ok"})


@app.get("/api/leads/near")
def leads_near() -> flask.Response:
    require("read_leads")
    args = request.args
    with services.data.begin() as conn:
        origin = resolve_origin(conn, lon=float(args["lon"]), lat=float(args["lat"]))
        leads = find_nearby_leads(
            conn,
            lon=origin.lon,
            lat=origin.lat,
            radius_m=float(args.get("radius_m", 1000)),
            limit=int(args.get("limit", 50)),
        )
    return jsonify(leads_collection(leads, origin=origin))


@app.get("/api/geocode")
def geocode() -> flask.Response:
    require("geocode")
    with services.data.begin() as conn:
        results = geocode_frame(conn, pd.DataFrame({"address": [request.args["address"]]}))
    return jsonify(geocode_records(results)[0])
