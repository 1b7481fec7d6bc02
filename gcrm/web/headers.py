"""Security headers on every response, and no caching of anything that carries data.

The Content-Security-Policy is as tight as the offline dashboard allows, measured in
Chromium (tests/dashboard/test_access_browser.py fails on any CSP violation in the console).
Everything is served by gcrm itself, so every source is ``'self'``, scripts included: no
``'unsafe-inline'`` and no ``'unsafe-eval'`` for scripts. Three allowances, each needed:

- ``script-src`` lists the hash of Dash's one inline script (``var renderer = new
  DashRenderer();``, from ``app.csp_hashes()``); without it the page stays blank. plotly.js
  needs no ``'unsafe-eval'`` for the SVG charts the dashboard draws (it would for WebGL
  traces, which it does not use).
- ``style-src 'unsafe-inline'``: plotly.js, dash-leaflet and Dash's core components inject
  ``<style>`` elements and set ``style`` attributes at run time (with ``style-src 'self'``
  Chromium refuses those styles and reports a violation from each library). Styles cannot
  run scripts; the cost is that injected markup could restyle the page, nothing more.
- ``img-src data:``: Swagger UI on ``/api/docs`` draws its icons as ``data:`` SVG images
  (the dashboard itself needs none). An image cannot run a script. The basemap's tiles are
  gcrm's own (``'self'``) unless ``GCRM_BASEMAP_URL`` names a tile server, whose origin is
  then allowed too.
"""

from __future__ import annotations

from collections.abc import Sequence

import flask

__all__ = ["STATIC_PREFIXES", "content_security_policy", "set_security_headers"]

#: Paths of code and style sheets (no data): the browser may cache them.
STATIC_PREFIXES = (
    "/_dash-component-suites/",
    "/assets/",
    "/_gcrm/static/",
    "/_favicon.ico",
    "/api/docs/",  # Swagger UI's files (gcrm.api.docs)
    "/tiles/basemap/",  # the basemap's tiles: roads and buildings; they set their own max-age
)


def content_security_policy(
    script_hashes: Sequence[str] = (), *, img_sources: Sequence[str] = ()
) -> str:
    """The Content-Security-Policy header value.

    Parameters
    ----------
    script_hashes
        CSP hash sources (``'sha256-...'``) of the inline scripts the pages may run: Dash's
        ``app.csp_hashes()``.
    img_sources
        Origins images may also come from: an online basemap's tile server
        (``GCRM_BASEMAP_URL``, :func:`gcrm.web.tiles.basemap_image_sources`); none by default.
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *img_sources],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def set_security_headers(response: flask.Response, *, policy: str) -> None:
    """Add the security headers to ``response``; ``no-store`` unless it is static code.

    HSTS is sent only over HTTPS (as the request arrived, or as the proxy says with
    ``GCRM_PROXY_HOPS``), so a plain-HTTP local server never pins a browser to HTTPS.
    """
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if flask.request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if not flask.request.path.startswith(STATIC_PREFIXES):
        # Pages, layouts, callbacks and the API carry customers and figures of a scope:
        # neither the browser nor a proxy may keep them.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
