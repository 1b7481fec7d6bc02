"""The service around the library: who a request acts for (tokens, sessions), the engines
and per-scope cubes a server reads from, and one JSON shape for errors."""

from gcrm.web.auth import (
    LOCAL,
    SessionUser,
    check_auth_off,
    current_request_principal,
    install,
    require,
)
from gcrm.web.errors import (
    STATUS_BY_ERROR,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    error_body,
    error_response,
    status_of,
)
from gcrm.web.services import Services

__all__ = [
    "LOCAL",
    "STATUS_BY_ERROR",
    "Forbidden",
    "Services",
    "SessionUser",
    "TooManyRequests",
    "Unauthorized",
    "check_auth_off",
    "current_request_principal",
    "error_body",
    "error_response",
    "install",
    "require",
    "status_of",
]
