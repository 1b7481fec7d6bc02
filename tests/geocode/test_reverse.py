"""Reverse geocoding: the nearest reference address and its distance, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection

from gcrm.geocode import reverse_geocode, reverse_geocode_frame

# WGS84. Straight south of a point, the geodesic is the meridian: its length is the
# meridional radius of curvature M(phi) = a (1 - e^2) / (1 - e^2 sin^2 phi)^1.5 times the
# latitude difference in radians (M barely changes over 0.0002 degrees).
A = 6_378_137.0
E2 = 0.006_694_379_990_14


def _meridian_m(lat_deg: float, dlat_deg: float) -> float:
    s = math.sin(math.radians(lat_deg))
    return A * (1 - E2) / (1 - E2 * s * s) ** 1.5 * math.radians(dlat_deg)


def test_hand_computed_meridian_distance() -> None:
    # sin(60.1691 deg) = 0.86750; M = 6,335,439 / 0.99245 = 6,383,610 m; x 3.4907e-6 rad.
    assert _meridian_m(60.1691, 0.0002) == pytest.approx(22.28, abs=0.01)


def test_nearest_address_and_its_distance(conn: Connection, reference: Path) -> None:
    # 0.0002 degrees south of a1 (Mannerheimintie 10, 24.9402 60.1692); a2 is ~80 m away.
    found = reverse_geocode(conn, lon=24.9402, lat=60.1690)
    assert found.ref == "a1" and found.address == "Mannerheimintie 10, 00100 Helsinki"
    assert found.distance_m == pytest.approx(_meridian_m(60.1691, 0.0002), abs=0.06)
    assert found.distance_m == 22.3  # rounded to 0.1 m
    assert (found.lon, found.lat) == pytest.approx((24.9402, 60.1692))


def test_nothing_within_max_distance(conn: Connection, reference: Path) -> None:
    found = reverse_geocode(conn, lon=24.9402, lat=60.1690, max_distance_m=20)
    assert found.ref is None and found.distance_m is None and found.address is None


def test_frame_keeps_index_and_order(conn: Connection, reference: Path) -> None:
    points = pd.DataFrame(
        {"lon": [24.9510, 25.5, 24.9530], "lat": [60.1660, 60.5, 60.1682]},
        index=pd.Index([10, 20, 30], name="visit"),
    )
    out = reverse_geocode_frame(conn, points)
    assert out.index.equals(points.index)
    assert out["ref"].tolist()[0::2] == ["a3", "a7"] and pd.isna(out.loc[20, "ref"])
    assert out.loc[10, "distance_m"] == 0.0 and pd.isna(out.loc[20, "distance_m"])
