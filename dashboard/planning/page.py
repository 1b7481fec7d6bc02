"""The Planning page of one request's user: the stored plans and the levels read, then laid
out (:mod:`.layout`); a notice instead when their role may not read territory plans."""

from __future__ import annotations

from dash import html

from dashboard.cache import DataByScope
from dashboard.layout import Account, notice_page
from dashboard.planning.data import level_options, plan_options
from dashboard.planning.layout import PATH, PlanningChoices, planning_page
from gcrm.access import Principal
from gcrm.areas import UNNAMED_REGION
from gcrm.core import Settings
from gcrm.web import basemap_of

__all__ = ["planning_for_request"]


def planning_for_request(
    data: DataByScope, principal: Principal, *, account: Account, settings: Settings
) -> html.Div:
    """The page for ``principal``: a notice when their role may not read territory plans;
    the design and save controls only when it may plan (``plan_territories``)."""
    region = data.region_name or UNNAMED_REGION
    if not principal.can("territory_reports"):
        message = (
            f"Your role ({principal.role}) may not read territory plans; planning needs the "
            "planner, manager or admin role: ask an administrator for one."
        )
        return notice_page(message, region_name=region, account=account, page=PATH)
    engine = data.services.data
    choices = PlanningChoices(
        plans=plan_options(engine),
        levels=level_options(engine),
        can_plan=principal.can("plan_territories"),
    )
    return planning_page(choices, region_name=region, account=account, basemap=basemap_of(settings))
