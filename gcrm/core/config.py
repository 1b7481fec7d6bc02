"""Settings: one object, built once at an entry point and passed down.

Library code never reads ``os.environ``; the CLI and the app factory call :func:`get_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]

#: The local PostGIS that ``make demo`` sets up (scripts/ensure-postgis.sh).
DEFAULT_DATABASE_URL = "postgresql+psycopg://gcrm:gcrm@localhost:5432/gcrm"


class Settings(BaseSettings):
    """gcrm settings, read from ``GCRM_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="GCRM_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the PostGIS database (postgresql+psycopg://...).",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Where demo region files, cubes, maps and reports are written.",
    )
    host: str = Field(default="127.0.0.1", description="Dashboard/API host.")
    port: int = Field(default=8050, description="Dashboard/API port.")
    app_database_url: str | None = Field(
        default=None,
        description="The server's own login for reading data: a role that is a member of "
        "gcrm_app (subject to row-level security; not a superuser, not the owner). Unset: the "
        "server uses database_url and switches to gcrm_app in every transaction.",
    )
    auth: Literal["on", "off"] = Field(
        default="on",
        description="'off' runs without login for one person on their own machine; accepted "
        "only when the server binds to 127.0.0.1 or localhost.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies. Unset: a random key kept in DATA_DIR/.secret_key.",
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only (browsers treat localhost as "
        "secure, so local use works); false only behind a proxy that is itself plain HTTP.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect issuer URL (its /.well-known/openid-configuration is read); "
        "with oidc_client_id and oidc_client_secret, the login page offers it.",
    )
    oidc_client_id: str | None = Field(default=None, description="OpenID Connect client id.")
    oidc_client_secret: str | None = Field(
        default=None, description="OpenID Connect client secret."
    )
    workers: int = Field(
        default=2, ge=1, description="Server worker processes (gunicorn), one per core."
    )
    threads: int = Field(default=8, ge=1, description="Threads per server worker.")
    proxy_hops: int = Field(
        default=0,
        ge=0,
        description="Reverse proxies in front of the server whose X-Forwarded-For/-Proto/-Host "
        "headers are trusted (0: none; 1 behind one nginx or Caddy).",
    )
    rate_limit: str = Field(
        default="120/minute",
        description="Limit per token (or per client address without one) on the expensive "
        "routes: batch geocoding and drive-time search ('N/second|minute|hour').",
    )
    basemap_url: str = Field(
        default="",
        description="Tile URL of the dashboard's basemap ({z}/{x}/{y}, e.g. "
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png). Empty: gcrm draws its own tiles from "
        "the roads, zones and buildings it holds (/tiles/basemap/...): no request leaves the "
        "machine.",
    )
    basemap_attribution: str = Field(
        default="", description="Attribution shown for the tiles of basemap_url."
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate-limit counters live (a 'limits' storage URI): memory:// counts "
        "per worker process; redis://HOST:6379 shares counts between workers and servers.",
    )

    @property
    def region_dir(self) -> Path:
        """Directory of the demo region's files."""
        return self.data_dir / "helsinki"

    @property
    def cube_path(self) -> Path:
        """Where ``gcrm cube build`` writes the cube (Zarr)."""
        return self.data_dir / "cube.zarr"

    @property
    def tile_dir(self) -> Path:
        """Where the basemap's tiles are kept once drawn (one folder per version of the layers)."""
        return self.data_dir / "tiles"

    @property
    def out_dir(self) -> Path:
        """Where maps, lead lists and reports go by default."""
        return self.data_dir / "out"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides winning."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
