"""The campaign's target list for the mailing tool: the one way its personal data leaves.

Only the target group is written (the control group is never contacted), with the contacts
the mailing tool needs, in rank order. Every export is recorded in ``gcrm.audit_log``: who
(the principal of the context, or ``cli:<user>``), when, the file, how many rows and which
fields, and the campaign.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, text

from gcrm.access import record_access
from gcrm.campaigns.selection import read_campaign
from gcrm.io import TABLE_FORMATS, check_suffix, write_frame
from gcrm.store import load_queries

__all__ = ["CONTACT_FIELDS", "EXPORT_ACTION", "export_campaign"]

_SQL = load_queries(__package__, "campaigns.sql")

#: The columns of the export, per kind of campaign (leads have no e-mail address).
CONTACT_FIELDS = {
    "customers": (
        "rank", "external_id", "name", "email", "phone", "street", "housenumber", "postcode",
        "city",
    ),
    "leads": (
        "rank", "external_id", "name", "phone", "website", "street", "housenumber", "postcode",
        "city",
    ),
}  # fmt: skip
#: The action of the export's audit records.
EXPORT_ACTION = "campaigns export"


def export_campaign(conn: Connection, campaign: str | int, *, path: Path) -> Path:
    """Write the target group's contacts of ``campaign`` to ``path`` and log the export.

    Parameters
    ----------
    conn
        A connection to the gcrm database. The members are those the caller's scope shows;
        the audit record and the campaign's status (``exported``) are written on ``conn``'s
        transaction: commit it.
    campaign
        The campaign's id or name.
    path
        ``.csv`` or ``.xlsx`` (bold, frozen header); parent folders are created, an existing
        file is replaced.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    NotFoundError
        When there is no such campaign.
    ValidationError
        When the suffix is not ``.csv`` or ``.xlsx``.

    Examples
    --------
    >>> export_campaign(conn, "smb-winback", path=Path("mailing.xlsx"))  # doctest: +SKIP
    """
    check_suffix(Path(path), TABLE_FORMATS)
    found = read_campaign(conn, campaign)
    fields = list(CONTACT_FIELDS[found.kind])
    result = conn.execute(text(_SQL[f"export_{found.kind}"]), {"campaign_id": found.id})
    frame = pd.DataFrame(result.fetchall(), columns=fields)
    written = write_frame(frame, Path(path), layer="targets", formats=TABLE_FORMATS)
    record_access(
        conn,
        action=EXPORT_ACTION,
        rows=len(frame),
        fields=fields,
        target=str(written),
        detail={"campaign": found.name, "campaign_id": found.id, "kind": found.kind},
    )
    conn.execute(text(_SQL["mark_exported"]), {"campaign_id": found.id})
    return written
