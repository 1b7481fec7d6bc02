"""Territory reports: KPIs per area of a level, as XLSX and an offline HTML page."""

from gcrm.territories.kpis import KPIS, resolve_period, territory_kpis
from gcrm.territories.report import (
    TerritoryReport,
    build_territory_report,
    format_sources,
    format_summary,
)

__all__ = [
    "KPIS",
    "TerritoryReport",
    "build_territory_report",
    "format_sources",
    "format_summary",
    "resolve_period",
    "territory_kpis",
]
