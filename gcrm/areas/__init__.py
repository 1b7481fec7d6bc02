"""Areas: the hierarchy's levels, area statistics of one vintage, housing and building forms,
area profiles (what the cube and exports read about each area) and customer flows from areas
to branches."""

from gcrm.areas.branch_flows import FLOW_COLUMNS, origin_destination_flows
from gcrm.areas.geometry import read_areas
from gcrm.areas.housing import (
    BUILDING_FORMS,
    DWELLING_MEASURES,
    DWELLING_TYPES,
    ESTIMATE_SOURCE,
    FORM_MEASURES,
    HEIGHT_MEASURES,
    HOUSING_MEASURES,
    AreaHousing,
    area_housing,
)
from gcrm.areas.levels import AreaLevel, check_level, level_names, read_area_levels
from gcrm.areas.profiles import (
    PROFILE_MEASURES,
    ProfileFigures,
    area_profiles,
    profile_figures,
    profile_measures,
    profile_sources,
)
from gcrm.areas.region import UNNAMED_REGION, RegionInfo, read_region, set_region
from gcrm.areas.stats import (
    STATS_COLUMNS,
    check_vintage,
    describe_sources,
    read_area_stats,
    stats_vintages,
)

__all__ = [
    "UNNAMED_REGION",
    "RegionInfo",
    "read_region",
    "set_region",
    "BUILDING_FORMS",
    "DWELLING_MEASURES",
    "DWELLING_TYPES",
    "ESTIMATE_SOURCE",
    "FLOW_COLUMNS",
    "FORM_MEASURES",
    "HEIGHT_MEASURES",
    "HOUSING_MEASURES",
    "PROFILE_MEASURES",
    "STATS_COLUMNS",
    "AreaHousing",
    "AreaLevel",
    "ProfileFigures",
    "area_housing",
    "area_profiles",
    "check_level",
    "check_vintage",
    "describe_sources",
    "level_names",
    "origin_destination_flows",
    "profile_figures",
    "profile_measures",
    "profile_sources",
    "read_area_levels",
    "read_area_stats",
    "read_areas",
    "stats_vintages",
]
