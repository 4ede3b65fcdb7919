"""The time side of the two terms: effective years of observation, the months each term sums, and their overlap.

Used by :func:`routerisk.score_segments`; the results go to ``result.attrs["routerisk"]`` and the manifest.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = ["effective_years", "month_summary", "overlap_warning", "zone_month_summary"]

log = logging.getLogger("routerisk")

DAYS_PER_YEAR = 365.25


def effective_years(t0: pd.Timestamp, t1: pd.Timestamp, ref: pd.Timestamp | None, half_life_days: float) -> float:
    """Time-decay weight summed over the days of ``[t0, t1]`` (inclusive), in years.

    A record dated ``d`` weighs ``D(d) = 2 ** (-max(ref - d, 0) / half_life_days)``; a process of one record a
    day over the window therefore sums to ``sum_d D(d)`` days. Dividing the exposure by this figure gives a
    rate per year that does not depend on the window length or the half-life (for a steady process).

    Examples
    --------
    >>> effective_years(pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31"), None, 0) * 365.25
    366.0
    >>> round(effective_years(pd.Timestamp("2019-01-01"), pd.Timestamp("2020-12-31"), pd.Timestamp("2020-12-31"),
    ...                       365.0), 3)
    1.083
    """
    if t1 < t0:
        return 0.0
    if half_life_days <= 0 or ref is None:
        return ((t1 - t0).days + 1) / DAYS_PER_YEAR
    total = 0.0
    if t1 > ref:  # days after the reference date have age 0, weight 1
        total += (t1 - max(t0, ref + pd.Timedelta(days=1))).days + 1
    if t0 <= ref:  # ages from ref - min(t1, ref) to ref - t0: a geometric sum
        k_min, k_max = (ref - min(t1, ref)).days, (ref - t0).days
        r = 2.0 ** (-1.0 / half_life_days)
        total += (r**k_min - r ** (k_max + 1)) / (1.0 - r)
    return total / DAYS_PER_YEAR


def _months(values) -> pd.PeriodIndex:
    return pd.PeriodIndex(pd.DatetimeIndex(values).to_period("M"))


def month_summary(dates) -> dict | None:
    """First and last month (``YYYY-MM``) and the number of distinct months among ``dates`` (NaT ignored)."""
    d = pd.DatetimeIndex(pd.Series(dates).dropna())
    if len(d) == 0:
        return None
    m = _months(d)
    return {"first": str(m.min()), "last": str(m.max()), "count": int(m.nunique())}


def zone_month_summary(start, end, window_start=None, window_end=None) -> dict | None:
    """Months covered by the active zones (each from its start to its end month, clipped to the window).

    Zones without a start (or end) date take the window's bound; without either, the zone is counted in
    ``undated`` and left out of the months. None without any zone.
    """
    start = pd.to_datetime(pd.Series(start), errors="coerce")
    end = pd.to_datetime(pd.Series(end), errors="coerce")
    if len(start) == 0:
        return None
    if window_start is not None:
        ws = pd.Timestamp(window_start)
        start = start.fillna(ws).clip(lower=ws)
    if window_end is not None:
        we = pd.Timestamp(window_end)
        end = end.fillna(we).clip(upper=we)
    ok = (start.notna() & end.notna() & (start <= end)).to_numpy()
    undated = int((~(start.notna() & end.notna())).sum())
    if not ok.any():
        return {"first": None, "last": None, "count": 0, "undated": undated}
    s = _months(start[ok]).asi8
    e = _months(end[ok]).asi8
    pairs = np.unique(np.c_[s, e], axis=0)
    covered = np.unique(np.concatenate([np.arange(a, b + 1) for a, b in pairs]))
    first = str(pd.Period(ordinal=int(covered[0]), freq="M"))
    last = str(pd.Period(ordinal=int(covered[-1]), freq="M"))
    return {"first": first, "last": last, "count": len(covered), "undated": undated}


def overlap_warning(incident_months: dict | None, zone_months: dict | None) -> str | None:
    """A one-line warning when the months of the two terms do not overlap, or overlap for less than half of the
    incidents' span; None otherwise.

    Examples
    --------
    >>> overlap_warning({"first": "2014-01", "last": "2016-12"}, {"first": "2019-01", "last": "2021-12"})[:40]
    'the incident records and the active enfo'
    >>> overlap_warning({"first": "2020-01", "last": "2020-12"}, {"first": "2019-01", "last": "2021-12"}) is None
    True
    """
    if not incident_months or not zone_months or zone_months.get("first") is None:
        return None
    i0, i1 = pd.Period(incident_months["first"], "M"), pd.Period(incident_months["last"], "M")
    z0, z1 = pd.Period(zone_months["first"], "M"), pd.Period(zone_months["last"], "M")
    span = f"incidents {i0}..{i1}, enforcement zones {z0}..{z1}"
    if i1 < z0 or z1 < i0:
        return (
            f"the incident records and the active enforcement zones do not overlap in time ({span}): "
            "composite_risk combines different periods; set window_start/window_end to compare one period"
        )
    lo, hi = max(i0, z0), min(i1, z1)
    if (hi.ordinal - lo.ordinal + 1) < 0.5 * (i1.ordinal - i0.ordinal + 1):
        return (
            f"the incident records and the active enforcement zones cover different periods ({span}; common "
            f"{lo}..{hi}); set window_start/window_end to compare one period"
        )
    return None
