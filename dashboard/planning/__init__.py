"""The dashboard's Planning page (``/planning``): territory plans picked or designed, drawn
with their balance and compactness, edited unit by unit (what-if), saved as new versions and
compared."""

from dashboard.planning.callbacks import register_planning_callbacks
from dashboard.planning.layout import PATH, planning_page, planning_skeleton
from dashboard.planning.page import planning_for_request

__all__ = [
    "PATH",
    "planning_for_request",
    "planning_page",
    "planning_skeleton",
    "register_planning_callbacks",
]
