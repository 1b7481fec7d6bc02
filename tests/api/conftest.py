"""API fixtures: a Flask app with the blueprint over a real PostGIS and a small saved cube."""

from __future__ import annotations

import json
from collections.abc import Iterator

import flask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from gcrm.api import create_api_blueprint
from gcrm.core import Settings
from gcrm.cube import save_cube
from gcrm.web import Services, install

MEASURES_3D = ("customers", "active", "new", "churned", "revenue", "orders")


def _strings(*values: str) -> np.ndarray:
    # Object strings, as gcrm.cube builds them (Zarr v3 has no spec for fixed-width unicode).
    return np.asarray(values, dtype=object)


def tiny_cube() -> xr.Dataset:
    """Two districts, three months, two segments; revenue of district d2 is twice d1's."""
    base = np.array([1.0, 2.0])[:, None, None] * np.ones((2, 3, 2))
    ds = xr.Dataset(
        {
            name: (("area", "month", "segment"), base * (i + 1))
            for i, name in enumerate(MEASURES_3D)
        },
        coords={
            "area": _strings("district:d1", "district:d2"),
            "month": pd.date_range("2025-01-01", periods=3, freq="MS").to_numpy(),
            "segment": _strings("business", "consumer"),
            "precision": _strings("rooftop", "none"),
            "level": ("area", _strings("district", "district")),
            "code": ("area", _strings("d1", "d2")),
            "name": ("area", _strings("Kamppi", "Kluuvi")),
            "parent": ("area", _strings("", "")),
        },
    )
    for name in ("leads", "population", "households"):
        ds[name] = ("area", np.array([10.0, 20.0]))
    ds.attrs["levels"] = json.dumps([{"level": "district", "parent_level": None, "rank": 1}])
    return ds


def make_client(settings: Settings) -> FlaskClient:
    """The API on a bare Flask app, as the one local user (``GCRM_AUTH=off``)."""
    local = settings.model_copy(update={"auth": "off"})
    services = Services(local)
    app = flask.Flask(__name__)
    app.secret_key = "test"
    install(app, services)
    app.register_blueprint(create_api_blueprint(services), url_prefix="/api")
    return app.test_client()


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    save_cube(tiny_cube(), settings.cube_path)
    return make_client(settings)


@pytest.fixture
def committed_leads(engine: Engine) -> Iterator[list[str]]:
    """Three leads committed (the API opens its own connections), deleted afterwards."""
    rows = [
        ("test-lead-1", "Cafe Near", "cafe", 24.9400, 60.1700),
        ("test-lead-2", "Bar Middle", "bar", 24.9440, 60.1700),
        ("test-lead-3", "Cafe Far", "cafe", 24.9500, 60.1700),
    ]
    with engine.begin() as conn:
        for ext_id, name, category, lon, lat in rows:
            conn.execute(
                text(
                    "INSERT INTO gcrm.lead_records (external_id, name, category_group, category, source, geom) "
                    "VALUES (:id, :name, 'food', :category, 'test', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
                ),
                {"id": ext_id, "name": name, "category": category, "lon": lon, "lat": lat},
            )
    try:
        yield [r[0] for r in rows]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.lead_records WHERE external_id LIKE 'test-lead-%'"))
