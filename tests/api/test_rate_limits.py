"""Rate limits per token on the expensive routes: 429 in the one error shape, Retry-After."""

from __future__ import annotations

import flask
import pytest
from flask.testing import FlaskClient

from gcrm.access import Principal
from gcrm.api import RouteLimits, create_api_blueprint, rate_limit_key
from gcrm.core import ConfigurationError, Settings
from gcrm.web import Services
from tests.api.conftest import People, make_secure_client

BATCH = {"addresses": ["Mannerheimintie 10, Helsinki"]}


@pytest.fixture
def limited(seeded: Settings) -> FlaskClient:
    return make_secure_client(seeded, rate_limit="3/minute")


def test_batch_geocoding_is_limited_per_token(limited: FlaskClient, people: People) -> None:
    for _ in range(3):
        assert limited.post("/api/geocode", json=BATCH, headers=people["anna"]).status_code == 200
    over = limited.post("/api/geocode", json=BATCH, headers=people["anna"])
    assert over.status_code == 429
    body = over.get_json()
    assert body["status"] == 429 and "rate limit 3/minute exceeded" in body["error"]
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # Another token has its own count; routes without a limit are not counted.
    assert limited.post("/api/geocode", json=BATCH, headers=people["bert"]).status_code == 200
    one = limited.get("/api/geocode?address=Mannerheimintie%2010", headers=people["anna"])
    assert one.status_code == 200


def test_keys_token_session_address(seeded: Settings) -> None:
    app = flask.Flask(__name__)
    someone = Principal(name="s", role="manager", all_areas=False, user_id=7)
    with app.test_request_context(headers={"Authorization": "Bearer gcrm_abc"}):
        flask.g.gcrm_principal = someone
        by_token = rate_limit_key()
    with app.test_request_context():
        flask.g.gcrm_principal = someone
        assert rate_limit_key() == "user:7"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        assert rate_limit_key() == "address:10.1.2.3"
    assert by_token.startswith("token:") and "gcrm_abc" not in by_token


def test_any_route_can_take_the_limit(seeded: Settings) -> None:
    """How a drive-time route will use it: wrap the view."""
    app = flask.Flask(__name__)
    limits = RouteLimits(seeded.model_copy(update={"rate_limit": "2/hour"}))
    limits.init_app(app)
    app.add_url_rule("/drive", "drive", limits.limit(lambda: "ok"))
    app.register_error_handler(429, limits.exceeded)
    client = app.test_client()
    assert [client.get("/drive").status_code for _ in range(3)] == [200, 200, 429]


def test_a_bad_rate_is_a_configuration_error(seeded: Settings) -> None:
    services = Services(seeded.model_copy(update={"rate_limit": "lots"}))
    with pytest.raises(ConfigurationError, match="GCRM_RATE_LIMIT='lots' is not a rate"):
        create_api_blueprint(services)
