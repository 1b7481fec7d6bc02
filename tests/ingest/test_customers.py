"""Importing a messy customer export: exactly the expected rows load, the bad ones are
rejected with row number and reason, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from gcrm.core import ValidationError
from gcrm.ingest import import_customers, import_orders

HEADER = "customer_id,name,email,phone,street,house_number,postcode,city,segment,status,signup_date,churn_date\n"
# (row in file, line): row numbers are what a spreadsheet shows (header = 1).
ROWS = [
    "C1,Aino Virtanen,a@example.fi,,Mannerheimintie,10,00100,Helsinki,consumer,active,2023-01-05,",
    "C2,Eero Korhonen,,,MANNERHEIMINTIE,12,,HELSINKI,Consumer,ACTIVE,2023-02-01,",
    "C3,Liisa Mäkinen,,,Fabianink.,5,00130,helsinki,SMB,Churned,2022-06-01,2024-03-31",
    "C4,Ville Nieminen,,,Bulevadri,2,00120,Helsinki,corporate,active,2021-01-01,",
    "C5,Sanna Laine,,,Tuntematonkatu,99,00170,Helsinki,consumer,active,2024-01-01,",
    "C6,Jussi Heikkinen,,,,,,Helsinki,consumer,active,2024-02-01,",
    "C7,Maija Koskinen,,,,,,,consumer,active,2024-03-01,",
    ",No Id,,,Bulevardi,2,00120,Helsinki,consumer,active,2024-01-01,",
    "C9,Bad Date,,,Bulevardi,2,00120,Helsinki,consumer,active,31.02.2024,",
    "C10,Bad Status,,,Bulevardi,2,00120,Helsinki,consumer,maybe,2024-01-01,",
    "C11,Churn Before,,,Bulevardi,2,00120,Helsinki,consumer,churned,2024-05-01,2024-01-01",
    "C1,Duplicate,,,Bulevardi,2,00120,Helsinki,consumer,active,2024-01-01,",
    "C13,Pekka Yrjö,,,  Yrjönkatu ,3b,00120,Helsinki,smb,active,3.4.2023,",
]


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "crm.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _customers(conn: Connection) -> pd.DataFrame:
    result = conn.execute(
        text(
            "SELECT external_id, segment, status, geocode_precision, geocode_source, "
            "ST_X(geom) AS lon, ST_Y(geom) AS lat, updated_at FROM gcrm.customers ORDER BY external_id"
        )
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys())).set_index("external_id")


def test_messy_file_loads_good_rows_and_rejects_bad(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, ROWS)
    report = import_customers(conn, path)

    loaded = _customers(conn)
    assert sorted(loaded.index) == sorted(["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C13"])
    assert report.inserted == 8 and report.rejected == 5 and report.rows_read == 13

    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    by_row = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    assert set(by_row) == {9, 10, 11, 12, 13}
    assert by_row[9] == "customer_id is empty"
    assert "'31.02.2024' is not a date" in by_row[10]
    assert "status 'maybe' unknown" in by_row[11]
    assert by_row[12] == "churn_date is before signup_date"
    assert by_row[13] == "duplicate customer_id C1 (first at row 2)"

    precision = loaded["geocode_precision"].to_dict()
    assert precision["C1"] == "rooftop"  # exact
    assert precision["C2"] == "rooftop"  # upper case, no postcode
    assert precision["C3"] == "rooftop"  # abbreviation Fabianink.
    assert precision["C4"] == "rooftop" and loaded.loc["C4", "geocode_source"] == "reference:fuzzy"
    assert precision["C5"] == "postcode"  # unknown street, known postcode
    assert precision["C6"] == "locality"
    assert precision["C7"] == "none" and pd.isna(loaded.loc["C7", "lon"])
    assert precision["C13"] == "rooftop"  # padding, "3b" vs "3 B", day-first date
    assert loaded.loc["C1", ["lon", "lat"]].tolist() == pytest.approx([24.9402, 60.1692])
    assert loaded.loc["C3", "segment"] == "smb" and loaded.loc["C3", "status"] == "churned"


def test_second_run_changes_nothing(conn: Connection, reference: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, ROWS)
    import_customers(conn, path)
    before = _customers(conn)
    again = import_customers(conn, path)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 8, 5)
    pd.testing.assert_frame_equal(_customers(conn), before)


def test_changed_row_updates_only_that_customer(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    import_customers(conn, _write(tmp_path, ROWS))
    changed = [
        r.replace("Mannerheimintie,10,", "Mannerheimintie,12,") if r.startswith("C1,Aino") else r
        for r in ROWS
    ]
    report = import_customers(conn, _write(tmp_path, changed))
    assert (report.inserted, report.updated) == (0, 1)
    lon, lat = conn.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gcrm.customers WHERE external_id = 'C1'")
    ).one()
    assert (lon, lat) == pytest.approx((24.9398, 60.1697))


def test_missing_column_is_an_error_naming_it(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(HEADER.replace("postcode", "zip") + ROWS[0] + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"\['postcode'\] missing"):
        import_customers(conn, path)
    assert conn.execute(text("SELECT count(*) FROM gcrm.customers")).scalar() == 0


def test_xlsx_export_is_read_like_csv(conn: Connection, reference: Path, tmp_path: Path) -> None:
    csv = _write(tmp_path, ROWS[:3])
    xlsx = tmp_path / "crm.xlsx"
    pd.read_csv(csv, dtype=str, keep_default_na=False).to_excel(xlsx, index=False)
    report = import_customers(conn, xlsx)
    assert report.inserted == 3 and report.rejected == 0


@pytest.mark.parametrize(
    ("encoding", "separator"), [("cp1252", ";"), ("utf-8-sig", "\t"), ("utf-8", ",")]
)
def test_excel_style_exports_read_like_utf8_csv(
    conn: Connection, reference: Path, tmp_path: Path, encoding: str, separator: str
) -> None:
    """What Excel writes in Finland, Sweden and Germany (cp1252, semicolons), tab-separated
    text and plain UTF-8 CSV load the same rows with the same names (ä, ö kept)."""
    path = tmp_path / "crm.csv"
    lines = [HEADER.strip(), *ROWS]
    path.write_bytes("\r\n".join(line.replace(",", separator) for line in lines).encode(encoding))
    report = import_customers(conn, path)
    assert (report.rows_read, report.inserted, report.rejected) == (13, 8, 5)
    names = dict(conn.execute(text("SELECT external_id, name FROM gcrm.customers")).all())
    assert names["C3"] == "Liisa Mäkinen" and names["C13"] == "Pekka Yrjö"


def test_workbook_date_cells_are_dates(conn: Connection, reference: Path, tmp_path: Path) -> None:
    """A date cell of a workbook reads as '2023-01-05 00:00:00'; it is that date."""
    frame = pd.read_csv(_write(tmp_path, ROWS[:3]), dtype=str, keep_default_na=False)
    for column in ("signup_date", "churn_date"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce", format="mixed")
    xlsx = tmp_path / "crm.xlsx"
    frame.to_excel(xlsx, index=False)
    report = import_customers(conn, xlsx)
    assert (report.inserted, report.rejected) == (3, 0)
    dates = dict(conn.execute(text("SELECT external_id, churn_date FROM gcrm.customers")).all())
    assert str(dates["C3"]) == "2024-03-31" and dates["C1"] is None


def test_orders_rounded_over_the_column_are_rejected_not_an_error(
    conn: Connection, reference: Path, tmp_path: Path
) -> None:
    """numeric(12, 2): 9999999999.99 fits; 9999999999.999 rounds to ten billion, which does
    not, so it is rejected with the row like any other bad amount."""
    import_customers(conn, _write(tmp_path, ROWS[:1]))
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,order_date,amount\n"
        "O1,C1,2024-01-02,9999999999.99\nO2,C1,2024-01-02,9999999999.999\n"
        "O3,C1,2024-01-02,inf\nO4,C1,2024-01-02,\n",
        encoding="utf-8",
    )
    report = import_orders(conn, orders)
    assert (report.inserted, report.rejected) == (1, 3)
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    assert rejects["reason"].tolist() == [
        "amount '9999999999.999' is too large; at most 9,999,999,999.99",
        "amount 'inf' is not a number",
        "amount '' is not a number",
    ]
