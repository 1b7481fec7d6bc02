"""Validation at the boundary: required columns, per-row checks, rejects files, reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from gcrm.core import ValidationError
from gcrm.ingest.mapping import ABSENT_COLUMNS
from gcrm.ingest.specs import field_limit

__all__ = [
    "ImportReport",
    "Reason",
    "RowChecks",
    "check_text_fields",
    "default_rejects_path",
    "reject_empty_rows",
    "require_columns",
    "shown",
    "storable",
    "write_rejects",
]

#: Characters PostgreSQL's text cannot hold (NUL) and lone surrogates, which are not Unicode
#: (what a broken UTF-16 or JSON escape leaves).
_UNSTORABLE = r"[\x00\ud800-\udfff]"
#: How much of a bad value a reason quotes.
_SHOWN = 40
#: How many columns a message lists.
_LISTED = 30


def shown(values: pd.Series, *, limit: int = _SHOWN) -> pd.Series:
    """Each value's ``repr``, cut to ``limit`` characters: what a reason quotes of a bad value."""
    text = values.astype("string").fillna("")
    cut = text.str.slice(0, limit) + np.where(text.str.len() > limit, "...", "")
    return cut.map(repr).astype(object)


def storable(values: pd.Series) -> pd.Series:
    """True where a text value holds no character PostgreSQL cannot store."""
    text = values.astype("string").fillna("")
    if getattr(text.dtype, "storage", None) == "pyarrow":
        # Arrow holds valid UTF-8 only, so no lone surrogate; a literal search for NUL runs
        # in Arrow (the regex would run in Python per value: 0.4 s per million).
        return ~text.str.contains("\x00", regex=False)
    return ~text.str.contains(_UNSTORABLE, regex=True)


def _listed(columns: Iterable[str]) -> str:
    names = [repr(c if len(c) <= _SHOWN else c[:_SHOWN] + "...") for c in columns]
    more = f", ... ({len(names) - _LISTED} more)" if len(names) > _LISTED else ""
    return "[" + ", ".join(names[:_LISTED]) + more + "]"


def require_columns(
    frame: pd.DataFrame, required: Iterable[str], *, source: str, hint: str = ""
) -> None:
    """Raise when a column is missing, naming every missing and every present column."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        present = sorted(
            str(c) for c in frame.columns if not str(c).startswith("_") and c != "geometry"
        )
        msg = f"{source}: column(s) {missing} missing; found {_listed(present)}."
        # A preset reads a field from a column this file does not have: say which.
        absent = frame.attrs.get(ABSENT_COLUMNS, {})
        read_from = [absent[c] for c in missing if c in absent]
        if read_from:
            msg += f" ({'; '.join(read_from)}: add the column to the export.)"
        if hint:
            msg += f" {hint}"
        raise ValidationError(msg)


#: Why rows are rejected: one text for all, a text per row (a Series on the frame's index),
#: or a function given the rows to explain (a boolean Series) that returns their texts. A
#: function costs nothing when no row is bad: a reason quoting each value (:func:`shown`)
#: takes a second per million rows to build.
Reason: TypeAlias = str | pd.Series | Callable[[pd.Series], pd.Series]


class RowChecks:
    """Collects reasons per row; a row with any reason is rejected, the others load.

    Checks are vectorised: each takes a boolean mask of bad rows and one :data:`Reason`.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._reasons = np.full(len(frame), "", dtype=object)
        self._open = np.ones(len(frame), dtype=bool)  # rows without a reason yet

    def reject(self, bad: pd.Series | np.ndarray, reason: Reason) -> None:
        # The first reason wins: it is what the user has to fix first.
        todo = np.asarray(bad, dtype=bool) & self._open
        if not todo.any():
            return
        if callable(reason):
            reason = reason(pd.Series(todo, index=self.frame.index))
        if isinstance(reason, pd.Series):
            index = self.frame.index
            aligned = reason if reason.index.equals(index) else reason.reindex(index)
            self._reasons[todo] = aligned.to_numpy(dtype=object)[todo]
        else:
            self._reasons[todo] = reason
        self._open &= ~todo

    @property
    def ok(self) -> pd.Series:
        return pd.Series(self._open, index=self.frame.index)

    def rejects(self) -> pd.DataFrame:
        """The rejected rows as read (private columns and geometry left out), with ``row`` and
        ``reason`` first."""
        bad = ~self._open
        private = [c for c in self.frame.columns if str(c).startswith("_") and c != "_row"]
        out = pd.DataFrame(self.frame.loc[bad].drop(columns=private))
        if "geometry" in out:
            out = pd.DataFrame(out.drop(columns="geometry"))
        out.insert(0, "reason", self._reasons[bad])
        out = out.rename(columns={"_row": "row"})
        cols = ["row", "reason"] + [c for c in out.columns if c not in ("row", "reason")]
        return out[cols]


def reject_empty_rows(frame: pd.DataFrame, checks: RowChecks) -> None:
    """Reject rows with no value in any column (and no geometry): an empty line of the file."""
    empty = pd.Series(True, index=frame.index)
    for col in frame.columns:
        if col == "geometry":
            empty &= frame[col].isna()
        elif not str(col).startswith("_"):
            empty &= frame[col].astype("string").fillna("").str.strip() == ""
    checks.reject(empty, "row is empty")


def check_text_fields(frame: pd.DataFrame, checks: RowChecks, columns: Iterable[str]) -> None:
    """Reject values longer than their field's limit, or holding NUL or lone surrogates.

    The limits are :data:`gcrm.ingest.specs.FIELD_LIMITS`; a value is rejected with its
    length and the limit, never cut.
    """
    for col in columns:
        if col not in frame.columns:
            continue
        values = frame[col].astype("string").fillna("")
        limit = field_limit(col)
        length = values.str.len()
        checks.reject(length > limit, _too_long(col, length, limit))
        checks.reject(
            ~storable(values),
            f"{col} holds a NUL character or a broken (surrogate) character; remove it in the file",
        )


def _too_long(col: str, length: pd.Series, limit: int) -> Callable[[pd.Series], pd.Series]:
    def reason(rows: pd.Series) -> pd.Series:
        return (
            f"{col} is " + length[rows].astype(str) + f" characters long; at most {limit} are "
            "allowed: shorten it in the file"
        )

    return reason


def default_rejects_path(path: Path) -> Path:
    """``customers.csv`` -> ``customers.rejects.csv`` beside it."""
    return path.with_name(f"{path.stem}.rejects.csv")


@dataclass
class ImportReport:
    """What an import did: rows read, loaded (inserted/updated/unchanged) and rejected."""

    kind: str
    source: str
    rows_read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.rows_read} rows read from {self.source}: "
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected} rejected"
        )
        if self.rejected and self.rejects_path is not None:
            text += f" (see {self.rejects_path})"
        for key, value in self.details.items():
            text += f"\n  {key}: {value}"
        return text


def write_rejects(rejects: pd.DataFrame, path: Path) -> Path:
    """Write the rejects file (always, so it never shows a previous run's rows).

    Characters UTF-8 cannot encode (lone surrogates) are written as backslash escapes.

    Raises
    ------
    ValidationError
        When the file cannot be written (a folder without write permission, a full disk).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # CRLF: a value holding a lone carriage return or line feed is then quoted.
        rejects.to_csv(
            path, index=False, encoding="utf-8", errors="backslashreplace", lineterminator="\r\n"
        )
    except OSError as exc:
        msg = (
            f"rejects file {str(path)!r} cannot be written ({exc.strerror or exc}); "
            "pass --rejects PATH in a folder you can write to"
        )
        raise ValidationError(msg) from None
    return path
