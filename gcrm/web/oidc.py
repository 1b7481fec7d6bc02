"""The OpenID Connect side of logging in (authlib's Flask client).

Configured by ``GCRM_OIDC_ISSUER``, ``GCRM_OIDC_CLIENT_ID`` and ``GCRM_OIDC_CLIENT_SECRET``;
the provider's ``/.well-known/openid-configuration`` is read on first use. The browser is
sent to the provider with a state (kept in its session) and a nonce, comes back to
``/login/oidc/callback`` (register that URL with the provider), and authlib exchanges the
code and checks the ID token: signature (the provider's JWKS), issuer, audience, expiry,
nonce, and the state against the session (so another site cannot complete a login in
someone else's browser).

Who the person is, is the ID token's ``sub``: the provider promises it is stable and never
reassigned. :mod:`gcrm.web.login` matches it against ``users.oidc_subject`` (linked by an
admin with ``gcrm users link-oidc NAME SUBJECT``). ``email`` and ``preferred_username`` are
not used to match: many providers let people change them, and matching on them would let
someone take over an account by renaming themselves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import flask
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask.sansio.app import App
from joserfc.errors import JoseError

from gcrm.core import GcrmError, Settings

__all__ = ["OIDC_CALLBACK", "OidcProvider", "OidcSignInFailed", "oidc_configured"]

#: Where the provider sends the browser back (register ``https://HOST/login/oidc/callback``).
OIDC_CALLBACK = "/login/oidc/callback"


class OidcSignInFailed(GcrmError):
    """The provider's answer could not be accepted; ``status`` is the HTTP status to show."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def oidc_configured(settings: Settings) -> bool:
    """True when issuer, client id and client secret are all set."""
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


class OidcProvider:
    """The configured provider: where to send the browser, and who came back.

    Parameters
    ----------
    settings
        With ``oidc_issuer``, ``oidc_client_id`` and ``oidc_client_secret`` set.
    """

    def __init__(self, settings: Settings) -> None:
        if settings.oidc_issuer is None or not oidc_configured(settings):
            msg = (
                "OpenID Connect needs GCRM_OIDC_ISSUER, GCRM_OIDC_CLIENT_ID and "
                "GCRM_OIDC_CLIENT_SECRET; set all three, or none"
            )
            raise OidcSignInFailed(msg, status=503)
        self.issuer = settings.oidc_issuer.rstrip("/")
        #: How the login page names the provider: the issuer's host.
        self.label = urlsplit(self.issuer).netloc or self.issuer
        self._oauth = OAuth()
        self._client: Any = self._oauth.register(
            "oidc",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid"},
        )

    def init_app(self, app: App) -> None:
        """Bind the client to the Flask app (it keeps its state in the app's sessions)."""
        self._oauth.init_app(app)

    def authorize_redirect(self, redirect_uri: str) -> flask.Response:
        """The redirect that sends the browser to the provider's login.

        Raises
        ------
        OidcSignInFailed
            When the provider's discovery document cannot be read (502).
        """
        try:
            response: flask.Response = self._client.authorize_redirect(redirect_uri)
        except (requests.RequestException, ValueError) as exc:
            raise self._unreachable(exc) from None
        return response

    def subject(self) -> str:
        """The verified ``sub`` of the browser that came back to the callback.

        Raises
        ------
        OidcSignInFailed
            When the provider reports an error, the state or the ID token does not check
            out (400), or the provider cannot be reached (502).
        """
        # Both spellings of the issuer, with and without a trailing slash, name it.
        issuers = [self.issuer, self.issuer + "/"]
        try:
            token = self._client.authorize_access_token(
                claims_options={"iss": {"essential": True, "values": issuers}}
            )
        except (AuthlibBaseError, JoseError) as exc:
            detail = getattr(exc, "description", None) or str(exc) or type(exc).__name__
            msg = f"Sign-in with {self.label} failed: {detail}. Try again"
            raise OidcSignInFailed(msg, status=400) from None
        except (requests.RequestException, ValueError) as exc:
            raise self._unreachable(exc) from None
        subject = (token.get("userinfo") or {}).get("sub")
        if not subject:
            msg = f"{self.label} sent no ID token with a subject (sub); sign-in refused"
            raise OidcSignInFailed(msg, status=400)
        return str(subject)

    def _unreachable(self, exc: Exception) -> OidcSignInFailed:
        msg = (
            f"{self.label} cannot be reached ({type(exc).__name__}); try again shortly, or "
            "check GCRM_OIDC_ISSUER"
        )
        return OidcSignInFailed(msg, status=502)
