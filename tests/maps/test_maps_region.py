from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from sqlalchemy import Connection

from gcrm.cli import cli
from gcrm.core import NotFoundError, Settings, ValidationError
from gcrm.maps import (
    PRECISION_COLOURS,
    STATUS_COLOURS,
    external_references,
    make_region_map,
    make_territory_map,
)
from tests.maps.seed import browser_dom

CDN_PAGE = """<html><head>
<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>
<link rel="stylesheet" href="//cdnjs.cloudflare.com/x.css"/>
<script>var url = "https://example.org";</script>
</head></html>"""


def _area_fills(dom: str) -> list[str]:
    # Leaflet draws each polygon as an SVG path with class leaflet-interactive and a fill.
    paths = re.findall(r"<path[^>]*leaflet-interactive[^>]*>", dom)
    return [m for p in paths for m in re.findall(r'fill="(#[0-9a-f]{6})"', p)]


def test_external_references_finds_script_and_stylesheet_links_only() -> None:
    found = external_references(CDN_PAGE)
    assert found == [
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
        "//cdnjs.cloudflare.com/x.css",
    ]


def test_region_map_is_self_contained(conn: Connection, region: xr.Dataset, tmp_path: Path) -> None:
    out = make_region_map(conn, cube=region, measure="revenue", out=tmp_path / "sub" / "map.html")
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == []
    # Independently of external_references: no script or stylesheet is loaded by URL at all.
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*stylesheet", page)
    assert "OpenStreetMap contributors, ODbL" in page
    # Area names go into tooltips as HTML, escaped (JSON then escapes & < > again).
    assert "Kamppi" in page and "Kluuvi \\u0026amp; \\u0026lt;Co\\u0026gt;" in page
    assert "Leaflet 1.9.4" in page or "1.9.4" in page
    assert "markerClusterGroup" in page
    # Three geocoded customers (C4 has no location), two leads, one branch.
    assert "Customers (3)" in page and "Leads (2)" in page and "Branches (1)" in page
    assert STATUS_COLOURS["churned"] in page


def test_region_map_segment_filters_points_and_values(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    out = make_region_map(
        conn, cube=region, segment="business", colour_points_by="precision", out=tmp_path / "m.html"
    )
    page = out.read_text(encoding="utf-8")
    assert "Customers (1)" in page
    assert "Customers by precision" in page and PRECISION_COLOURS["interpolated"] in page


def test_region_map_without_cube_draws_areas(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    out = make_region_map(conn, cube=None, out=tmp_path / "m.html")
    assert "no cube loaded" in out.read_text(encoding="utf-8")


def test_region_map_errors_name_the_argument(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    with pytest.raises(
        NotFoundError, match=r"level 'ward' has no areas; use one of \['district'\]"
    ):
        make_region_map(conn, cube=region, level="ward", out=tmp_path / "m.html")
    with pytest.raises(ValidationError, match="measure 'profit'"):
        make_region_map(conn, cube=region, measure="profit", out=tmp_path / "m.html")
    with pytest.raises(ValidationError, match="colour_points_by='size'"):
        make_region_map(conn, cube=region, colour_points_by="size", out=tmp_path / "m.html")  # type: ignore[arg-type]
    assert not (tmp_path / "m.html").exists()


def test_territory_map_by_name_and_highlight(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    names = pd.Series({"district:D01": "North team", "district:D02": "South team"})
    out = make_territory_map(
        conn, level="district", territories=names, highlight="district:D02", out=tmp_path / "t.html"
    )
    page = out.read_text(encoding="utf-8")
    assert "North team" in page and "South team" in page and external_references(page) == []
    with pytest.raises(ValidationError, match="not both"):
        make_territory_map(
            conn, level="district", territories=names, values=names, out=tmp_path / "x.html"
        )
    with pytest.raises(NotFoundError, match="highlight='district:D99'"):
        make_territory_map(
            conn, level="district", highlight="district:D99", out=tmp_path / "x.html"
        )


@pytest.mark.browser
def test_region_map_renders_offline_in_chromium(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    out = make_region_map(conn, cube=region, measure="revenue", out=tmp_path / "map.html")
    dom = browser_dom(out)
    fills = _area_fills(dom)
    # D01 revenue 220, D02 750.50: two classes, two different fills, both polygons drawn.
    assert len(set(fills) & {"#ffffb2", "#bd0026"}) == 2, fills
    assert "© OpenStreetMap contributors, ODbL" in dom
    assert "leaflet-control-layers" in dom and '<div class="gcrm-legend' in dom
    # Customers are drawn: as a cluster icon or as circle markers beyond the two polygons.
    assert (
        re.search(r'class="[^"]*\bmarker-cluster\b', dom)
        or dom.count('class="leaflet-interactive"') > 2
    )


def test_map_cli_without_cube_says_how_to_build_it(settings: Settings) -> None:
    env = {"GCRM_DATABASE_URL": settings.database_url, "GCRM_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["map"], env=env)
    assert isinstance(result.exception, NotFoundError)
    assert "gcrm cube build" in str(result.exception)


def test_map_cli_writes_default_path(seeded: Settings) -> None:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    result = CliRunner().invoke(cli, ["map", "--measure", "active", "--period", "2025-Q1"], env=env)
    assert result.exit_code == 0, result.output
    out = seeded.out_dir / "map.html"
    assert f"map written to {out}" in result.output
    page = out.read_text(encoding="utf-8")
    assert "Active customers, 2025-Q1, all segments" in page and external_references(page) == []


def test_region_map_precision_filter_draws_only_those_customers(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    out = make_region_map(
        conn,
        cube=region,
        precisions=["rooftop", "interpolated"],
        colour_points_by="precision",
        out=tmp_path / "m.html",
    )
    page = out.read_text(encoding="utf-8")
    # C1 rooftop and C3 interpolated; C2 (street) left out, C4 has no location.
    assert "Customers (2; precision rooftop, interpolated)" in page
    assert "Aino Active" in page and "Cafe Corp" in page and "Bo Churned" not in page
    assert PRECISION_COLOURS["street"] not in page
    out = make_region_map(conn, cube=region, precisions=["street"], out=tmp_path / "s.html")
    assert "Customers (1; precision street)" in out.read_text(encoding="utf-8")


def test_region_map_approximate_share_measure(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    out = make_region_map(conn, cube=region, measure="approximate_share", out=tmp_path / "m.html")
    page = out.read_text(encoding="utf-8")
    # D01: C1 rooftop, C2 street -> 50 %; D02: C3 interpolated -> 0 %.
    assert "Share of customers placed approximately" in page
    assert "50.0%" in page and "0.0%" in page


def test_region_map_rejects_unknown_precision(
    conn: Connection, region: xr.Dataset, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match=r"has \['roof'\]; use some of \['rooftop'"):
        make_region_map(conn, cube=region, precisions=["roof"], out=tmp_path / "m.html")


def test_map_cli_precision_option(seeded: Settings, tmp_path: Path) -> None:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    out = tmp_path / "trusted.html"
    result = CliRunner().invoke(
        cli, ["map", "--precision", "rooftop, interpolated", "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "Customers (2; precision rooftop, interpolated)" in out.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["map", "--precision", "exact", "-o", str(out)], env=env)
    assert isinstance(result.exception, ValidationError)
