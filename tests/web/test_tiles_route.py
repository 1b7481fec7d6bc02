"""The basemap's tiles over HTTP (gcrm.web.tiles): login, PNG and headers, errors by name,
tiles kept under the data directory, and the page's CSP for an online tile server."""

from __future__ import annotations

import io
import math

import geopandas as gpd
import pytest
from flask.testing import FlaskClient
from PIL import Image
from shapely.geometry import LineString
from sqlalchemy import Engine

from dashboard import create_app
from gcrm.core import ConfigurationError, Settings
from gcrm.ingest import import_frame
from gcrm.web import basemap_image_sources, basemap_of, content_security_policy
from tests.web.conftest import log_in

# A road of the tiles' own, far from the seeded region's areas.
LON, LAT = 10.005, 50.0
Z = 15


def _tile() -> str:
    n = 2**Z
    x = int((LON + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2.0 * n)
    return f"/tiles/basemap/{Z}/{x}/{y}.png"


def _components(node: object, kind: str) -> list[dict[str, object]]:
    """The props of every component of type ``kind`` in a Dash layout (JSON)."""
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if node.get("type") == kind:
            found.append(node["props"])
        for value in node.values():
            found += _components(value, kind)
    elif isinstance(node, list):
        for value in node:
            found += _components(value, kind)
    return found


@pytest.fixture(scope="module")
def road(owner: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One road imported (committed) into this module's seeded database (dropped with it);
    the path of its tile."""
    frame = gpd.GeoDataFrame(
        {"ref": ["route-test-1"], "class": ["primary"]},
        geometry=[LineString([(LON - 0.005, LAT), (LON + 0.005, LAT)])],
        crs="EPSG:4326",
    )
    rejects = tmp_path_factory.mktemp("roads") / "r.csv"
    with owner.begin() as conn:
        import_frame(conn, "roads", frame, source="route test", rejects_path=rejects)
    return _tile()


@pytest.fixture
def kaisa(client: FlaskClient, make_user) -> FlaskClient:  # type: ignore[no-untyped-def]
    """``client`` logged in as a manager of D01."""
    make_user("kaisa", scope="district:D01")
    assert log_in(client, "kaisa").status_code == 303
    return client


def test_tiles_need_a_login(client: FlaskClient, road: str) -> None:
    answer = client.get(road)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")
    assert answer.mimetype != "image/png"


def test_a_tile_is_a_png_the_browser_may_keep_and_the_server_keeps_too(
    kaisa: FlaskClient, road: str, seeded: Settings
) -> None:
    answer = kaisa.get(road)

    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.headers["Cache-Control"] == "private, max-age=86400"
    assert "no-cache" not in answer.headers.get("Pragma", "")
    image = Image.open(io.BytesIO(answer.data))
    assert image.size == (256, 256)
    colours = image.convert("RGB").getcolors(maxcolors=256 * 256)
    assert colours is not None and len(colours) > 1  # the road on the land
    kept = list(seeded.tile_dir.glob(f"*{road.removeprefix('/tiles/basemap')}"))
    assert [p.read_bytes() for p in kept] == [answer.data]


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/tiles/basemap/23/0/0.png", "z=23 is out of range; use 0..22"),
        ("/tiles/basemap/-1/0/0.png", "z=-1 is out of range"),
        ("/tiles/basemap/2/4/0.png", "x=4 is out of range at zoom 2; use 0..3"),
        ("/tiles/basemap/2/0/-3.png", "y=-3 is out of range at zoom 2; use 0..3"),
    ],
)
def test_tile_addresses_out_of_range_answer_400_json(
    kaisa: FlaskClient, path: str, named: str
) -> None:
    answer = kaisa.get(path)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["status"] == 400 and named in body["error"]


def test_the_page_draws_gcrm_s_own_tiles_and_allows_no_other_images_by_default(
    kaisa: FlaskClient,
) -> None:
    policy = kaisa.get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in policy
    layers = _components(kaisa.get("/_dash-layout").get_json(), "TileLayer")
    assert [t["url"] for t in layers] == ["/tiles/basemap/{z}/{x}/{y}.png"]


def test_an_online_tile_server_is_allowed_in_the_policy_and_used_by_the_map(
    seeded: Settings,
) -> None:
    url = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    online = seeded.model_copy(
        update={"basemap_url": url, "basemap_attribution": "Example tiles", "auth": "off"}
    )
    assert basemap_image_sources(online) == ["https://*.tile.example.org"]
    app = create_app(online)
    client = app.server.test_client()
    policy = client.get("/").headers["Content-Security-Policy"]
    assert policy == content_security_policy(
        app.csp_hashes(), img_sources=["https://*.tile.example.org"]
    )
    layers = _components(client.get("/_dash-layout").get_json(), "TileLayer")
    assert [(t["url"], t["attribution"]) for t in layers] == [(url, "Example tiles")]


@pytest.mark.parametrize(
    "url",
    ["tile.example.org/{z}/{x}/{y}.png", "https://tile.example.org/{z}/{x}.png", "/x/{z}/{x}/{y}"],
)
def test_a_basemap_url_that_is_no_tile_url_is_refused_by_name(seeded: Settings, url: str) -> None:
    with pytest.raises(ConfigurationError, match="GCRM_BASEMAP_URL="):
        basemap_of(seeded.model_copy(update={"basemap_url": url}))
