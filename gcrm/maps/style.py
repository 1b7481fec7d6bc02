"""How gcrm draws numbers and categories: palettes, fixed colours, and one number format.

Shared by the HTML maps, the territory reports and the dashboard, so a value reads the same
everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "BRANCH_COLOUR",
    "CUSTOMER_COLOUR",
    "DASHBOARD_PALETTE",
    "DIVERGING_PALETTE",
    "LEAD_COLOUR",
    "MISSING",
    "NO_DATA_COLOUR",
    "OSM_ATTRIBUTION",
    "OTHER_COLOUR",
    "PRECISION_COLOURS",
    "QUALITATIVE_PALETTE",
    "SEQUENTIAL_PALETTE",
    "STATUS_COLOURS",
    "TERRITORY_PALETTE",
    "categorical_colours",
    "format_value",
    "is_share",
    "spread",
    "territory_colour",
]

OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
#: ColorBrewer YlOrRd, 6 classes: the HTML maps and reports.
SEQUENTIAL_PALETTE = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: ColorBrewer YlGnBu, 5 classes, light = low: the dashboard.
DASHBOARD_PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: ColorBrewer RdBu, 7 classes, red = fall, blue = rise, the middle class (near white)
#: around zero: changes between periods.
DIVERGING_PALETTE = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")
#: ColorBrewer Set3/Paired-like qualitative colours for territories.
QUALITATIVE_PALETTE = (
    "#1f78b4",
    "#33a02c",
    "#e31a1c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#a6cee3",
    "#b2df8a",
    "#fb9a99",
    "#fdbf6f",
    "#cab2d6",
    "#ffff99",
)
#: 30 categorical colours that stay apart from each other on a light basemap (Kelly's 20
#: colours of maximum contrast without black and white, then 10 more of Glasbey's set):
#: a plan of 20-30 territories shows each in its own colour.
TERRITORY_PALETTE = (
    "#f3c300",
    "#875692",
    "#f38400",
    "#a1caf1",
    "#be0032",
    "#c2b280",
    "#848482",
    "#008856",
    "#e68fac",
    "#0067a5",
    "#f99379",
    "#604e97",
    "#f6a600",
    "#b3446c",
    "#dcd300",
    "#882d17",
    "#8db600",
    "#654522",
    "#e25822",
    "#2b3d26",
    "#05acc6",
    "#b500ff",
    "#018700",
    "#ff7ed1",
    "#6b004f",
    "#00fdcf",
    "#783fc1",
    "#1e9bff",
    "#ffa52f",
    "#5a5a00",
)
NO_DATA_COLOUR = "#d9d9d9"
STATUS_COLOURS: Mapping[str, str] = {"active": "#1a9850", "churned": "#d73027"}
#: Geocode precision, best first (the geocoder's ladder); unknown values are grey.
PRECISION_COLOURS: Mapping[str, str] = {
    "rooftop": "#1a9850",
    "interpolated": "#a6d96a",
    "street": "#fee08b",
    "postcode": "#fdae61",
    "locality": "#f46d43",
    "none": "#a50026",
}
OTHER_COLOUR = "#737373"
LEAD_COLOUR = "#2171b5"
BRANCH_COLOUR = "#252525"
#: Customer points when not coloured by a property.
CUSTOMER_COLOUR = "#6a3d9a"
#: What a missing value reads as.
MISSING = "–"
_SHARE_UNITS = frozenset({"share", "ratio", "fraction", "%", "percent"})


def is_share(unit: str) -> bool:
    """True when values of ``unit`` are fractions shown as percentages."""
    return unit.lower() in _SHARE_UNITS


#: Currencies written with their sign before the number; other codes follow it.
_CURRENCY_SIGNS = {"EUR": "€", "€": "€", "USD": "$", "GBP": "£"}


def format_value(value: float | None, *, unit: str = "") -> str:
    """A short human label for a value: ``"12,345"``, ``"€1,234"``, ``"12.3%"``, ``"–"``.

    ``unit`` decides the form: shares and ratios as percentages; ``"EUR"`` (or ``"€"``),
    ``"USD"``, ``"GBP"`` with their sign, another currency code after the number; ``"money"`` with cents; anything
    else (counted nouns: customers, people) as a bare number, whole above 100, else with up
    to two decimals.
    """
    if value is None or not math.isfinite(float(value)):
        return MISSING
    value = float(value)
    if is_share(unit):
        return f"{value:.1%}"
    if unit in _CURRENCY_SIGNS:
        return f"{_CURRENCY_SIGNS[unit]}{value:,.0f}"
    if unit == "money":
        return f"{value:,.2f}"
    text = f"{value:,.0f}" if abs(value) >= 100 or value.is_integer() else f"{value:,.2f}"
    # Other currency codes (USD, SEK) are worth showing; counted nouns are in the title.
    return f"{text} {unit}" if len(unit) == 3 and unit.isupper() else text


def categorical_colours(labels: pd.Series) -> tuple[pd.Series, list[tuple[str, str]]]:
    """One qualitative colour per distinct label (sorted), and the legend entries."""
    names = sorted(labels.dropna().astype(str).unique())
    lookup = {
        name: QUALITATIVE_PALETTE[i % len(QUALITATIVE_PALETTE)] for i, name in enumerate(names)
    }
    fill = labels.astype(object).map(lookup).fillna(NO_DATA_COLOUR)
    return fill, [(lookup[name], name) for name in names]


def territory_colour(territory: int) -> str:
    """The colour of territory ``territory`` (1-based), from :data:`TERRITORY_PALETTE` in
    turn: the same territory number has the same colour on every map of a plan."""
    return TERRITORY_PALETTE[(int(territory) - 1) % len(TERRITORY_PALETTE)]


def spread(palette: tuple[str, ...], n: int) -> tuple[str, ...]:
    """``n`` colours spread over ``palette`` end to end (fewer classes stay distinct)."""
    if n <= 0:
        return ()
    picks = np.linspace(0, len(palette) - 1, n).round().astype(int)
    return tuple(palette[i] for i in picks)
