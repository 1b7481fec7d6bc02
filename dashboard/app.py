"""The Dash app factory: dashboard pages plus the JSON API on one Flask server."""

from __future__ import annotations

from pathlib import Path

import dash

from dashboard.cache import DataByScope
from dashboard.callbacks import register_callbacks
from dashboard.layout import build_layout
from gcrm.api import create_api_blueprint
from gcrm.core import Settings
from gcrm.web import Services, install

__all__ = ["create_app"]

ASSETS = Path(__file__).parent / "assets"


def create_app(
    settings: Settings,
    *,
    region_name: str = "Helsinki demo region",
    services: Services | None = None,
) -> dash.Dash:
    """Create the regional manager's dashboard for the region in ``settings``.

    Every request acts for its principal (a logged-in user, an API token, or with
    ``GCRM_AUTH=off`` the local user): the dashboard and the API read under their scope.

    Parameters
    ----------
    settings
        Database URLs, cube path (``settings.cube_path``, written by ``gcrm cube build``),
        authentication settings.
    region_name
        Shown in the header and as the name of the whole-region scope.
    services
        Engines and cubes to share (tests); by default made from ``settings``.

    Returns
    -------
    dash.Dash
        The app; its Flask server (``app.server``) also serves the JSON API under ``/api``.

    Raises
    ------
    gcrm.core.DatabaseError
        When the database cannot be reached.
    """
    services = services or Services(settings)
    services.owner  # noqa: B018 - connect now: a wrong URL fails here, with its message
    data = DataByScope(services, region_name=region_name)
    app = dash.Dash(
        __name__,
        title="gcrm · Regional dashboard",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=False,
    )
    install(app.server, services)
    # A function, so every page load starts from the initial view of the user's scope.
    app.layout = lambda: build_layout(data.for_request())
    register_callbacks(app, data.for_request)
    app.server.register_blueprint(create_api_blueprint(services), url_prefix="/api")
    return app
