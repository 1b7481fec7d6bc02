"""Dashboard fixtures: Debian's Chromium for dash_duo, and a small cube with its areas."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr.core.sync
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import Connection, text

from gcrm.campaigns import Campaign, create_campaign, import_responses
from tests.chromium import chromium_options


def pytest_setup_options() -> Options:
    """Point dash_duo's Selenium at Debian's chromium, headless."""
    return chromium_options("--window-size=1440,1200")


@pytest.fixture(autouse=True)
def _callbacks_answered(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a browser test, before its server stops: wait until the page has no callback in
    flight (at most 15 s). dash[testing] stops the server by raising SystemExit in its
    threads, and a request thread still answering a callback (the points of the map's last
    move, say) then ends in an exception that pytest reports as an error of the test."""
    if "dash_duo" not in request.fixturenames:
        yield
        return
    dash_duo = request.getfixturevalue("dash_duo")  # set up inside: torn down after this
    yield
    # A page that is gone, never loaded or stays busy: nothing more to wait for.
    with contextlib.suppress(WebDriverException):
        WebDriverWait(dash_duo.driver, 15, poll_frequency=0.2).until(
            lambda _d: not dash_duo.window_store or dash_duo.redux_state_rqs == []
        )


@pytest.fixture(autouse=True)
def _fresh_zarr_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a browser test, let zarr start its I/O threads anew.

    dash[testing] stops its app server by raising SystemExit in every thread started after
    the server (its KillerThread), zarr's event loop and thread pool included when the app
    read or wrote a cube; the next zarr read or write in this process would then wait
    forever on a dead thread.

    Before it, start zarr's event loop, so that its I/O thread is older than the server
    whatever the test reads first (a cube reloaded inside the server, say, after another
    test rewrote it): a zarr thread started by the server is stopped with it, which pytest
    reports as an error of the test.
    """
    if "dash_duo" in request.fixturenames:
        zarr.core.sync._get_loop()  # noqa: SLF001 - zarr has no public way to start it
    yield
    if "dash_duo" in request.fixturenames:
        zarr.core.sync.cleanup_resources()


AREAS = [
    # area id, level, code, name, parent
    ("district:a", "district", "a", "Alppila", ""),
    ("district:b", "district", "b", "Bulevardi", ""),
    ("hex:h1", "hex", "h1", "Hex 1", "district:a"),
    ("hex:h2", "hex", "h2", "Hex 2", "district:a"),
    ("hex:h3", "hex", "h3", "Hex 3", "district:b"),
    ("postcode:00100", "postcode", "00100", "00100 Helsinki", ""),
]
MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")
SEGMENTS = ["business", "consumer"]
PRECISIONS = ["rooftop", "interpolated", "street", "postcode", "locality", "none"]
CHANNELS = ["store", "web"]
BRANCHES = ["B01", "none"]


def small_cube() -> xr.Dataset:
    """A cube following docs/architecture.md: hex h1 and h2 make district a, h3 makes b."""
    ids = [a[0] for a in AREAS]
    # Hex values; districts are the sums of their hexes, postcode the region total.
    hex_rev = {"h1": 10.0, "h2": 30.0, "h3": 100.0}
    months = np.arange(1, len(MONTHS) + 1, dtype=float)
    seg = np.array([1.0, 3.0])

    def per_area(hexes: dict[str, float]) -> np.ndarray:
        base = {
            "district:a": hexes["h1"] + hexes["h2"],
            "district:b": hexes["h3"],
            "hex:h1": hexes["h1"],
            "hex:h2": hexes["h2"],
            "hex:h3": hexes["h3"],
            "postcode:00100": sum(hexes.values()),
        }
        return np.array([base[i] for i in ids])

    def cube3(hexes: dict[str, float]) -> np.ndarray:
        return per_area(hexes)[:, None, None] * months[None, :, None] * seg[None, None, :]

    data = {
        "customers": cube3({"h1": 2.0, "h2": 4.0, "h3": 6.0}),
        "active": cube3({"h1": 1.0, "h2": 3.0, "h3": 5.0}),
        "new": cube3({"h1": 1.0, "h2": 1.0, "h3": 1.0}),
        "churned": cube3({"h1": 0.0, "h2": 1.0, "h3": 0.0}),
        "revenue": cube3(hex_rev),
        "orders": cube3({"h1": 1.0, "h2": 2.0, "h3": 3.0}),
    }
    dims3 = ("area", "month", "segment")
    ds = xr.Dataset(
        {name: (dims3, values) for name, values in data.items()},
        coords={
            "area": ids,
            "month": MONTHS.to_numpy(),
            "segment": SEGMENTS,
            "level": ("area", [a[1] for a in AREAS]),
            "code": ("area", [a[2] for a in AREAS]),
            "name": ("area", [a[3] for a in AREAS]),
            "parent": ("area", [a[4] for a in AREAS]),
        },
    )
    ds["leads"] = ("area", per_area({"h1": 1.0, "h2": 2.0, "h3": 3.0}))
    # Customers by geocode precision: h1 has 1 of 5 placed approximately (street), h2 2 of 4
    # (postcode, locality), h3 none of 5. Unplaced customers stand in no area.
    by_precision = {"h1": [3, 1, 1, 0, 0, 0], "h2": [2, 0, 0, 1, 1, 0], "h3": [5, 0, 0, 0, 0, 0]}
    counts = [per_area({h: float(c[i]) for h, c in by_precision.items()}) for i in range(6)]
    ds = ds.assign_coords(precision=PRECISIONS)
    ds["customers_by_precision"] = (("area", "precision"), np.stack(counts, axis=1))
    # Revenue and orders by channel (web a quarter, store three quarters) and by branch
    # (B01 and no branch, half each): each sums to revenue and orders over its dimension.
    ds = ds.assign_coords(
        channel=CHANNELS, branch=BRANCHES, branch_name=("branch", ["Central", "No branch"])
    )
    for measure in ("revenue", "orders"):
        whole = ds[measure].to_numpy()
        split = {"channel": (0.75, 0.25), "branch": (0.5, 0.5)}
        for dim, shares in split.items():
            ds[f"{measure}_by_{dim}"] = (
                (*dims3, dim),
                np.stack([whole * share for share in shares], axis=-1),
            )
    ds["population"] = ("area", per_area({"h1": 100.0, "h2": 200.0, "h3": 300.0}))
    ds["households"] = ("area", per_area({"h1": 50.0, "h2": 100.0, "h3": 150.0}))
    ds.attrs["levels"] = json.dumps(
        [
            {"level": "district", "parent_level": None, "rank": 1},
            {"level": "postcode", "parent_level": None, "rank": 1},
            {"level": "hex", "parent_level": "district", "rank": 2},
        ]
    )
    return ds


@pytest.fixture
def cube() -> xr.Dataset:
    return small_cube()


def _square(x0: float, y0: float, size: float = 0.01) -> str:
    x1, y1 = x0 + size, y0 + size
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


@pytest.fixture
def area_conn(conn: Connection) -> Connection:
    """``conn`` with the small cube's levels and areas inserted (rolled back after the test)."""
    conn.execute(
        text(
            "INSERT INTO gcrm.area_levels (level, parent_level, rank, label, derivation) VALUES "
            "('district', NULL, 1, 'District', 'test'), ('hex', 'district', 2, 'Hexagon', 'test'),"
            " ('postcode', NULL, 1, 'Postcode', 'test')"
        )
    )
    squares = {
        "a": (24.93, 60.16),
        "b": (24.95, 60.16),
        "h1": (24.93, 60.16),
        "h2": (24.935, 60.16),
        "h3": (24.95, 60.16),
        "00100": (24.93, 60.16),
    }
    for _, level, code, name, parent in AREAS:
        size = 0.005 if level == "hex" else 0.02 if level == "postcode" else 0.01
        conn.execute(
            text(
                "INSERT INTO gcrm.areas (level, code, name, parent_code, derivation, geom) "
                "VALUES (:level, :code, :name, :parent, 'test', ST_GeomFromEWKT(:geom))"
            ),
            {
                "level": level,
                "code": code,
                "name": name,
                "parent": parent.split(":")[-1] or None,
                "geom": _square(*squares[code], size=size),
            },
        )
    return conn


