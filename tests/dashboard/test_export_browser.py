"""Issue 11's exports in a real headless Chromium on the demo region: each export button
downloads a file a person can open, of the view on screen."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from PIL import Image
from selenium.webdriver.support.wait import WebDriverWait

from dashboard import create_app
from gcrm.cube import load_cube, select_measure
from gcrm.maps.png import PNG_SIZE

pytestmark = pytest.mark.browser

AREA_PATHS = "path.gcrm-area"


def _download(dash_duo, button: str, suffix: str, seen: set[str]) -> Path:  # type: ignore[no-untyped-def]
    """Click ``button`` and return the new file of ``suffix`` in the download folder, once
    Chromium has finished writing it."""
    folder = Path(dash_duo.download_path)
    dash_duo.find_element(f"#{button}").click()

    def done(_driver: object) -> Path | bool:
        new = [f for f in folder.glob(f"*{suffix}") if f.name not in seen]
        return new[0] if new and new[0].stat().st_size > 0 else False

    found = WebDriverWait(dash_duo.driver, 30).until(done, message=f"{button}: no {suffix} file")
    assert isinstance(found, Path)
    seen.add(found.name)
    return found


def test_each_export_button_downloads_the_view(dash_duo, demo) -> None:  # type: ignore[no-untyped-def]
    ds = load_cube(demo.cube_path)
    orders = select_measure(ds, "orders", level="district", period="2025-Q2")
    names = {str(ds["name"].sel(area=a).item()) for a in orders.index}
    app = create_app(demo.settings.model_copy(update={"auth": "off"}))
    dash_duo.driver.set_window_size(1440, 1300)
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/?measure=orders&period=2025-Q2&points=none")
    dash_duo.wait_for_element(AREA_PATHS, timeout=15)
    dash_duo.wait_for_text_to_equal("#legend-title", "Orders · Q2 2025", timeout=15)
    seen: set[str] = set()

    csv = _download(dash_duo, "export-csv", ".csv", seen)
    assert "orders" in csv.name and "2025-q2" in csv.name
    table = pd.read_csv(csv)
    assert set(table["Area"]) == names  # every district, not only the top rows shown
    assert table.iloc[:, 3].sum() == pytest.approx(float(orders.sum()))
    dash_duo.wait_for_contains_text("#export-note", csv.name, timeout=10)

    xlsx = _download(dash_duo, "export-xlsx", ".xlsx", seen)
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Areas", "View"]
    assert book["Areas"].max_row == len(names) + 1
    view = {r[0]: r[1] for r in book["View"].iter_rows(min_row=2, values_only=True)}
    assert view["Measure"] == "Orders" and view["Period"] == "Q2 2025"

    page = _download(dash_duo, "export-html", ".html", seen).read_text(encoding="utf-8")
    assert "<title>Orders · Q2 2025</title>" in page
    assert all(name in page for name in names)

    png = _download(dash_duo, "export-png", ".png", seen)
    image = Image.open(io.BytesIO(png.read_bytes()))
    assert image.format == "PNG" and image.size == PNG_SIZE
    assert dash_duo.get_logs() == []
