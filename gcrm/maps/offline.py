"""Self-contained, offline folium pages.

folium links Leaflet, jQuery, Bootstrap and icon fonts from public CDNs, so a saved map stays
blank without network. gcrm maps use only Leaflet and Leaflet.markercluster, vendored under
``gcrm/maps/static/`` (see ``static/README.md`` for versions and licences). Before rendering,
every element's CDN links are swapped for ``gcrm-asset:`` placeholders; after rendering, the
placeholders are replaced by the file contents inline, and any CDN link left is an error.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from pathlib import Path

import folium
from branca.element import Element, Figure

__all__ = ["ASSETS", "external_references", "make_offline", "render_offline", "save_offline"]

_SCHEME = "gcrm-asset:"

#: Link name used by folium/its plugins -> vendored file under ``gcrm/maps/static``.
ASSETS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
}

# jQuery, Bootstrap, glyphicons, Font Awesome and awesome-markers serve folium's icon markers
# and popups styling; gcrm maps draw circle markers and plain tooltips, so they are dropped.
_DROPPED = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)

_SCRIPT_RE = re.compile(r'<script src="gcrm-asset:(?P<name>[\w.]+)"></script>')
_LINK_RE = re.compile(r'<link rel="stylesheet" href="gcrm-asset:(?P<name>[\w.]+)"/>')
_EXTERNAL_RE = re.compile(
    r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']?(?P<url>(?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)
_CSS_URL_RE = re.compile(r"url\((?P<path>images/[\w.-]+\.png)\)")


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def _localise(links: list[tuple[str, str]], *, owner: str) -> list[tuple[str, str]]:
    local = []
    for name, url in links:
        if name in ASSETS:
            local.append((name, f"{_SCHEME}{name}"))
        elif name not in _DROPPED:
            msg = (
                f"{owner} needs the asset {name!r} ({url}), which gcrm has not vendored; "
                "add it under gcrm/maps/static/ and to gcrm.maps.offline.ASSETS"
            )
            raise RuntimeError(msg)
    return local


def make_offline(root: Element) -> Element:
    """Point every CDN link of ``root`` and its children at the vendored assets (in place)."""
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if links:
                setattr(element, attr, _localise(list(links), owner=type(element).__name__))
    return root


@cache
def _asset_text(name: str) -> str:
    relative = Path(ASSETS[name])
    static = files("gcrm.maps").joinpath("static")
    text = static.joinpath(*relative.parts).read_text(encoding="utf-8")
    if name.endswith("css"):
        # Leaflet's CSS points at sibling images; inline them so layer/marker icons still show.
        folder = static.joinpath(*relative.parent.parts)

        def to_data_uri(match: re.Match[str]) -> str:
            data = folder.joinpath(match["path"]).read_bytes()
            return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

        text = _CSS_URL_RE.sub(to_data_uri, text)
    return text


def _inline(html: str) -> str:
    html = _SCRIPT_RE.sub(lambda m: f"<script>{_asset_text(m['name'])}</script>", html)
    return _LINK_RE.sub(lambda m: f"<style>{_asset_text(m['name'])}</style>", html)


def external_references(html: str) -> list[str]:
    """URLs of scripts and stylesheets an HTML page would fetch from the network."""
    return [match["url"] for match in _EXTERNAL_RE.finditer(html)]


def render_offline(m: folium.Map | Figure) -> str:
    """Render a map (or its figure) to one self-contained HTML string.

    Raises
    ------
    RuntimeError
        When an element still references a script or stylesheet on the network.
    """
    root = m.get_root() if isinstance(m, folium.Map) else m
    make_offline(root)
    html = _inline(root.render())
    remote = external_references(html)
    if remote:
        msg = f"the page still references network assets {remote}; vendor them in gcrm/maps/static"
        raise RuntimeError(msg)
    return html


def save_offline(m: folium.Map | Figure, out: Path) -> Path:
    """Write ``m`` as a self-contained HTML file at ``out`` (parents created); return ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_offline(m), encoding="utf-8")
    return out
