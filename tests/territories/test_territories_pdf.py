"""The territory report as a PDF (a cover, a page per territory) and as a GeoPackage."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import xarray as xr
from click.testing import CliRunner
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import Connection, text

import gcrm.territories.report as report_module
from gcrm.areas import set_region
from gcrm.cli import cli
from gcrm.core import Settings, ValidationError
from gcrm.cube import build_region_cube
from gcrm.store import create_db_engine
from gcrm.territories import KPIS, build_territory_report, publish_plan, save_plan
from tests.maps.seed import seed_region

#: Latin-1 has "ä" but not "Ł": Helvetica would drop it, the embedded DejaVu renders it.
NAME = "Käpylä Łódź"


@pytest.fixture
def cube(conn: Connection) -> xr.Dataset:
    """The tiny region with D01 renamed beyond Latin-1, and a region name and currency."""
    seed_region(conn)
    conn.execute(text("UPDATE gcrm.areas SET name = :n WHERE code = 'D01'"), {"n": NAME})
    set_region(conn, name="Helsinki", currency="EUR")
    return build_region_cube(conn)


def test_pdf_has_a_cover_and_a_page_per_territory(
    conn: Connection, cube: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(
        conn, cube=cube, level="district", out_dir=tmp_path, formats=["pdf"]
    )
    assert list(report.paths) == ["pdf"] and sorted(p.name for p in tmp_path.iterdir()) == [
        "territories_district.pdf"
    ]
    pages = PdfReader(report.pdf).pages
    assert len(pages) == 2 + 1
    cover, d01, d02 = (p.extract_text() for p in pages)
    assert "Territories of Helsinki" in cover and "Revenue in EUR" in cover
    assert NAME in cover and "Kluuvi & <Co>" in cover
    assert "Population: test, 2025" in cover and "Households: test, 2025" in cover
    assert f"{NAME} (D01)" in d01 and "Kluuvi & <Co> (D02)" in d02
    # Top customers, each on its territory's page.
    assert "Aino Active" in d01 and "Bo Churned" in d01 and "Cafe Corp" not in d01
    assert "Cafe Corp" in d02
    # Revenue 220 and 750.5 around a mean of 485.25: 54.7 % below and above it.
    deviation = report.balance.set_index("code")["revenue_deviation"]
    assert deviation["D01"] == pytest.approx(220 / 485.25 - 1)
    assert "-54.7%" in d01 and "+54.7%" in d02 and "+54.7%" in cover
    for page in pages:
        fonts = [str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()]
        # The names are set in the embedded subset (reportlab lists Helvetica on every page).
        assert {f.split("+")[-1] for f in fonts} >= {"DejaVuSans", "DejaVuSans-Bold"}, fonts


def test_pdf_map_highlights_the_territory(
    conn: Connection, cube: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(
        conn, cube=cube, level="district", out_dir=tmp_path, formats=["pdf"]
    )
    pages = PdfReader(report.pdf).pages
    assert len(pages[0].images) == 0
    for page in pages[1:]:
        (picture,) = page.images
        pixels = np.asarray(Image.open(io.BytesIO(picture.data)).convert("RGB")).reshape(-1, 3)
        territory = (pixels == (0x31, 0x82, 0xBD)).all(axis=1).sum()
        neighbour = (pixels == (0xD9, 0xD9, 0xD9)).all(axis=1).sum()
        # The territory filled, its neighbour beside it in grey.
        assert territory > 10_000 and neighbour > 1_000


def test_geopackage_has_the_territories_with_the_workbook_kpis(
    conn: Connection, cube: xr.Dataset, tmp_path: Path
) -> None:
    report = build_territory_report(
        conn,
        cube=cube,
        level="district",
        out_dir=tmp_path,
        formats=["gpkg", "xlsx"],
        balance=["customers", "leads"],
    )
    assert list(report.paths) == ["xlsx", "gpkg"]
    assert pyogrio.list_layers(report.gpkg).tolist() == [["territories", "MultiPolygon"]]
    layer = pyogrio.read_dataframe(report.gpkg, layer="territories")
    assert layer.crs.to_epsg() == 4326 and len(layer) == 2
    assert layer["code"].tolist() == ["D01", "D02"]
    assert layer["name"].tolist() == [NAME, "Kluuvi & <Co>"]
    assert set(layer["level"]) == {"district"}
    summary = load_workbook(report.xlsx)["Summary"]
    header = [c.value for c in summary[1]]
    rows = [r for r in summary.iter_rows(min_row=2, values_only=True) if r[0] in ("D01", "D02")]
    for key, kpi in KPIS.items():
        from_xlsx = [r[header.index(kpi.label)] for r in rows]
        from_gpkg = layer[key].tolist()
        for a, b in zip(from_xlsx, from_gpkg, strict=True):
            assert (a is None and math.isnan(b)) or a == pytest.approx(b), key
    assert layer["customers_share"].sum() == pytest.approx(1.0)
    assert layer["leads_deviation"].tolist() == pytest.approx(
        report.balance["leads_deviation"].tolist()
    )
    assert layer.geometry.is_valid.all() and not layer.geometry.is_empty.any()


def test_formats_balance_and_the_pdf_limit(
    conn: Connection, cube: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match=r"formats=\['pdf', 'docx'\]: \['docx'\]"):
        build_territory_report(
            conn, cube=cube, level="district", out_dir=tmp_path, formats=["pdf", "docx"]
        )
    with pytest.raises(ValidationError, match=r"\['penetration'\] cannot be balanced"):
        build_territory_report(
            conn, cube=cube, level="district", out_dir=tmp_path, balance=["penetration"]
        )
    monkeypatch.setattr(report_module, "PDF_MAX_TERRITORIES", 1)
    with pytest.raises(ValidationError, match=r"level 'district' has 2 areas.*coarser --level"):
        build_territory_report(conn, cube=cube, level="district", out_dir=tmp_path, formats=["pdf"])
    # Asked for nothing in particular: everything but the PDF, and a note saying why.
    report = build_territory_report(conn, cube=cube, level="district", out_dir=tmp_path)
    assert list(report.paths) == ["xlsx", "html", "gpkg"]
    assert report.notes and report.notes[0].startswith("no PDF: level 'district' has 2 areas")
    assert not (tmp_path / "territories_district.pdf").exists()


def test_cli_report_writes_the_formats_asked(seeded: Settings, tmp_path: Path) -> None:
    env = {"GCRM_DATABASE_URL": seeded.database_url, "GCRM_DATA_DIR": str(seeded.data_dir)}
    args = ["territories", "report", "--level", "district", "-o", str(tmp_path)]
    result = CliRunner().invoke(
        cli, [*args, "--format", "pdf,gpkg", "--balance", "customers:1,revenue:2"], env=env
    )
    assert result.exit_code == 0, result.output
    assert f"pdf written to {tmp_path / 'territories_district.pdf'}" in result.output
    assert f"gpkg written to {tmp_path / 'territories_district.gpkg'}" in result.output
    assert "xlsx written" not in result.output
    assert len(PdfReader(tmp_path / "territories_district.pdf").pages) == 3
    bad = CliRunner().invoke(cli, [*args, "--format", "pdf,svg"], env=env)
    assert isinstance(bad.exception, ValidationError)
    assert "['svg'] not a report format" in str(bad.exception)


def test_a_published_plan_gets_a_page_per_territory(grid_url: str, tmp_path: Path) -> None:
    """Published, a plan's territories are the level ``territory``: its report is theirs."""
    engine = create_db_engine(grid_url)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            codes = conn.execute(
                text("SELECT code FROM gcrm.areas WHERE level = 'cell' ORDER BY code")
            ).scalars()
            # Four quadrants of the 8 x 8 grid (C<i><j>); the island joins the first.
            assignment = {
                c: 1 if c == "ISLAND" else 1 + (int(c[1]) >= 4) + 2 * (int(c[2]) >= 4)
                for c in codes
            }
            plan = save_plan(
                conn,
                name="quadrants",
                level="cell",
                assignment=assignment,
                created_by="test",
                territory_names={1: "Südwest", 2: "Südost", 3: "Nordwest", 4: "Nordost"},
                reps={1: "Åsa Öberg"},
            )
            publish_plan(conn, plan, published_by="test")
            cube = build_region_cube(conn)
            report = build_territory_report(
                conn, cube=cube, level="territory", out_dir=tmp_path, formats=["pdf", "gpkg"]
            )
            transaction.rollback()
    finally:
        engine.dispose()
    pages = PdfReader(report.pdf).pages
    assert len(pages) == 4 + 1
    layer = pyogrio.read_dataframe(report.gpkg, layer="territories")
    assert len(layer) == 4 and layer["customers"].sum() == report.summary["customers"].sum()
    assert report.summary["customers"].sum() > 0
    for page, name in zip(pages[1:], report.summary["name"], strict=True):
        assert name in page.extract_text() and name in pages[0].extract_text()
    assert "Südwest (Åsa Öberg)" in pages[1].extract_text()
