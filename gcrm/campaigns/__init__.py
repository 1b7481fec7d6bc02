"""Campaigns: named target lists with a control group, their logged exports, the responses
imported back, and response rate and uplift per area."""

from gcrm.campaigns.export import CONTACT_FIELDS, EXPORT_ACTION, export_campaign
from gcrm.campaigns.responses import DEFAULT_OUTCOME, RESPONSE_ALIASES, import_responses
from gcrm.campaigns.results import (
    OVERALL,
    RESULT_COLUMNS,
    RESULT_FORMATS,
    build_results_map,
    campaign_results,
    uplift_interval,
    write_results,
)
from gcrm.campaigns.selection import (
    KINDS,
    MAX_NAME_LENGTH,
    Campaign,
    create_campaign,
    list_campaigns,
    read_campaign,
)

__all__ = [
    "CONTACT_FIELDS",
    "DEFAULT_OUTCOME",
    "EXPORT_ACTION",
    "KINDS",
    "MAX_NAME_LENGTH",
    "OVERALL",
    "RESPONSE_ALIASES",
    "RESULT_COLUMNS",
    "RESULT_FORMATS",
    "Campaign",
    "build_results_map",
    "campaign_results",
    "create_campaign",
    "export_campaign",
    "import_responses",
    "list_campaigns",
    "read_campaign",
    "uplift_interval",
    "write_results",
]
