"""API fixtures: a Flask app with the blueprint over a real PostGIS and a small saved cube;
with login on, users of two scopes and their API tokens on the committed tiny region."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import flask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from gcrm.access import add_user, create_token, revoke_token
from gcrm.api import create_api_blueprint
from gcrm.core import Settings
from gcrm.cube import save_cube
from gcrm.store import create_db_engine
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


def make_app(settings: Settings) -> flask.Flask:
    """The API on a bare Flask app, as a server mounts it (principal first, then the routes)."""
    services = Services(settings)
    app = flask.Flask(__name__)
    app.secret_key = "test"
    install(app, services)
    app.register_blueprint(create_api_blueprint(services), url_prefix="/api")
    return app


def make_client(settings: Settings) -> FlaskClient:
    """The API as the one local user (``GCRM_AUTH=off``)."""
    return make_app(settings.model_copy(update={"auth": "off"})).test_client()


def make_secure_client(settings: Settings, **overrides: object) -> FlaskClient:
    """The API with login on (``GCRM_AUTH=on``): every route but /health wants a token."""
    return make_app(settings.model_copy(update={"auth": "on", **overrides})).test_client()


@dataclass(frozen=True)
class People:
    """Users of the tiny region and their tokens (``Authorization`` headers).

    anna manages district D01 (customers C1, C2; lead L1), bert manages D02 (C3; L2), vera
    is a viewer of D01, pia a prospector of D01, root an admin of every area (C1-C4; L1, L2).
    """

    headers: dict[str, dict[str, str]]
    revoked: dict[str, str]
    expired: dict[str, str]

    def __getitem__(self, name: str) -> dict[str, str]:
        return self.headers[name]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def people(seeded: Settings) -> People:
    """Users and tokens committed in the module's tiny region (``seeded``)."""
    engine = create_db_engine(seeded.database_url)
    users = {
        "anna": ("manager", ["district:D01"]),
        "bert": ("manager", ["district:D02"]),
        "vera": ("viewer", ["district:D01"]),
        "pia": ("prospector", ["district:D01"]),
        "root": ("admin", ["all"]),
    }
    try:
        with engine.begin() as conn:
            for name, (role, scopes) in users.items():
                add_user(conn, name, role=role, scopes=scopes)
            tokens = {name: create_token(conn, name, name="test") for name in users}
            revoked = create_token(conn, "anna", name="revoked")
            revoke_token(conn, revoked[:11])
            expired = create_token(conn, "anna", name="expired", expires_days=1)
            conn.execute(
                text(
                    "UPDATE gcrm.api_tokens SET expires_at = now() - interval '1 minute' "
                    "WHERE name = 'expired'"
                )
            )
    finally:
        engine.dispose()
    return People(
        headers={name: bearer(token) for name, token in tokens.items()},
        revoked=bearer(revoked),
        expired=bearer(expired),
    )


@pytest.fixture(scope="module")
def secure(seeded: Settings) -> FlaskClient:
    """The API over the tiny region with login on."""
    return make_secure_client(seeded)


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
