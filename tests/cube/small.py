"""A small cube written by hand, with values simple enough to compute in a test's head.

Districts A and B; hexes a1, a2 (in A) and b1 (in B); 15 months, 2024-01 to 2025-03 (month
index m = 0..14); segments smb and consumer.

- revenue of a hex in month m: weight x (m + 1), times 1 for smb and 10 for consumer, where
  the weight is 1 (a1), 2 (a2), 4 (b1); b1 had no revenue in 2025-02 (m = 13). A district's
  is the sum of its hexes'.
- per hex and segment: 10 customers before the range, 2 new and 1 churned every month, so
  active at the end of month m is 11 + m, and at its start 10 + m.
- households: 100 (a1), 200 (a2), 400 (b1).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

AREAS = ("district:A", "district:B", "hex:a1", "hex:a2", "hex:b1")
PARENTS = ("", "", "district:A", "district:A", "district:B")
MONTHS = pd.date_range("2024-01-01", "2025-03-01", freq="MS")
SEGMENTS = ("smb", "consumer")
WEIGHTS = {"hex:a1": 1.0, "hex:a2": 2.0, "hex:b1": 4.0}
CHILDREN = {"district:A": ("hex:a1", "hex:a2"), "district:B": ("hex:b1",)}
HOUSEHOLDS = {"hex:a1": 100.0, "hex:a2": 200.0, "hex:b1": 400.0}


def _objects(values: tuple[str, ...] | list[str]) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _hexes_then_districts(per_hex: dict[str, np.ndarray]) -> np.ndarray:
    by_area = {**per_hex}
    for district, hexes in CHILDREN.items():
        by_area[district] = sum(per_hex[h] for h in hexes)
    return np.stack([by_area[a] for a in AREAS])


def small_cube() -> xr.Dataset:
    """The cube of the module docstring."""
    m = np.arange(len(MONTHS), dtype=float)[:, None]
    segment = np.array([1.0, 10.0])[None, :]
    revenue = {}
    for hex_id, weight in WEIGHTS.items():
        revenue[hex_id] = weight * (m + 1) * segment
    revenue["hex:b1"][13] = 0.0
    ones = np.ones((len(MONTHS), len(SEGMENTS)))
    flows = {
        "new": {h: 2 * ones for h in WEIGHTS},
        "churned": {h: 1 * ones for h in WEIGHTS},
        "active": {h: (11 + m) * ones for h in WEIGHTS},
        "customers": {h: (12 + 2 * m) * ones for h in WEIGHTS},
        "orders": {h: ones for h in WEIGHTS},
        "revenue": revenue,
    }
    dims = ("area", "month", "segment")
    data = {name: (dims, _hexes_then_districts(v)) for name, v in flows.items()}
    households = {**HOUSEHOLDS, "district:A": 300.0, "district:B": 400.0}
    data["households"] = (("area",), np.array([households[a] for a in AREAS]))
    data["population"] = (("area",), 2 * np.array([households[a] for a in AREAS]))
    data["leads"] = (("area",), np.array([3.0, 1.0, 1.0, 2.0, 1.0]))
    data["area_km2"] = (("area",), np.array([3.0, 1.0, 1.0, 2.0, 1.0]))
    data["building_density_per_km2"] = (("area",), np.array([10.0, 40.0, 10.0, 10.0, 40.0]))
    ds = xr.Dataset(
        data,
        coords={
            "area": _objects(AREAS),
            "month": MONTHS.to_numpy(),
            "segment": _objects(SEGMENTS),
            "level": ("area", _objects([a.split(":")[0] for a in AREAS])),
            "code": ("area", _objects([a.split(":")[1] for a in AREAS])),
            "name": ("area", _objects(["Alpha", "Beta", "a one", "a two", "b one"])),
            "parent": ("area", _objects(PARENTS)),
        },
    )
    ds.attrs["levels"] = json.dumps(
        [
            {"level": "district", "parent_level": None, "rank": 1},
            {"level": "hex", "parent_level": "district", "rank": 2},
        ]
    )
    return ds
