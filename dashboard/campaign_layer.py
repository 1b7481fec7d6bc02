"""The map's campaign layer: the areas of the view coloured by a campaign's response rate
(of its targets) or its uplift (targets' rate minus the control group's), with the counts and
rates of both groups in each area's tooltip. Figures come from
:func:`gcrm.campaigns.campaign_results` under the user's scope (:mod:`dashboard.cache`
keeps them a minute); the functions here shape them, tested without a browser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from dashboard import panels as p
from gcrm.campaigns import OVERALL
from gcrm.core import ValidationError
from gcrm.maps import Classes, format_value

__all__ = [
    "CAMPAIGN_OF",
    "NO_CAMPAIGN",
    "CampaignLayer",
    "campaign_layer",
    "campaign_options",
    "campaign_tooltip",
]

#: The sidebar's "Campaign" when none is chosen (the default).
NO_CAMPAIGN = "none"
#: What a campaign colours the areas by: key -> label; the first is the default.
CAMPAIGN_OF: dict[str, str] = {"rate": "Response rate", "uplift": "Uplift vs control"}


def campaign_options(campaigns: pd.DataFrame) -> list[dict[str, str]]:
    """The sidebar's campaigns (:func:`gcrm.campaigns.list_campaigns`, newest first): those
    with a member the user may see, each labelled with its name and targets; "None" first."""
    visible = campaigns[(campaigns["targets"] + campaigns["controls"]) > 0]
    return [
        {"label": "None", "value": NO_CAMPAIGN},
        *(
            {"label": f"{r.name} ({int(r.targets):,} targets)", "value": str(r.id)}
            for r in visible.itertuples()
        ),
    ]


def _share(value: float) -> str:
    return format_value(value, unit="share")


def _signed(value: float) -> str:
    return f"{value:+.1%}" if np.isfinite(value) else format_value(value, unit="share")


def campaign_tooltip(name: str, row: pd.Series | None) -> str:
    """An area's tooltip: its name, each group's members, responders and rate, and the
    uplift with its interval ("no member here" where the campaign has none)."""
    if row is None:
        return f"{name}\nNo campaign member here"
    confidence = row.get("confidence", 0.95)
    lines = [
        name,
        f"Targets: {int(row['targets']):,} ({int(row['target_responders']):,} responded, "
        f"{_share(row['target_rate'])})",
        f"Controls: {int(row['controls']):,} ({int(row['control_responders']):,} responded, "
        f"{_share(row['control_rate'])})",
        f"Uplift: {_signed(row['uplift'])} ({confidence:.0%}: {_signed(row['uplift_low'])} to "
        f"{_signed(row['uplift_high'])})",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class CampaignLayer:
    """What the map shows of a campaign: colour and tooltip per area id, the classes for
    the legend, its title and a note (the overall figures)."""

    colours: dict[str, str]
    tooltips: dict[str, str]
    classes: Classes
    title: str
    note: str


def campaign_layer(
    results: pd.DataFrame,
    ds: xr.Dataset,
    area_ids: Sequence[str],
    *,
    of: str,
    scheme: str = "quantiles",
) -> CampaignLayer:
    """Colour the areas ``area_ids`` (those of the view) by ``results``
    (:func:`gcrm.campaigns.campaign_results` at the view's level).

    Parameters
    ----------
    results
        The campaign's figures per area, with its overall row and ``attrs``.
    ds
        The cube (areas' names).
    area_ids
        The areas drawn; those without members get no colour ("no data").
    of
        ``"rate"`` (the targets' response rate, classed by ``scheme``) or ``"uplift"``
        (diverging classes centred on zero).
    scheme
        The sidebar's classes (:data:`gcrm.maps.SCHEMES`), for the response rate.

    Raises
    ------
    ValidationError
        When ``of`` is not one of :data:`CAMPAIGN_OF`.
    """
    if of not in CAMPAIGN_OF:
        msg = f"of={of!r} is not what a campaign colours by; use one of {list(CAMPAIGN_OF)}"
        raise ValidationError(msg)
    ids = [str(a) for a in area_ids]
    per_area = results[results["area"] != OVERALL].set_index("area")
    per_area = per_area.assign(confidence=results.attrs.get("confidence", 0.95))
    column = "target_rate" if of == "rate" else "uplift"
    values = per_area[column].reindex(ids).astype(float)
    classes = (
        p.choropleth_classes(values, scheme=scheme) if of == "rate" else p.diverging_classes(values)
    )
    names = [str(n) for n in ds["name"].sel(area=ids).values] if ids else []
    tooltips = {
        area: campaign_tooltip(str(name), per_area.loc[area] if area in per_area.index else None)
        for area, name in zip(ids, names, strict=True)
    }
    meta = results.attrs
    label = "response rate of targets" if of == "rate" else "uplift (targets' rate - controls')"
    title = f"Campaign {meta.get('campaign', '')} · {label}"
    overall = results[results["area"] == OVERALL]
    note = "Members count in the area they stood in when the campaign was made."
    if len(overall):
        row = overall.iloc[0]
        note = (
            f"All areas: targets {_share(row['target_rate'])} of {int(row['targets']):,}, "
            f"controls {_share(row['control_rate'])} of {int(row['controls']):,}, uplift "
            f"{_signed(row['uplift'])} ({meta.get('confidence', 0.95):.0%}: "
            f"{_signed(row['uplift_low'])} to {_signed(row['uplift_high'])}). {note}"
        )
    colours = p.area_colours(values, classes)
    return CampaignLayer(colours, tooltips, classes, title, note)
