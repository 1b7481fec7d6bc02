"""Campaigns: named target lists with a control group, their logged exports, the responses
imported back, and response rate and uplift per area."""

__all__: list[str] = []
