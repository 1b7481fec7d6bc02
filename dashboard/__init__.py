"""gcrm's Dash dashboard for regional managers: map, KPIs, chart and table per area."""

from dashboard.app import create_app

__all__ = ["create_app"]
