"""The Dash app factory: dashboard pages plus the JSON API on one Flask server."""

from __future__ import annotations

from pathlib import Path

import dash

from dashboard.cache import DashboardData
from dashboard.callbacks import register_callbacks
from dashboard.layout import build_layout
from gcrm.api import create_api_blueprint
from gcrm.core import Settings
from gcrm.cube import load_cube
from gcrm.store import create_db_engine

__all__ = ["create_app"]

ASSETS = Path(__file__).parent / "assets"


def create_app(settings: Settings, *, region_name: str = "Helsinki demo region") -> dash.Dash:
    """Create the regional manager's dashboard for the region in ``settings``.

    Parameters
    ----------
    settings
        Database URL and cube path (``settings.cube_path``, written by ``gcrm cube build``).
    region_name
        Shown in the header and as the name of the whole-region scope.

    Returns
    -------
    dash.Dash
        The app; its Flask server (``app.server``) also serves the JSON API under ``/api``.

    Raises
    ------
    gcrm.core.DatabaseError
        When the database cannot be reached.
    """
    engine = create_db_engine(settings.database_url)
    data = DashboardData(engine=engine, cube=load_cube(settings.cube_path), region_name=region_name)
    app = dash.Dash(
        __name__,
        title="gcrm · Regional dashboard",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=False,
    )
    # A function, so every page load starts from the initial view; data stays cached.
    app.layout = lambda: build_layout(data)
    register_callbacks(app, data)
    app.server.register_blueprint(
        create_api_blueprint(settings, engine=engine, cube=data.cube), url_prefix="/api"
    )
    return app
