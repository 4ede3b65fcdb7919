"""Row-level validation: collect every problem of every input, report once.

Readers record two kinds of entry in a :class:`ValidationReport`:

- **rejected** rows, kept out of the analysis (missing coordinates, impossible dates, duplicate ids, ...);
- **notes** on rows that were kept but changed (a category mapped to ``other``, a polygon repaired, a decimal
  comma read, a probable lat/lon swap).

Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1 and the first record row 2; in a
vector file the first feature is row 1. Nothing is dropped silently: a reader called without a report warns
with :class:`RejectedRowsWarning` when it rejects rows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["REPORT_COLUMNS", "RejectedRowsWarning", "ValidationReport"]

REPORT_COLUMNS = ("file", "row", "column", "value", "reason", "action")


class RejectedRowsWarning(UserWarning):
    """Rows were rejected while reading and no :class:`ValidationReport` was given to hold them."""


@dataclass
class ValidationReport:
    """Problems found while reading inputs, with per-file counts.

    Examples
    --------
    >>> r = ValidationReport()
    >>> r.reject("a.csv", [3, 5], "latitude", "missing coordinate")
    >>> r.count("a.csv", read=10, kept=8)
    >>> r.n_rejected, r.counts["a.csv"]["rejected"]
    (2, 2)
    """

    _entries: list[pd.DataFrame] = field(default_factory=list, repr=False)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def _add(
        self,
        file: str | os.PathLike[str],
        rows: Iterable[int] | np.ndarray,
        column: str,
        reason: str,
        values: Iterable[object] | None,
        action: str,
    ) -> None:
        rows = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype="int64")
        if rows.size == 0:
            return
        vals = [""] * rows.size if values is None else [_short(v) for v in values]
        if len(vals) != rows.size:
            msg = f"got {len(vals)} values for {rows.size} rows"
            raise ValueError(msg)
        self._entries.append(
            pd.DataFrame(
                {
                    "file": str(file),
                    "row": rows,
                    "column": column,
                    "value": vals,
                    "reason": reason,
                    "action": action,
                }
            )
        )

    def reject(
        self,
        file: str | os.PathLike[str],
        rows: Iterable[int] | np.ndarray,
        column: str,
        reason: str,
        values: Iterable[object] | None = None,
    ) -> None:
        """Record rows kept out of the analysis, with the column at fault and the reason."""
        self._add(file, rows, column, reason, values, "rejected")

    def note(
        self,
        file: str | os.PathLike[str],
        rows: Iterable[int] | np.ndarray,
        column: str,
        reason: str,
        values: Iterable[object] | None = None,
        action: str = "changed",
    ) -> None:
        """Record rows kept but changed (``action`` says how: ``mapped``, ``repaired``, ``swapped`` ...)."""
        self._add(file, rows, column, reason, values, action)

    def count(self, file: str | os.PathLike[str], *, read: int, kept: int) -> None:
        """Record how many rows a file had and how many were kept."""
        self.counts[str(file)] = {"read": int(read), "kept": int(kept), "rejected": int(read) - int(kept)}

    def to_frame(self) -> pd.DataFrame:
        """Every entry, rejected and noted, one row each, sorted by file and row."""
        if not self._entries:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in REPORT_COLUMNS})
        df = pd.concat(self._entries, ignore_index=True)
        return df.sort_values(["file", "row", "column"], kind="stable").reset_index(drop=True)

    @property
    def rejected(self) -> pd.DataFrame:
        """Entries of rejected rows (a row rejected for two reasons appears twice)."""
        df = self.to_frame()
        return df[df["action"] == "rejected"].reset_index(drop=True)

    @property
    def notes(self) -> pd.DataFrame:
        """Entries of rows kept with a change."""
        df = self.to_frame()
        return df[df["action"] != "rejected"].reset_index(drop=True)

    @property
    def n_rejected(self) -> int:
        """Number of distinct rejected rows over all files."""
        rej = self.rejected
        return int(rej[["file", "row"]].drop_duplicates().shape[0])

    def extend(self, other: ValidationReport) -> None:
        """Add every entry and count of ``other`` to this report."""
        self._entries.extend(other._entries)
        self.counts.update(other.counts)

    def summary(self) -> str:
        """A few human-readable lines: per file, rows read / kept / rejected, then rejections by reason."""
        lines = []
        for file, c in self.counts.items():
            lines.append(f"{file}: {c['read']} rows read, {c['kept']} kept, {c['rejected']} rejected")
        df = self.to_frame()
        if len(df):
            grouped = df.groupby(["action", "column", "reason"], sort=True).size()
            for (action, column, reason), n in grouped.items():
                lines.append(f"  {action:9s} {n:6d}  {column}: {reason}")
        return "\n".join(lines) if lines else "no inputs read"

    def warn_if_rejected(self, file: str | os.PathLike[str], stacklevel: int = 3) -> None:
        """Warn that rows of ``file`` were rejected (for readers called without a report)."""
        n = self.counts.get(str(file), {}).get("rejected", 0)
        if n:
            msg = (
                f"{n} rows of {str(file)!r} were rejected; pass `report=ValidationReport()` to see which and why"
            )
            warnings.warn(msg, RejectedRowsWarning, stacklevel=stacklevel)


def _short(value: object, limit: int = 120) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
