"""Areas: the hierarchy's levels, area profiles (what the cube and exports read about each
area) and customer flows from areas to branches."""

from gcrm.areas.branch_flows import FLOW_COLUMNS, origin_destination_flows
from gcrm.areas.levels import AreaLevel, check_level, level_names, read_area_levels
from gcrm.areas.profiles import PROFILE_MEASURES, area_profiles, profile_measures

__all__ = [
    "FLOW_COLUMNS",
    "PROFILE_MEASURES",
    "AreaLevel",
    "area_profiles",
    "check_level",
    "level_names",
    "origin_destination_flows",
    "profile_measures",
    "read_area_levels",
]
