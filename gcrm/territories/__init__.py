"""Territory reports: KPIs per area of a level, as XLSX and an offline HTML page."""

from gcrm.territories.kpis import KPIS, territory_kpis
from gcrm.territories.report import TerritoryReport, build_territory_report

__all__ = ["KPIS", "TerritoryReport", "build_territory_report", "territory_kpis"]
