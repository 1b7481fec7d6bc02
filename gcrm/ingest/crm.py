"""Importing CRM exports: customers (geocoded on the way in) and their orders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gcrm.core import NotFoundError
from gcrm.geocode import geocode_frame, parse_addresses
from gcrm.ingest.codes import normalise_codes
from gcrm.ingest.mapping import ColumnMapping, apply_mapping, as_column_mapping
from gcrm.ingest.readers import read_records
from gcrm.ingest.runs import load_checked_rows
from gcrm.ingest.validate import (
    ImportReport,
    RowChecks,
    check_text_fields,
    reject_empty_rows,
    require_columns,
    shown,
    storable,
)
from gcrm.store import to_ewkb_hex

__all__ = [
    "STATUS_ALIASES",
    "customer_locations",
    "delete_customer",
    "import_customers",
    "import_orders",
    "parse_dates",
]

#: What CRM exports write for a customer's status, and what gcrm stores.
STATUS_ALIASES = {
    "active": "active",
    "current": "active",
    "customer": "active",
    "churned": "churned",
    "inactive": "churned",
    "lost": "churned",
    "cancelled": "churned",
    "canceled": "churned",
}
CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "street",
    "postcode",
    "city",
    "segment",
    "status",
    "signup_date",
)
#: Without ``house_number``, the number is read from ``street`` ("Mannerheimintie 10", as
#: CRMs keep it).
OPTIONAL_CUSTOMER_COLUMNS = ("house_number", "email", "phone", "churn_date")
#: A business customer's category (lower case; empty for none, as leads') and the lead it was
#: won from; written only when the file has the column, so an export without them keeps
#: what an earlier import stored.
CUSTOMER_ORIGIN_COLUMNS = ("category_group", "category", "lead_external_id")
#: How a staged category is stored: none is an empty one, as a lead's (COPY loads "" as NULL).
_CATEGORY_EXPRESSIONS = {
    "category_group": "coalesce(s.category_group, '')",
    "category": "coalesce(s.category, '')",
}
#: An ISO date followed by a time of day.
_ISO_DATETIME = r"^(\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}"
ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "amount")
OPTIONAL_ORDER_COLUMNS = ("channel", "branch_code")
#: numeric(12, 2): the largest amount gcrm.orders holds is just under ten billion.
MAX_AMOUNT = 10**10


def parse_dates(values: pd.Series, *, formats: Sequence[str] = ()) -> pd.Series:
    """ISO dates (2024-03-31), dates in ``formats``, or Finnish/European day-first ones
    (31.3.2024); else NaT.

    An ISO date with a time of day (``2024-03-31 00:00:00``, what a date cell of an Excel
    workbook reads as; ``2024-03-31 14:02`` as HubSpot and Odoo write it;
    ``2024-03-31T12:00:00.000Z``) is that date, as is a date of ``formats`` with a time.
    ``formats`` (strftime codes, e.g. ``"%m/%d/%Y"``) come from a mapping or preset, and are
    tried in order.
    """
    s = values.astype("string").fillna("").str.strip()
    dates = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    for fmt in (*formats, "%d.%m.%Y"):
        dates = dates.fillna(pd.to_datetime(s, format=fmt, errors="coerce").dt.normalize())
    day = s.str.extract(_ISO_DATETIME, expand=False)
    return dates.fillna(pd.to_datetime(day, format="%Y-%m-%d", errors="coerce"))


def _strip(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for c in columns:
        if c in frame:
            frame[c] = frame[c].str.strip()


def _split_street(frame: pd.DataFrame) -> pd.DataFrame:
    """``house_number`` read from ``street`` when the file has no such column."""
    if "house_number" not in frame.columns and "housenumber" in frame.columns:
        return frame.rename(columns={"housenumber": "house_number"})
    if "house_number" in frame.columns:
        return frame
    parsed = parse_addresses(frame["street"].where(frame["street"] != "", None))
    has_number = parsed["housenumber"].notna()
    frame["house_number"] = parsed["housenumber"].fillna("").astype(object)
    frame["street"] = frame["street"].where(~has_number, parsed["street"].fillna(""))
    return frame


def _validate_customers(
    frame: pd.DataFrame, mapping: ColumnMapping
) -> tuple[RowChecks, pd.DataFrame]:
    checks = RowChecks(frame)
    reject_empty_rows(frame, checks)
    check_text_fields(
        frame, checks, CUSTOMER_COLUMNS + OPTIONAL_CUSTOMER_COLUMNS + CUSTOMER_ORIGIN_COLUMNS
    )
    cid = frame["customer_id"]
    checks.reject(cid == "", "customer_id is empty")
    checks.reject(frame["name"] == "", "name is empty")
    first_row = frame.groupby("customer_id")["_row"].transform("min")
    dup = cid.duplicated(keep="first") & (cid != "")
    checks.reject(
        dup, "duplicate customer_id " + cid + " (first at row " + first_row.astype(str) + ")"
    )
    status = frame["status"].str.lower().map(STATUS_ALIASES)
    expected = sorted({*mapping.values.get("status", {}), *STATUS_ALIASES})
    checks.reject(
        status.isna(),
        "status " + shown(frame["status"]) + f" unknown; expected one of {expected}",
    )
    segment = frame["segment"].str.lower().str.strip()
    checks.reject(segment == "", "segment is empty")
    formats = mapping.date_formats
    signup = parse_dates(frame["signup_date"], formats=formats)
    checks.reject(
        signup.isna(),
        "signup_date " + shown(frame["signup_date"]) + f" is not a date; use {_date_hint(formats)}",
    )
    churn_raw = frame["churn_date"] if "churn_date" in frame else pd.Series("", index=frame.index)
    if mapping.churn_date_only_when_churned:
        churn_raw = churn_raw.where(status == "churned", "")
    churn = parse_dates(churn_raw, formats=formats)
    checks.reject(
        (churn_raw != "") & churn.isna(),
        "churn_date "
        + shown(churn_raw)
        + f" is not a date; use {_date_hint(formats)} or leave it empty",
    )
    checks.reject(churn < signup, "churn_date is before signup_date")
    checks.reject((status == "churned") & churn.isna(), "status is churned but churn_date is empty")
    checks.reject((status == "active") & churn.notna(), "status is active but churn_date is set")
    clean = pd.DataFrame(
        {
            "external_id": cid,
            "name": frame["name"],
            "email": frame.get("email"),
            "phone": frame.get("phone"),
            "street": frame["street"],
            "housenumber": frame["house_number"],
            "postcode": frame["postcode"],
            "city": frame["city"],
            "segment": segment,
            "status": status,
            "signup_date": signup.dt.date,
            "churn_date": churn.dt.date,
        },
        index=frame.index,
    )
    for column in CUSTOMER_ORIGIN_COLUMNS:
        if column in frame.columns:
            values = frame[column].astype("string").fillna("")
            clean[column] = values if column == "lead_external_id" else values.str.lower()
    return checks, clean


def customer_locations(geo: pd.DataFrame) -> pd.DataFrame:
    """The stored columns of a customer's location from :func:`gcrm.geocode.geocode_frame`'s
    results: ``address_norm``, ``geom`` (hex EWKB, None where unplaced), ``geocode_precision``,
    ``geocode_score``, ``geocode_source`` and ``matched_address``, on ``geo``'s index."""
    points = shapely.points(geo["lon"].to_numpy(float), geo["lat"].to_numpy(float))
    points[geo["lon"].isna().to_numpy()] = None
    return pd.DataFrame(
        {
            "address_norm": (
                (
                    geo["street_norm"].fillna("") + " " + geo["housenumber_norm"].fillna("")
                ).str.strip()
                + ", "
                + geo["postcode_norm"].fillna("")
                + " "
                + geo["city_norm"].fillna("")
            ),
            "geom": to_ewkb_hex(points),
            "geocode_precision": geo["precision"],
            "geocode_score": geo["score"],
            "geocode_source": geo["source"],
            "matched_address": geo["matched_address"],
        },
        index=geo.index,
    )


