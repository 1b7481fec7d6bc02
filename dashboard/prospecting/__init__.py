"""The dashboard's Prospecting page (``/prospecting``): leads around an origin by radius or
drive time, inside a drawn polygon or an area, filtered, ranked with their score, on the
map; the day's route through the selected leads; exports."""

from dashboard.prospecting.callbacks import register_prospecting_callbacks
from dashboard.prospecting.layout import PATH, prospecting_page, prospecting_skeleton
from dashboard.prospecting.page import prospecting_for_request

__all__ = [
    "PATH",
    "prospecting_for_request",
    "prospecting_page",
    "prospecting_skeleton",
    "register_prospecting_callbacks",
]
