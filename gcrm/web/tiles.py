"""The dashboard's basemap: gcrm's own tiles over HTTP, or an online tile server's.

``GET /tiles/basemap/<z>/<x>/<y>.png`` answers a 256-pixel PNG drawn by
:func:`gcrm.maps.render_basemap_tile` from the roads, zones and buildings in the database and
kept under ``DATA_DIR/tiles`` (:attr:`gcrm.core.Settings.tile_dir`) until the layers are
imported again. Tiles are reference data, not customer data, yet like every route but the
login pages and health probes they need a login (:func:`gcrm.web.login.gate`); they are read
through the request's engine like everything else (the layers carry no row-level security).
The browser may keep a tile for a day (``Cache-Control: private, max-age=86400``).

``GCRM_BASEMAP_URL`` names an online tile server instead (:func:`basemap_of`); its origin is
then allowed in the page's ``img-src`` (:func:`basemap_image_sources`). Unset, no request
leaves the machine.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

import flask

from gcrm.core import ConfigurationError, Settings
from gcrm.maps import MAX_ZOOM, check_tile, render_basemap_tile
from gcrm.web.auth import require
from gcrm.web.services import Services

__all__ = [
    "BASEMAP_PATH",
    "OWN_BASEMAP",
    "TILE_MAX_AGE_S",
    "Basemap",
    "basemap_image_sources",
    "basemap_of",
    "create_tiles_blueprint",
]

#: Where the dashboard finds gcrm's own tiles (Leaflet fills in {z}, {x}, {y}).
BASEMAP_PATH = "/tiles/basemap/{z}/{x}/{y}.png"
#: How long a browser may keep a tile: a re-import shows within a day.
TILE_MAX_AGE_S = 86400
_EXAMPLE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


class Basemap(NamedTuple):
    """The tiles under the dashboard's map: ``url`` (Leaflet's template), ``attribution``,
    ``max_native_zoom`` (deeper zooms enlarge the tiles of this one)."""

    url: str
    attribution: str
    max_native_zoom: int


#: gcrm's own tiles: drawn at every zoom the map allows.
OWN_BASEMAP = Basemap(BASEMAP_PATH, "", MAX_ZOOM)
#: Most online tile servers stop at zoom 19 (OpenStreetMap's does).
_ONLINE_MAX_ZOOM = 19


def basemap_of(settings: Settings) -> Basemap:
    """The basemap of ``settings``: gcrm's own tiles, or ``GCRM_BASEMAP_URL``'s.

    Raises
    ------
    ConfigurationError
        When ``GCRM_BASEMAP_URL`` is not an http(s) URL with ``{z}``, ``{x}`` and ``{y}``.
    """
    url = settings.basemap_url.strip()
    if not url:
        return OWN_BASEMAP
    _check_url(url)
    return Basemap(url, settings.basemap_attribution, _ONLINE_MAX_ZOOM)


def basemap_image_sources(settings: Settings) -> list[str]:
    """CSP ``img-src`` sources the basemap needs besides ``'self'``: the online tile server's
    origin (``{s}.`` subdomains as ``*.``), none for gcrm's own tiles.

    Raises
    ------
    ConfigurationError
        When ``GCRM_BASEMAP_URL`` is set but not a tile URL (:func:`basemap_of`).
    """
    basemap = basemap_of(settings)
    if basemap is OWN_BASEMAP:
        return []
    parts = urlsplit(basemap.url)
    host = parts.netloc.replace("{s}.", "*.")
    return [f"{parts.scheme}://{host}"]


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    missing = [f"{{{k}}}" for k in ("z", "x", "y") if f"{{{k}}}" not in url]
    host = parts.netloc.replace("{s}", "s")
    if parts.scheme not in ("http", "https") or not host or "{" in host or missing:
        why = f"it lacks {', '.join(missing)}" if missing else "it is not an http(s) URL"
        msg = (
            f"GCRM_BASEMAP_URL={url!r} is not a tile URL ({why}); set e.g. {_EXAMPLE_URL}, "
            "or leave it empty for gcrm's own offline tiles"
        )
        raise ConfigurationError(msg)


def create_tiles_blueprint(services: Services) -> flask.Blueprint:
    """``GET /tiles/basemap/<z>/<x>/<y>.png``: a basemap tile (PNG), or 400 JSON naming the
    value out of range (signed numbers are accepted so that a negative one gets that answer
    rather than a bare 404)."""
    bp = flask.Blueprint("gcrm_tiles", __name__)

    @bp.get("/tiles/basemap/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>.png")
    def basemap_tile(z: int, x: int, y: int) -> flask.Response:
        require("view_aggregates")
        check_tile(z=z, x=x, y=y)
        with services.data.connect() as conn:
            png = render_basemap_tile(conn, z=z, x=x, y=y, cache_dir=services.settings.tile_dir)
        response = flask.Response(png, mimetype="image/png")
        response.headers["Cache-Control"] = f"private, max-age={TILE_MAX_AGE_S}"
        return response

    return bp
