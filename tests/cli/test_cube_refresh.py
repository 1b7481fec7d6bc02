"""Imports keep a built cube current: `gcrm import orders` refreshes the months it changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gcrm.core import Settings
from gcrm.cube import cube_mtime, load_cube
from gcrm.store import create_db_engine
from tests.cli.test_cli import run_gcrm


def test_import_orders_refreshes_the_months_it_changed(seeded: Settings, tmp_path: Path) -> None:
    engine = create_db_engine(seeded.database_url)
    try:
        with engine.connect() as conn:
            customer, day = conn.execute(
                text(
                    "SELECT customer_external_id, order_date FROM gcrm.orders "
                    "ORDER BY order_date DESC, order_id LIMIT 1"
                )
            ).one()
    finally:
        engine.dispose()
    before = float(load_cube(seeded.cube_path)["revenue"].sum())
    orders = tmp_path / "orders.csv"
    orders.write_text(
        f"order_id,customer_id,order_date,amount\nREFRESH-1,{customer},{day},100.00\n",
        encoding="utf-8",
    )
    out = run_gcrm(seeded, "import", "orders", str(orders)).stdout
    assert f"cube refreshed: orders of 1 month(s) ({day:%Y-%m})" in out, out
    assert float(load_cube(seeded.cube_path)["revenue"].sum()) > before
    written = cube_mtime(seeded.cube_path)
    again = run_gcrm(seeded, "import", "orders", str(orders)).stdout
    assert "cube refreshed: nothing had changed" in again, again
    # Not written again: the users' scope cubes, rebuilt when older than it, stay as they are.
    assert cube_mtime(seeded.cube_path) == written
