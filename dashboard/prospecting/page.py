"""The Prospecting page of one request's user: their branches, lead categories and areas
read, then laid out (:mod:`.layout`); a notice instead when their role may not read leads."""

from __future__ import annotations

import xarray as xr
from dash import html

from dashboard.cache import DataByScope
from dashboard.layout import Account, notice_page
from dashboard.prospecting.data import branch_options, category_options
from dashboard.prospecting.layout import PATH, Choices, prospecting_page
from gcrm.access import Principal
from gcrm.areas import UNNAMED_REGION
from gcrm.core import NotFoundError, Settings
from gcrm.web import basemap_of

__all__ = ["area_options", "prospecting_for_request"]


def area_options(cube: xr.Dataset) -> list[dict[str, str]]:
    """The areas of the user's cube as ``level:code`` options, labelled with their names."""
    ids = [str(a) for a in cube["area"].values]
    names = [str(n) for n in cube["name"].values]
    return [
        {"label": f"{area} · {name}" if name and name not in area else area, "value": area}
        for area, name in sorted(zip(ids, names, strict=True))
    ]


def prospecting_for_request(
    data: DataByScope, principal: Principal, *, account: Account, settings: Settings
) -> html.Div:
    """The page for ``principal``: a notice when their role may not read leads."""
    region = data.region_name or UNNAMED_REGION
    areas: list[dict[str, str]] = []
    try:
        scoped = data.for_principal(principal)
    except NotFoundError:  # no cube yet: the search works without one, by areas' codes
        pass
    else:
        region, areas = scoped.region_name, area_options(scoped.cube)
    if not principal.can("read_leads"):
        message = (
            f"Your role ({principal.role}) may not read leads; prospecting needs the "
            "prospector, planner, manager or admin role: ask an administrator for one."
        )
        return notice_page(message, region_name=region, account=account, page=PATH)
    engine = data.services.data
    choices = Choices(
        branches=branch_options(engine),
        categories=category_options(engine),
        areas=areas,
    )
    return prospecting_page(
        choices, region_name=region, account=account, basemap=basemap_of(settings)
    )
