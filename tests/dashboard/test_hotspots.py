"""The dashboard's hot spot layer as plain functions on the demo region (a real PostGIS)."""

from __future__ import annotations

import pytest

from dashboard import panels as p
from dashboard.cache import DashboardData
from gcrm.core import ValidationError
from gcrm.cube import HOTSPOT_CLASSES, load_cube
from gcrm.maps import HOTSPOT_COLOURS


def test_hotspots_are_computed_once_per_slice_and_drawn_by_class(demo) -> None:  # type: ignore[no-untyped-def]
    data = DashboardData(engine=demo.engine, cube=load_cube(demo.cube_path))
    slice_ = {"level": "district", "measure": "revenue", "period": None, "segment": None}
    result = data.hotspots(**slice_, parent=None)
    assert data.hotspots(**slice_, parent=None) is result  # cached
    assert data.hotspots(**slice_ | {"measure": "orders"}, parent=None) is not result

    colours = p.hotspot_colours(result)
    assert set(colours) == set(result["area_id"])
    for area, cluster in zip(result["area_id"], result["cluster"], strict=True):
        assert colours[area] == HOTSPOT_COLOURS[cluster]
    title, rows, method = p.hotspot_legend(result)
    assert title == "Hot spots of Revenue · whole range"
    assert method == (
        "Getis-Ord Gi* · alpha 0.05 · Benjamini-Hochberg false discovery rate · 999 permutations"
    )
    shown = {label.rsplit(" (", 1)[0]: colour for colour, label in rows}
    assert shown["hot spot"] == HOTSPOT_COLOURS["hot spot"]
    assert sum(int(label.rsplit("(", 1)[1].rstrip(")")) for _, label in rows) == len(result)
    tip = p.hotspot_tooltips(result)[str(result["area_id"].iloc[0])].splitlines()
    assert tip[0] == str(result["name"].iloc[0])
    assert tip[2] == f"Class: {result['cluster'].iloc[0]}"

    # The sidebar's other method: local Moran's I, its own classes, cached apart.
    moran = data.hotspots(**slice_, parent=None, method="moran")
    assert moran is not result and data.hotspots(**slice_, parent=None, method="moran") is moran
    assert set(moran["cluster"]) <= set(HOTSPOT_CLASSES["moran"])
    assert p.hotspot_legend(moran)[2].startswith("local Moran's I · alpha 0.05")


def test_too_few_areas_say_so(demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    data = DashboardData(engine=demo.engine, cube=ds)
    district = str(ds["area"].values[ds["level"].values == "district"][0])
    # The districts inside a district: none, so nothing to test.
    with pytest.raises(ValidationError, match="hot spots need at least"):
        data.hotspots(
            level="district", measure="revenue", period=None, segment=None, parent=district
        )
