"""Writing a route: XLSX in visit order, GPX that parses, an HTML map with no external URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection

from gcrm.core import ValidationError
from gcrm.maps import external_references, route_map_html, write_route
from gcrm.routing import plan_route
from tests.routing.test_route import grid, random_stops  # noqa: F401 (fixture)


def test_write_route_by_suffix(grid: Connection, tmp_path: Path) -> None:  # noqa: F811
    plan = plan_route(grid, random_stops(10, seed=2), start="B01")
    table = pd.read_excel(write_route(plan, tmp_path / "route.xlsx"))
    assert table["stop"].tolist() == list(range(1, 11))
    assert {"arrival", "departure", "drive_time_s", "lon", "lat", "name"} <= set(table.columns)
    gpx = write_route(plan, tmp_path / "route.gpx").read_text(encoding="utf-8")
    assert ET.fromstring(gpx).tag == "{http://www.topografix.com/GPX/1/1}gpx"
    page = write_route(plan, tmp_path / "route.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "leaflet" in route_map_html(plan).lower()
    assert external_references(page) == []
    assert "10 stops" in page and "S000" in page
    with pytest.raises(ValidationError, match=r"a route is written as .xlsx, .csv, .gpx, .html"):
        write_route(plan, tmp_path / "route.kml")
