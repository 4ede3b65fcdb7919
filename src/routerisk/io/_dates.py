"""Dates of many shapes, parsed vectorised: fast fixed formats first, then one regular expression per shape."""

from __future__ import annotations

import re
import warnings
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
    n = len(raw)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    prec = pd.Series("unknown", index=raw.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        vals = raw
        if getattr(vals.dt, "tz", None) is not None:
            vals = vals.dt.tz_convert("UTC").dt.tz_localize(None)
        years = vals.dt.year.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            early_y, late_y = years < MIN_YEAR, years > (2200 if allow_future else today.year)
        out = vals.where(~(early_y | late_y)).dt.normalize().astype("datetime64[ns]")
        prec[out.notna().to_numpy()] = "day"
        s = raw.astype(str)
        matched = out.notna().to_numpy()
        missing = ~matched
    else:
        s = text_col(raw.to_frame("v"), "v")
        missing = (s == "").to_numpy()
        matched = np.zeros(n, dtype=bool)
        impossible = np.zeros(n, dtype=bool)
        early_y = np.zeros(n, dtype=bool)
        late_y = np.zeros(n, dtype=bool)
        last_year = 2200 if allow_future else today.year  # datetime64[ns] ends in 2262
        for fmt in _FAST_FORMATS:  # the common shapes, parsed in C; the rest go through the patterns below
            todo = ~matched & ~missing
            if not todo.any():
                break
            idx = np.flatnonzero(todo)
            parsed = pd.to_datetime(s.iloc[idx], format=fmt, errors="coerce")
            ok = parsed.notna().to_numpy()
            if not ok.any():
                continue
            pos, got = idx[ok], parsed[ok]
            years = got.dt.year.to_numpy()
            early_y[pos[years < MIN_YEAR]] = True
            late_y[pos[years > last_year]] = True
            inside = (years >= MIN_YEAR) & (years <= last_year)
            out.iloc[pos[inside]] = got[inside].dt.normalize().astype("datetime64[ns]").to_numpy()
            prec.iloc[pos[inside]] = "day"
            matched[pos] = True
        for pattern, precision, kind in _DATE_PATTERNS:
            todo = ~matched & ~missing
            if not todo.any():
                break
            sub = s[todo]
            parts = sub.str.extract(f"^{pattern}$", flags=re.IGNORECASE)
            hit = parts.iloc[:, 0].notna().to_numpy()
            if not hit.any():
                continue
            parts = parts[hit]
            pos = np.flatnonzero(todo)[hit]
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
                    amb = np.zeros(n, dtype=bool)
                    amb[pos[(a <= 12) & (b <= 12) & (a != b)]] = True
                    rows.note(amb, column, "day/month order ambiguous; read as day/month", s, "assumed")
            else:
                m = parts["m"] if precision != "year" else one
                d = parts["d"] if precision == "day" else one
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
            out_years = (yy < MIN_YEAR) | (yy > last_year)
            early_y[pos[yy < MIN_YEAR]] = True
            late_y[pos[yy > last_year]] = True
            text = text.where(~(bad_mon | out_years), "bad")
            parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
            out.iloc[pos] = parsed.to_numpy()
            prec.iloc[pos] = precision
            matched[pos] = True
            impossible[pos] = parsed.isna().to_numpy() & ~out_years
        unparsed = ~matched & ~missing
        rows.reject(unparsed, column, "unparseable date", s)
        rows.reject(impossible, column, "impossible date (no such day)", s)
        out[impossible] = pd.NaT
        prec[impossible | unparsed] = "unknown"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        future = (out > pd.Timestamp(today)).to_numpy(dtype=bool).copy()
        early = (out < pd.Timestamp(MIN_YEAR, 1, 1)).to_numpy(dtype=bool).copy()
    future = late_y if allow_future else future | late_y
    early |= early_y
    rows.reject(future, column, f"date in the future (after {today.isoformat()})", s)
    rows.reject(early, column, f"date before {MIN_YEAR}", s)
    if missing_note:
        rows.note(missing, column, missing_note, None, "defaulted")
    return out, prec


