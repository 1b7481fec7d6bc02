"""The Dash app factory: dashboard pages plus the JSON API on one Flask server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dash
import flask
from dash import html

from dashboard import planning, prospecting
from dashboard.cache import DataByScope
from dashboard.callbacks import register_callbacks
from dashboard.layout import Account, build_layout, layout_skeleton, notice_page
from gcrm.api import create_api_blueprint
from gcrm.core import NotFoundError, Settings
from gcrm.maps.sources import MAX_POINTS
from gcrm.web import (
    CSRF_COOKIE,
    CSRF_HEADER,
    Services,
    basemap_of,
    csrf_token,
    current_request_principal,
    install,
)

__all__ = ["create_app"]

ASSETS = Path(__file__).parent / "assets"


def _page_path() -> str:
    """The path of the page being opened. The browser asks for the layout at
    ``/_dash-layout`` once the page's HTML is in; the page's own path is that request's
    referrer (``Referrer-Policy: same-origin`` sends it)."""
    path = flask.request.path
    if path.rstrip("/").endswith("_dash-layout") and flask.request.referrer:
        path = urlsplit(flask.request.referrer).path
    return path.rstrip("/") or "/"


def _page_for_request(data: DataByScope, settings: Settings) -> html.Div:
    """The page of the request's user: their scope's areas and figures, their account (or,
    when there is nothing to show yet, a page that says why); the Prospecting page at
    ``/prospecting``, the Planning page at ``/planning``."""
    principal = current_request_principal()
    if principal is None:
        # Dash checks the layout once, on whichever request comes first, before the request's
        # user is known; every real page request has one (gcrm.web's gate sees to that).
        return layout_skeleton()
    account = Account(
        name=principal.name,
        role=principal.role,
        scope=principal.describe_scope(),
        csrf_token=csrf_token() if settings.auth == "on" else None,
    )
    if _page_path() == prospecting.PATH:
        return prospecting.prospecting_for_request(
            data, principal, account=account, settings=settings
        )
    if _page_path() == planning.PATH:
        return planning.planning_for_request(data, principal, account=account, settings=settings)
    try:
        return build_layout(
            data.for_principal(principal), account=account, basemap=basemap_of(settings)
        )
    except NotFoundError as exc:
        # No cube yet, or nothing in the user's scope: say so (the message names the fix)
        # rather than leave the page loading.
        message = f"Nothing to show for {principal.describe_scope()} yet: {exc}"
        return notice_page(message, region_name=data.region_name or "gcrm", account=account)


def create_app(
    settings: Settings,
    *,
    region_name: str | None = None,
    services: Services | None = None,
    max_points: int = MAX_POINTS,
) -> dash.Dash:
    """Create the regional manager's dashboard for the region in ``settings``.

    Every request acts for its principal (a logged-in user, an API token, or with
    ``GCRM_AUTH=off`` the local user): the dashboard and the API read under their scope.
    Pages need a login (``/login``); callbacks carry the session's CSRF token (Dash's
    renderer reads it from the ``gcrm_csrf`` cookie into the ``X-CSRF-Token`` header); every
    response has the security headers of :mod:`gcrm.web.headers`.

    Parameters
    ----------
    settings
        Database URLs, cube path (``settings.cube_path``, written by ``gcrm cube build``),
        authentication, session and proxy settings.
    region_name
        Shown in the header and as the name of the whole-region scope; None: the region's
        own name, which the cube carries (``gcrm region set``, ``gcrm cube build``).
    services
        Engines and cubes to share (tests); by default made from ``settings``.
    max_points
        A map view with up to this many customers (or leads) shows them one by one; with
        more, as clusters counted in PostGIS.

    Returns
    -------
    dash.Dash
        The app; its Flask server (``app.server``) also serves the JSON API under ``/api``,
        the login pages and ``/healthz``, ``/readyz``.

    Raises
    ------
    gcrm.core.DatabaseError
        When the database cannot be reached.
    gcrm.core.ConfigurationError
        When the session key is too short or cannot be kept in the data directory.
    """
    services = services or Services(settings)
    services.owner  # noqa: B018 - connect now: a wrong URL fails here, with its message
    data = DataByScope(services, region_name=region_name, max_points=max_points)
    app = dash.Dash(
        __name__,
        title="gcrm · Regional dashboard",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=False,
        csrf_token_name=CSRF_COOKIE,
        csrf_header_name=CSRF_HEADER,
    )
    # Before the layout: Dash would otherwise call the layout function once, outside any
    # request, and send what it returned to every browser as its validation layout.
    # Every page's components: the callbacks of each are checked against it.
    pages = [layout_skeleton(), prospecting.prospecting_skeleton(), planning.planning_skeleton()]
    app.validation_layout = html.Div(pages)  # type: ignore[assignment] # Dash types it None
    setting_up = [True]
    app.layout = lambda: (
        layout_skeleton() if setting_up[0] else _page_for_request(data, services.settings)
    )
    register_callbacks(app, data.for_request)
    prospecting.register_prospecting_callbacks(app, data.for_request)
    planning.register_planning_callbacks(app, data)
    app.server.register_blueprint(create_api_blueprint(services), url_prefix="/api")
    install(app.server, services, script_hashes=app.csp_hashes())
    # Dash sets itself up on its first request, and marks that done before it is: another
    # thread's request in the meantime found no script list and answered 500 (seen on 3 of 6
    # fresh gunicorn workers in benchmarks/dashboard_browser.py). Set up now, before any
    # request, with the skeleton as the page (no user, no data read).
    with app.server.test_request_context("/"):
        app._setup_server()  # noqa: SLF001 - the hook Dash runs before a first request
    setting_up[0] = False
    return app
