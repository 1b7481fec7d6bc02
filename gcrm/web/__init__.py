"""The service around the library: who a request acts for (tokens, sessions, OpenID
Connect), the login page, CSRF protection and security headers, health probes, the basemap's
tiles, the engines and per-scope cubes a server reads from, one JSON shape for errors, and
the production server (gunicorn)."""

from gcrm.web.auth import (
    LOCAL,
    SessionUser,
    check_auth_off,
    current_request_principal,
    install_principals,
    require,
)
from gcrm.web.csrf import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, check_csrf, csrf_token
from gcrm.web.errors import (
    STATUS_BY_ERROR,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    error_body,
    error_response,
    status_of,
)
from gcrm.web.headers import content_security_policy
from gcrm.web.oidc import OIDC_CALLBACK, OidcProvider, oidc_configured
from gcrm.web.production import gunicorn_options, run_gunicorn
from gcrm.web.secret_key import load_secret_key
from gcrm.web.server import install
from gcrm.web.services import Services
from gcrm.web.tiles import (
    BASEMAP_PATH,
    OWN_BASEMAP,
    Basemap,
    basemap_image_sources,
    basemap_of,
    create_tiles_blueprint,
)

__all__ = [
    "BASEMAP_PATH",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOCAL",
    "OIDC_CALLBACK",
    "OWN_BASEMAP",
    "STATUS_BY_ERROR",
    "Basemap",
    "Forbidden",
    "OidcProvider",
    "Services",
    "SessionUser",
    "TooManyRequests",
    "Unauthorized",
    "basemap_image_sources",
    "basemap_of",
    "check_auth_off",
    "check_csrf",
    "content_security_policy",
    "create_tiles_blueprint",
    "csrf_token",
    "current_request_principal",
    "error_body",
    "error_response",
    "gunicorn_options",
    "install",
    "install_principals",
    "load_secret_key",
    "oidc_configured",
    "require",
    "run_gunicorn",
    "status_of",
]
