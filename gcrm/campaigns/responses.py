"""Responses to a campaign, imported back from the mailing tool or the CRM.

Validated at the boundary like every importer (:mod:`gcrm.ingest`): a bad row goes to the
rejects file with its row number and the reason, the good rows load in the caller's
transaction, rows read = loaded + rejected, and importing the same file again changes
nothing (a response is keyed by campaign, member, day and outcome; a changed value updates
it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gcrm.campaigns.selection import read_campaign
from gcrm.ingest import ImportReport, parse_dates
from gcrm.ingest.readers import read_records
from gcrm.ingest.runs import load_checked_rows
from gcrm.ingest.validate import (
    RowChecks,
    check_text_fields,
    reject_empty_rows,
    require_columns,
    shown,
    storable,
)
from gcrm.store import load_queries

__all__ = ["DEFAULT_OUTCOME", "RESPONSE_ALIASES", "import_responses"]

_SQL = load_queries(__package__, "campaigns.sql")

#: The outcome of a row that names none (a list of who responded).
DEFAULT_OUTCOME = "responded"
#: Column names a mailing tool or CRM may use for each field, tried in order.
RESPONSE_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "customer_id", "lead_id"),
    "responded_at": ("responded_at", "date", "response_date"),
    "outcome": ("outcome", "response"),
    "value": ("value", "amount"),
}
#: Most a response's value may be (numeric(12, 2)).
MAX_VALUE = 10**10
_OUTCOME_LIMIT = 100


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the first alias present of each field to the field's name."""
    renames: dict[str, str] = {}
    for name, aliases in RESPONSE_ALIASES.items():
        found = next((a for a in aliases if a in frame.columns), None)
        if found is not None and found != name and name not in frame.columns:
            renames[found] = name
    return frame.rename(columns=renames)


def _members(conn: Connection, campaign_id: int, ids: pd.Series) -> set[str]:
    wanted = np.unique(ids[(ids != "") & storable(ids)].to_numpy(str)).tolist()
    rows = conn.execute(text(_SQL["members_of"]), {"campaign_id": campaign_id, "ids": wanted})
    return {r[0] for r in rows}


def import_responses(
    conn: Connection, campaign: str | int, path: Path, *, rejects_path: Path | None = None
) -> ImportReport:
    """Validate and load the responses to ``campaign`` in ``path`` (CSV or XLSX).

    Parameters
    ----------
    conn
        A connection to the gcrm database (the owner's: responses are written on its
        transaction; commit it).
    campaign
        The campaign's id or name.
    path
        One row per response: ``external_id`` (or ``id``, ``customer_id``, ``lead_id``: the
        member, target or control), ``responded_at`` (or ``date``, ``response_date``: ISO or
        day-first), optional ``outcome`` (a word such as ``clicked`` or ``ordered``; empty:
        ``responded``) and ``value`` (a non-negative amount).
    rejects_path
        Where the rejected rows go, with ``row`` and ``reason`` [default:
        ``<file>.rejects.csv`` beside the file]; written on every run.

    Returns
    -------
    ImportReport
        Rows read, inserted, updated, unchanged, rejected.

    Raises
    ------
    NotFoundError
        When there is no such campaign.
    ValidationError
        When the file cannot be read or lacks ``external_id`` or ``responded_at``.
    """
    path = Path(path)
    found = read_campaign(conn, campaign)
    source = f"responses file {str(path)!r}"
    frame = _named(read_records(path, argument="responses file"))
    require_columns(
        frame,
        ("external_id", "responded_at"),
        source=source,
        hint="Name the member's id column external_id and the date column responded_at.",
    )
    for column in ("outcome", "value"):
        if column not in frame:
            frame[column] = ""
    for column in RESPONSE_ALIASES:
        frame[column] = frame[column].str.strip()
    frame["outcome"] = frame["outcome"].str.lower().replace("", DEFAULT_OUTCOME)
    checks = RowChecks(frame)
    reject_empty_rows(frame, checks)
    check_text_fields(frame, checks, ("external_id",))
    checks.reject(frame["external_id"] == "", "external_id is empty")
    checks.reject(
        frame["outcome"].str.len() > _OUTCOME_LIMIT,
        f"outcome is longer than {_OUTCOME_LIMIT} characters; use a short word such as 'ordered'",
    )
    checks.reject(~storable(frame["outcome"]), "outcome holds a NUL or broken character")
    members = _members(conn, found.id, frame["external_id"])
    checks.reject(
        ~frame["external_id"].isin(members),
        "external_id "
        + shown(frame["external_id"])
        + f" is not a member of campaign {found.name!r}; check the id (see `gcrm campaigns export`)",
    )
    date = parse_dates(frame["responded_at"])
    checks.reject(
        date.isna(),
        "responded_at "
        + shown(frame["responded_at"])
        + " is not a date; use 2025-03-31 or 31.3.2025",
    )
    checks.reject(
        date < pd.Timestamp(found.starts_on),
        f"responded_at is before the campaign started ({found.starts_on}); check the date or the campaign",
    )
    value = pd.to_numeric(frame["value"].str.replace(",", ".", regex=False), errors="coerce").round(
        2
    )
    given = frame["value"] != ""
    checks.reject(given & value.isna(), "value " + shown(frame["value"]) + " is not a number")
    checks.reject(given & (value < 0), "value is negative")
    checks.reject(
        given & (value >= MAX_VALUE), f"value is too large; at most {MAX_VALUE - 0.01:,.2f}"
    )
    key = pd.DataFrame({"id": frame["external_id"], "day": date, "outcome": frame["outcome"]})
    checks.reject(
        key.duplicated(keep="first"),
        "the same member, date and outcome as an earlier row; remove the duplicate",
    )
    ok = checks.ok
    good = pd.DataFrame(
        {
            "campaign_id": np.int32(found.id),
            "external_id": frame["external_id"],
            "responded_at": date.dt.date,
            "outcome": frame["outcome"],
            "value": value.where(given),
        }
    ).loc[ok]
    return load_checked_rows(
        conn,
        good,
        kind="campaign responses",
        table="gcrm.campaign_responses",
        key=["campaign_id", "external_id", "responded_at", "outcome"],
        path=path,
        rows_read=len(frame),
        checks=checks,
        rejects_path=rejects_path,
        details={"campaign": found.name},
    )
