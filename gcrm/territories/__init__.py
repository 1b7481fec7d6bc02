"""Territory reports: KPIs per area of a level, as XLSX and an offline HTML page; territory
design: k contiguous, balanced territories from the areas of a level."""

from gcrm.territories.design import (
    ADJACENCY,
    COMPACTNESS_WEIGHT,
    DESIGN_CRITERIA,
    DesignResult,
    design_territories,
    evaluate_assignment,
    parse_balance,
    read_design_units,
    read_locks,
    write_design,
)
from gcrm.territories.kpis import KPIS, resolve_period, territory_kpis
from gcrm.territories.plans import (
    Plan,
    PlanDiff,
    assign_reps,
    design_figures,
    diff_plans,
    list_plans,
    read_plan,
    resolve_plan,
    save_plan,
    set_current_plan,
)
from gcrm.territories.report import (
    TerritoryReport,
    build_territory_report,
    format_sources,
    format_summary,
)

__all__ = [
    "ADJACENCY",
    "COMPACTNESS_WEIGHT",
    "DESIGN_CRITERIA",
    "DesignResult",
    "design_territories",
    "evaluate_assignment",
    "parse_balance",
    "read_design_units",
    "read_locks",
    "write_design",
    "KPIS",
    "TerritoryReport",
    "build_territory_report",
    "format_sources",
    "format_summary",
    "resolve_period",
    "territory_kpis",
    "Plan",
    "PlanDiff",
    "assign_reps",
    "design_figures",
    "diff_plans",
    "list_plans",
    "read_plan",
    "resolve_plan",
    "save_plan",
    "set_current_plan",
]