def _date_hint(formats: Sequence[str]) -> str:
    return " or ".join(["YYYY-MM-DD", *formats])


def import_customers(
    conn: Connection,
    path: Path,
    *,
    rejects_path: Path | None = None,
    mapping: ColumnMapping | Mapping[str, str] | None = None,
) -> ImportReport:
    """Validate, normalise, geocode and upsert a customer export (CSV or XLSX).

    Runs on the connection's transaction: the load lands whole or not at all. Invalid rows go
    to ``rejects_path`` (default ``<file>.rejects.csv``) with their row number and reason;
    valid rows are geocoded against ``gcrm.address_points`` and upserted by ``customer_id``,
    so a second run of the same file changes nothing. ``mapping`` (``--map``, ``--mapping``,
    ``--preset``) says which column holds which field, how statuses and dates are written,
    and the width of codes that lost their leading zeros (``customer_id``, ``postcode``).

    Raises
    ------
    ValidationError
        When the file is unreadable or a required column is missing.
    """
    path = Path(path)
    mapping = as_column_mapping(mapping)
    frame = apply_mapping(
        read_records(path, argument="customers file"),
        mapping,
        source=f"customers file {str(path)!r}",
    )
    require_columns(
        frame,
        CUSTOMER_COLUMNS,
        source=f"customers file {str(path)!r}",
        hint="Rename the columns in the export, e.g. 'zip' -> 'postcode', or name them with "
        "--map FIELD=COLUMN (or --preset for a CRM's export).",
    )
    _strip(frame, CUSTOMER_COLUMNS + OPTIONAL_CUSTOMER_COLUMNS + CUSTOMER_ORIGIN_COLUMNS)
    frame = normalise_codes(_split_street(frame), widths=mapping.widths)
    checks, clean = _validate_customers(frame, mapping)
    good = clean.loc[checks.ok].copy()

    geo = geocode_frame(conn, good)
    located = customer_locations(geo)
    good[list(located.columns)] = located
    good = good.replace({"": None})

    return load_checked_rows(
        conn,
        good,
        kind="customers",
        table="gcrm.customer_records",
        key=["external_id"],
        path=path,
        rows_read=len(frame),
        checks=checks,
        rejects_path=rejects_path,
        expressions=_CATEGORY_EXPRESSIONS,
        # A moved customer is enriched again by `gcrm enrich` (its enrichment row remembers
        # the location it was computed for).
        on_update="updated_at = now()",
        details={"geocoded by precision": geo["precision"].value_counts().to_dict()},
    )