#: The campaign :func:`demo_campaign` adds to the demo database (removed after the module).
DEMO_CAMPAIGN = "browser-test campaign"


@pytest.fixture(scope="module")
def demo_campaign(demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:  # type: ignore[no-untyped-def]
    """A customers campaign on the demo database (every active customer, a fifth held out),
    with responses imported through gcrm.campaigns: every third target and every sixth
    control responded, in the order of their ids. Committed (the dashboard's server reads
    it), deleted at the end with its members and responses."""
    folder = tmp_path_factory.mktemp("demo-campaign")
    with demo.engine.begin() as conn:
        made = create_campaign(
            conn,
            name=DEMO_CAMPAIGN,
            kind="customers",
            status=["active"],
            control_share=0.2,
            seed=7,
            starts_on=date(2025, 1, 1),
        )
        members = conn.execute(
            text(
                "SELECT external_id, member_group FROM gcrm.campaign_members "
                "WHERE campaign_id = :id ORDER BY external_id"
            ),
            {"id": made.id},
        ).all()
        targets = [m.external_id for m in members if m.member_group == "target"]
        controls = [m.external_id for m in members if m.member_group == "control"]
        responded = targets[::3] + controls[::6]
        replies = folder / "responses.csv"
        pd.DataFrame(
            {"external_id": responded, "responded_at": "2025-02-01", "outcome": "ordered"}
        ).to_csv(replies, index=False)
        import_responses(conn, made.id, replies)
    try:
        yield made
    finally:
        with demo.engine.begin() as conn:
            conn.execute(text("DELETE FROM gcrm.campaigns WHERE id = :id"), {"id": made.id})
