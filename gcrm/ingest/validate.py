"""Validation at the boundary: required columns, per-row checks, rejects files, reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gcrm.core import ValidationError

__all__ = ["ImportReport", "RowChecks", "default_rejects_path", "require_columns", "write_rejects"]


def require_columns(
    frame: pd.DataFrame, required: Iterable[str], *, source: str, hint: str = ""
) -> None:
    """Raise when a column is missing, naming every missing and every present column."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        present = sorted(c for c in frame.columns if not c.startswith("_") and c != "geometry")
        msg = f"{source}: column(s) {missing} missing; found {present}."
        if hint:
            msg += f" {hint}"
        raise ValidationError(msg)


class RowChecks:
    """Collects reasons per row; a row with any reason is rejected, the others load.

    Checks are vectorised: each takes a boolean mask of bad rows and one reason.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._reasons = pd.Series([""] * len(frame), index=frame.index, dtype=object)

    def reject(self, bad: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        bad = pd.Series(np.asarray(bad, dtype=bool), index=self.frame.index)
        # The first reason wins: it is what the user has to fix first.
        todo = bad & (self._reasons == "")
        if isinstance(reason, pd.Series):
            self._reasons[todo] = reason[todo]
        else:
            self._reasons[todo] = reason

    @property
    def ok(self) -> pd.Series:
        return self._reasons == ""

    def rejects(self) -> pd.DataFrame:
        bad = ~self.ok
        out = self.frame.loc[bad].copy()
        if "geometry" in out:
            out = pd.DataFrame(out.drop(columns="geometry"))
        out.insert(0, "reason", self._reasons[bad])
        out = out.rename(columns={"_row": "row"})
        cols = ["row", "reason"] + [c for c in out.columns if c not in ("row", "reason")]
        return out[cols]


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
    """Write the rejects file (always, so it never shows a previous run's rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rejects.to_csv(path, index=False)
    return path