def import_orders(
    conn: Connection,
    path: Path,
    *,
    rejects_path: Path | None = None,
    mapping: ColumnMapping | Mapping[str, str] | None = None,
) -> ImportReport:
    """Validate and upsert orders (CSV or XLSX) keyed by ``order_id``.

    Orders of customers that are not in ``gcrm.customers`` and unknown branch codes are
    rejected with their row number, like any other invalid row.
    """
    path = Path(path)
    mapping = as_column_mapping(mapping)
    frame = apply_mapping(
        read_records(path, argument="orders file"), mapping, source=f"orders file {str(path)!r}"
    )
    require_columns(frame, ORDER_COLUMNS, source=f"orders file {str(path)!r}")
    _strip(frame, ORDER_COLUMNS + OPTIONAL_ORDER_COLUMNS)
    frame = normalise_codes(frame, widths=mapping.widths)
    checks = RowChecks(frame)
    reject_empty_rows(frame, checks)
    check_text_fields(frame, checks, ORDER_COLUMNS + OPTIONAL_ORDER_COLUMNS)
    checks.reject(frame["order_id"] == "", "order_id is empty")
    checks.reject(frame["order_id"].duplicated(keep="first"), "duplicate order_id")
    date = parse_dates(frame["order_date"], formats=mapping.date_formats)
    checks.reject(
        date.isna(),
        "order_date "
        + shown(frame["order_date"])
        + f" is not a date; use {_date_hint(mapping.date_formats)}",
    )
    # Rounded as stored (numeric(12, 2)) before the range is checked.
    amount = pd.to_numeric(
        frame["amount"].str.replace(",", ".", regex=False), errors="coerce"
    ).round(2)
    checks.reject(
        ~np.isfinite(amount.to_numpy(float)),
        "amount " + shown(frame["amount"]) + " is not a number",
    )
    checks.reject(amount < 0, "amount is negative")
    checks.reject(
        amount >= MAX_AMOUNT,
        "amount " + shown(frame["amount"]) + f" is too large; at most {MAX_AMOUNT - 0.01:,.2f}",
    )
    known_customers = _existing(conn, "gcrm.customer_records", "external_id", frame["customer_id"])
    checks.reject(
        ~frame["customer_id"].isin(known_customers),
        "customer_id "
        + shown(frame["customer_id"])
        + " not found in gcrm.customers; import customers first",
    )
    branch = frame["branch_code"] if "branch_code" in frame else pd.Series("", index=frame.index)
    known_branches = _existing(conn, "gcrm.branches", "code", branch)
    checks.reject(
        (branch != "") & ~branch.isin(known_branches),
        "branch_code " + shown(branch) + " not found in gcrm.branches; import branches first",
    )
    ok = checks.ok
    good = (
        pd.DataFrame(
            {
                "order_id": frame["order_id"],
                "customer_external_id": frame["customer_id"],
                "order_date": date.dt.date,
                "amount": amount,
                "channel": frame["channel"].str.lower() if "channel" in frame else None,
                "branch_code": branch,
            }
        )
        .loc[ok]
        .replace({"": None})
    )
    return load_checked_rows(
        conn,
        good,
        kind="orders",
        table="gcrm.orders",
        key=["order_id"],
        path=path,
        rows_read=len(frame),
        checks=checks,
        rejects_path=rejects_path,
    )


def _existing(conn: Connection, table: str, column: str, values: pd.Series) -> set[str]:
    # Only values the database can hold are asked for (the others are rejected anyway).
    wanted = np.unique(values[(values != "") & storable(values)].to_numpy(str)).tolist()
    rows = conn.execute(
        text(f"SELECT {column} FROM {table} WHERE {column} = ANY(:v)"), {"v": wanted}
    )
    return {r[0] for r in rows}


def delete_customer(conn: Connection, external_id: str) -> dict[str, object]:
    """Remove a customer's record and orders; return the record as it was (its address is
    what other caches were keyed on) and how many orders went.

    Raises
    ------
    NotFoundError
        When there is no customer ``external_id``.
    """
    # Orders first: they reference the record.
    orders = conn.execute(
        text("DELETE FROM gcrm.orders WHERE customer_external_id = :id"), {"id": external_id}
    ).rowcount
    row = (
        conn.execute(
            text(
                "DELETE FROM gcrm.customer_records WHERE external_id = :id "
                "RETURNING external_id, street, housenumber, postcode, city"
            ),
            {"id": external_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        msg = f"customer {external_id!r} not found; check the id (the CRM's customer_id)"
        raise NotFoundError(msg)
    return {**dict(row), "orders": int(orders)}
