"""Dates of many shapes, parsed vectorised: fast fixed formats first, then one regular expression per shape."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ._tables import _Rows, text_col

#: Dates before this year are rejected as impossible for this domain (the data sources start in the 1990s).
MIN_YEAR = 1990

MONTHS = {
    # English
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # Spanish (three letters; "mar", "may", "jun", "jul" shared)
    "ene": 1, "abr": 4, "ago": 8, "set": 9, "dic": 12,
}  # fmt: skip

_FAST_FORMATS = ("%Y-%m-%d", "%d-%b-%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")

# (pattern, precision, builder) ; builders turn the regex groups into y, m, d strings
_DATE_PATTERNS: list[tuple[str, str, str]] = [
    (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?", "day", "ymd"),  # noqa: E501
    (r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})", "day", "ymd"),
    (r"(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", "day", "slash"),
    (r"(?:[A-Za-z]{3}, )(?P<m>\d{2})/(?P<d>\d{2})/(?P<y>\d{4})(?: - \d{2}:\d{2})?", "day", "ymd"),
    (r"(?P<d>\d{1,2})[- ](?P<mon>[A-Za-z]{3})[A-Za-z]*\.?[- ,]+(?P<y>\d{2}|\d{4})", "day", "mon"),
    (r"(?P<mon>[A-Za-z]{3})[A-Za-z]*\.? (?P<d>\d{1,2}),? (?P<y>\d{4})", "day", "mon"),
    (r"(?P<y>\d{4})-(?P<m>\d{1,2})", "month", "ymd"),
    (r"(?P<m>\d{1,2})/(?P<y>\d{4})", "month", "ymd"),
    (r"(?P<mon>[A-Za-z]{3})[A-Za-z]*\.?[- ](?P<y>\d{4})", "month", "mon"),
    (r"(?P<y>\d{4})", "year", "ymd"),
]  # fmt: skip


@dataclass
class _Dates:
    """The state of one column being parsed: text, results so far, and what was found wrong."""

    s: pd.Series
    out: pd.Series
    prec: pd.Series
    missing: np.ndarray
    matched: np.ndarray
    impossible: np.ndarray
    early_y: np.ndarray
    late_y: np.ndarray
    last_year: int

    @classmethod
    def start(cls, raw: pd.Series, last_year: int) -> _Dates:
        n = len(raw)
        out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        prec = pd.Series("unknown", index=raw.index, dtype=object)
        none = np.zeros(n, dtype=bool)
        return cls(raw, out, prec, none.copy(), none.copy(), none.copy(), none.copy(), none.copy(), last_year)


def parse_dates(
    rows: _Rows,
    raw: pd.Series,
    column: str,
    *,
    today: date | None = None,
    allow_future: bool = False,
    missing_note: str | None = "date missing; kept with date_precision 'unknown'",
) -> tuple[pd.Series, pd.Series]:
    """Parse dates of many common shapes, vectorised per shape. Returns ``(datetime64[ns], precision)``.

    Recognised: ``2019-05-31`` (also with a time), ``2019/05/31``, ``31/05/2019`` (day first, unless a value
    in the column only makes sense month first, e.g. ``05/31/2019``), ``Mon, 05/31/2019 - 12:00`` (IOM),
    ``31-May-19`` and ``31 May 2019`` (English or Spanish month abbreviations), ``May 31, 2019``, and the
    coarser ``2019-05``, ``05/2019``, ``May 2019`` (month precision) and ``2019`` (year precision; the first day
    of the period is stored). Unparseable text, impossible dates (``2019-02-30``), dates before
    :data:`MIN_YEAR` and dates after today (unless ``allow_future``) are rejected. Missing dates are kept as
    NaT with precision ``unknown``.
    """
    today = today or date.today()
    st = _Dates.start(raw, 2200 if allow_future else today.year)  # datetime64[ns] ends in 2262
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        _from_datetimes(st, raw)
    else:
        _from_text(st, rows, raw, column, today)
    out, s = st.out, st.s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        future = (out > pd.Timestamp(today)).to_numpy(dtype=bool).copy()
        early = (out < pd.Timestamp(MIN_YEAR, 1, 1)).to_numpy(dtype=bool).copy()
    future = st.late_y if allow_future else future | st.late_y
    early |= st.early_y
    rows.reject(future, column, f"date in the future (after {today.isoformat()})", s)
    rows.reject(early, column, f"date before {MIN_YEAR}", s)
    if missing_note:
        rows.note(st.missing, column, missing_note, None, "defaulted")
    return out, st.prec


def _from_datetimes(st: _Dates, raw: pd.Series) -> None:
    """A column that is already datetimes (a vector file's date field): years checked, days kept."""
    vals = raw
    if getattr(vals.dt, "tz", None) is not None:
        vals = vals.dt.tz_convert("UTC").dt.tz_localize(None)
    years = vals.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        st.early_y, st.late_y = years < MIN_YEAR, years > st.last_year
    st.out = vals.where(~(st.early_y | st.late_y)).dt.normalize().astype("datetime64[ns]")
    st.prec[st.out.notna().to_numpy()] = "day"
    st.s = raw.astype(str)
    st.matched = st.out.notna().to_numpy()
    st.missing = ~st.matched


def _from_text(st: _Dates, rows: _Rows, raw: pd.Series, column: str, today: date) -> None:
    """A text column: the fast fixed formats, then each pattern on what is left; unparsed and impossible rejected."""
    st.s = s = text_col(raw.to_frame("v"), "v")
    st.missing = (s == "").to_numpy()
    for fmt in _FAST_FORMATS:  # the common shapes, parsed in C; the rest go through the patterns below
        todo = ~st.matched & ~st.missing
        if not todo.any():
            break
        _fast_format(st, todo, fmt)
    for pattern, precision, kind in _DATE_PATTERNS:
        todo = ~st.matched & ~st.missing
        if not todo.any():
            break
        _pattern(st, rows, column, todo, pattern, precision, kind, today)
    unparsed = ~st.matched & ~st.missing
    rows.reject(unparsed, column, "unparseable date", s)
    rows.reject(st.impossible, column, "impossible date (no such day)", s)
    st.out[st.impossible] = pd.NaT
    st.prec[st.impossible | unparsed] = "unknown"


def _fast_format(st: _Dates, todo: np.ndarray, fmt: str) -> None:
    idx = np.flatnonzero(todo)
    parsed = pd.to_datetime(st.s.iloc[idx], format=fmt, errors="coerce")
    ok = parsed.notna().to_numpy()
    if not ok.any():
        return
    pos, got = idx[ok], parsed[ok]
    years = got.dt.year.to_numpy()
    st.early_y[pos[years < MIN_YEAR]] = True
    st.late_y[pos[years > st.last_year]] = True
    inside = (years >= MIN_YEAR) & (years <= st.last_year)
    st.out.iloc[pos[inside]] = got[inside].dt.normalize().astype("datetime64[ns]").to_numpy()
    st.prec.iloc[pos[inside]] = "day"
    st.matched[pos] = True


def _pattern(
    st: _Dates, rows: _Rows, column: str, todo: np.ndarray, pattern: str, precision: str, kind: str, today: date
) -> None:
    """The rows still to do that match one shape: built into ``yyyy-mm-dd`` text and parsed."""
    parts = st.s[todo].str.extract(f"^{pattern}$", flags=re.IGNORECASE)
    hit = parts.iloc[:, 0].notna().to_numpy()
    if not hit.any():
        return
    parts = parts[hit]
    pos = np.flatnonzero(todo)[hit]
    m, d, bad_mon = _month_day(st, rows, column, parts, pos, precision, kind)
    yy = pd.to_numeric(parts["y"]).to_numpy(dtype="int64")
    short = parts["y"].str.len().to_numpy() == 2
    yy = np.where(short, np.where(yy <= today.year % 100, 2000, 1900) + yy, yy)
    text = (
        pd.Series(yy.astype(str), index=parts.index)
        + "-"
        + m.astype(str).str.zfill(2)
        + "-"
        + d.astype(str).str.zfill(2)
    )
    out_years = (yy < MIN_YEAR) | (yy > st.last_year)
    st.early_y[pos[yy < MIN_YEAR]] = True
    st.late_y[pos[yy > st.last_year]] = True
    text = text.where(~(bad_mon | out_years), "bad")
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    st.out.iloc[pos] = parsed.to_numpy()
    st.prec.iloc[pos] = precision
    st.matched[pos] = True
    st.impossible[pos] = parsed.isna().to_numpy() & ~out_years


def _month_day(
    st: _Dates, rows: _Rows, column: str, parts: pd.DataFrame, pos: np.ndarray, precision: str, kind: str
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Month and day text of the matched rows, and which month names were not recognised."""
    one = pd.Series("1", index=parts.index)
    bad_mon = np.zeros(len(parts), dtype=bool)
    if kind == "mon":
        mnum = parts["mon"].str.lower().map(MONTHS)
        bad_mon = mnum.isna().to_numpy()
        m = mnum.fillna(1).astype("int64").astype(str)
        d = parts["d"] if precision == "day" else one
    elif kind == "slash":
        a = pd.to_numeric(parts["a"]).to_numpy()
        b = pd.to_numeric(parts["b"]).to_numpy()
        # the order is decided for the whole column: a chunked reader passes what the whole file holds
        rows.slash_seen[column] = (bool((a > 12).any()), bool((b > 12).any()))
        day_over_12, month_over_12 = rows.slash_order.get(column, rows.slash_seen[column])
        month_first = month_over_12 and not day_over_12
        d, m = (parts["b"], parts["a"]) if month_first else (parts["a"], parts["b"])
        if not month_first and not day_over_12:
            amb = np.zeros(len(st.s), dtype=bool)
            amb[pos[(a <= 12) & (b <= 12) & (a != b)]] = True
            rows.note(amb, column, "day/month order ambiguous; read as day/month", st.s, "assumed")
    else:
        m = parts["m"] if precision != "year" else one
        d = parts["d"] if precision == "day" else one
    return m, d, bad_mon
