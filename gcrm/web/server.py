"""Everything a gcrm web server needs around its routes, installed in one call.

:func:`install` gives a Flask server (the dashboard's, or a bare one for the API):

1. the session signing key (:func:`gcrm.web.secret_key.load_secret_key`);
2. ``X-Forwarded-*`` from ``GCRM_PROXY_HOPS`` trusted reverse proxies (werkzeug's ProxyFix);
3. the principal of every request (:func:`gcrm.web.auth.install_principals`);
4. CSRF protection of every state-changing request that rides on the session cookie
   (:mod:`gcrm.web.csrf`);
5. the login page, logout and, when configured, OpenID Connect (:mod:`gcrm.web.login`);
   pages redirect there when nobody is logged in;
6. ``/healthz`` and ``/readyz`` (:mod:`gcrm.web.health`), and the basemap's tiles
   (``/tiles/basemap/...``, :mod:`gcrm.web.tiles`);
7. security headers on every response (:mod:`gcrm.web.headers`);
8. the one JSON error shape for errors raised outside the API's own handlers.
"""

from __future__ import annotations

from collections.abc import Sequence

import flask
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from gcrm.core import GcrmError
from gcrm.web.auth import install_principals
from gcrm.web.csrf import check_csrf, csrf_token, set_csrf_cookie
from gcrm.web.errors import Forbidden, error_response
from gcrm.web.headers import content_security_policy, set_security_headers
from gcrm.web.health import create_health_blueprint
from gcrm.web.login import LOGIN_BLUEPRINT, create_login_blueprint, gate, render_login_page
from gcrm.web.oidc import OidcProvider, oidc_configured
from gcrm.web.secret_key import load_secret_key
from gcrm.web.services import Services
from gcrm.web.tiles import basemap_image_sources, create_tiles_blueprint

__all__ = ["install"]


def install(server: flask.Flask, services: Services, *, script_hashes: Sequence[str] = ()) -> None:
    """Install sessions, login, CSRF, security headers and health probes on ``server``.

    Parameters
    ----------
    server
        The Flask app (``dash_app.server`` for the dashboard).
    services
        Engines and settings of the server (auth, secret key, cookie, proxy, OIDC settings).
    script_hashes
        CSP hash sources of the inline scripts the pages run (Dash's ``app.csp_hashes()``).

    Raises
    ------
    gcrm.core.ConfigurationError
        When the secret key is too short or cannot be kept in the data directory, or
        ``GCRM_BASEMAP_URL`` is not a tile URL.
    """
    settings = services.settings
    server.secret_key = load_secret_key(settings)
    if settings.proxy_hops:
        hops = settings.proxy_hops
        # Not X-Forwarded-Prefix: the dashboard's scripts load from the root of the host.
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    install_principals(server, services)
    oidc = OidcProvider(settings) if oidc_configured(settings) else None
    server.register_blueprint(create_login_blueprint(services, oidc=oidc))
    server.register_blueprint(create_health_blueprint(services))
    server.register_blueprint(create_tiles_blueprint(services))
    policy = content_security_policy(script_hashes, img_sources=basemap_image_sources(settings))

    @server.before_request
    def _protect() -> Response | tuple[Response, int] | None:
        form = flask.request.blueprint == LOGIN_BLUEPRINT
        try:
            check_csrf(always=form)
        except Forbidden:
            if not form:
                raise
            # The login page again, with a token that works: the old page had expired.
            message = "The page had expired (or came from another site); log in again."
            return render_login_page(error=message, status=403)
        return gate(services)

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        if response.mimetype == "text/html":
            csrf_token()  # every page's scripts and forms can then send it back
        set_csrf_cookie(response, settings)
        set_security_headers(response, policy=policy)
        return response

    server.register_error_handler(GcrmError, error_response)
    server.register_error_handler(OperationalError, error_response)
