"""Change around a date: rate ratios after / before per segment and per state, with exact conditional intervals.

For a place with ``b`` records in the *before* window (length ``T_b`` days) and ``a`` in the *after* window
(``T_a`` days), under a Poisson process with rates ``lambda_b`` and ``lambda_a``:

- the rate ratio is ``RR = (a / T_a) / (b / T_b)``;
- conditional on the total ``n = a + b``, ``a ~ Binomial(n, pi)`` with ``pi = RR T_a / (RR T_a + T_b)``, so the
  exact (Clopper-Pearson) interval for ``pi`` maps to an exact interval for ``RR``:
  ``RR = pi / (1 - pi) * T_b / T_a``; the p-value is the exact two-sided binomial test of ``pi = T_a / (T_a + T_b)``
  (``RR = 1``), :func:`routerisk.stats.binom_two_sided_p`; Benjamini-Hochberg over the places gives
  ``p_adjusted``;
- the point estimate equals a Poisson GLM's ``exp(beta)`` (``y ~ after`` with offset ``log T``); the GLM's Wald
  interval ``exp(beta +- z sqrt(1/a + 1/b))`` is also written (``wald_lo``, ``wald_hi``).

**Zero counts** (the documented rule): ``a = 0 < b`` gives ``RR = 0``, ``rr_lo = 0`` and a finite exact upper
bound; ``b = 0 < a`` gives ``RR = inf``, ``rr_hi = inf`` and a finite exact lower bound; ``a = b = 0`` gives no
estimate (NaN everywhere, not tested, left out of the BH adjustment). The Wald interval is NaN whenever a count
is 0.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import betaincinv, ndtri

from ._errors import ConfigError
from .stats import bh_adjust, binom_two_sided_p

__all__ = [
    "CHANGE_COLUMNS",
    "DEFAULT_LEVEL",
    "check_windows",
    "parse_window",
    "rate_ratio",
    "segment_change",
    "state_change",
    "window_days",
]

#: Columns of ``change.csv`` after ``segment_id``.
CHANGE_COLUMNS = ("count_before", "count_after", "rate_ratio", "rr_lo", "rr_hi", "p_value", "p_adjusted",
                  "wald_lo", "wald_hi")  # fmt: skip
#: Two-sided level of the rate-ratio intervals.
DEFAULT_LEVEL = 0.95


def parse_window(text: str, option: str = "--before") -> tuple[pd.Timestamp, pd.Timestamp]:
    """``"2019-01-01:2019-06-30"`` -> the two dates (inclusive); a one-line :class:`ConfigError` otherwise.

    Examples
    --------
    >>> [str(d.date()) for d in parse_window("2019-07-01:2020-06-30")]
    ['2019-07-01', '2020-06-30']
    """
    start, sep, end = str(text).partition(":")
    if not sep:
        msg = f"{option} {text!r} must be START:END with ISO dates, e.g. 2019-01-01:2019-06-30"
        raise ConfigError(msg)
    out = []
    for part in (start, end):
        try:
            out.append(pd.Timestamp(pd.to_datetime(part.strip(), format="%Y-%m-%d")))
        except (ValueError, TypeError):
            msg = f"{option} {text!r}: {part.strip()!r} is not a date (YYYY-MM-DD)"
            raise ConfigError(msg) from None
    if out[1] < out[0]:
        msg = f"{option} {text!r} ends before it starts"
        raise ConfigError(msg)
    return out[0], out[1]


def check_windows(before, after) -> None:
    """Refuse overlapping windows (a record would count on both sides).

    Examples
    --------
    >>> check_windows(parse_window("2019-01-01:2019-06-30"), parse_window("2019-06-01:2019-12-31", "--after"))
    Traceback (most recent call last):
    ...
    routerisk._errors.ConfigError: --before 2019-01-01:2019-06-30 and --after 2019-06-01:2019-12-31 overlap
    """
    (b0, b1), (a0, a1) = before, after
    if b0 <= a1 and a0 <= b1:
        msg = (f"--before {b0.date()}:{b1.date()} and --after {a0.date()}:{a1.date()} overlap")  # fmt: skip
        raise ConfigError(msg)


def window_days(window) -> int:
    """Length of an inclusive window in days.

    Examples
    --------
    >>> window_days(parse_window("2020-01-01:2020-12-31"))
    366
    """
    return int((window[1] - window[0]).days) + 1


def rate_ratio(count_after, count_before, t_after, t_before, *, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Rate ratio after / before with its exact conditional (binomial) interval and exact p-value.

    Parameters
    ----------
    count_after, count_before : array-like of int
    t_after, t_before : float or array-like
        Lengths of the two windows (any unit, the same for both), > 0.
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        ``rate_ratio``, ``rr_lo``, ``rr_hi``, ``p_value`` (exact, two-sided), ``wald_lo``, ``wald_hi`` (the Poisson
        GLM's Wald interval).

    Examples
    --------
    >>> rate_ratio([20, 0, 5], [10, 4, 0], 1.0, 1.0).round(3).values.tolist()[0]
    [2.0, 0.894, 4.785, 0.099, 0.936, 4.273]
    """
    if not 0 < level < 1:
        msg = f"`level` was {level!r} but must be between 0 and 1"
        raise ConfigError(msg)
    a = np.asarray(count_after, dtype=np.float64)
    b = np.asarray(count_before, dtype=np.float64)
    ta, tb = np.broadcast_arrays(np.asarray(t_after, dtype=np.float64), np.asarray(t_before, dtype=np.float64))
    ta, tb = np.broadcast_to(ta, a.shape), np.broadcast_to(tb, a.shape)
    if np.any(ta <= 0) or np.any(tb <= 0):
        msg = "window lengths must be > 0"
        raise ConfigError(msg)
    alpha = 1.0 - level
    n = a + b
    odds = tb / ta
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(n > 0, (a / ta) / (b / tb), np.nan)
        pi_lo = np.where(a > 0, betaincinv(a, b + 1, alpha / 2), 0.0)
        pi_hi = np.where(b > 0, betaincinv(a + 1, b, 1 - alpha / 2), 1.0)
        lo = np.where(n > 0, pi_lo / (1 - pi_lo) * odds, np.nan)
        hi = np.where(n > 0, np.where(pi_hi < 1, pi_hi / (1 - pi_hi) * odds, np.inf), np.nan)
        se = np.sqrt(1 / a + 1 / b)
        zq = ndtri(1 - alpha / 2)  # scipy.stats.norm.ppf
        ok = (a > 0) & (b > 0)
        wlo = np.where(ok, np.exp(np.log(rr) - zq * se), np.nan)
        whi = np.where(ok, np.exp(np.log(rr) + zq * se), np.nan)
    p = np.full(a.shape, np.nan)
    tested = n > 0
    if tested.any():
        p[tested] = binom_two_sided_p(a[tested].astype(np.int64), n[tested].astype(np.int64),
                                      (ta / (ta + tb))[tested])  # fmt: skip
    return pd.DataFrame({"rate_ratio": rr, "rr_lo": lo, "rr_hi": hi, "p_value": p, "wald_lo": wlo, "wald_hi": whi})


def _bh(p: np.ndarray) -> np.ndarray:
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = bh_adjust(p[ok])
    return q


def _window_index(dates, before, after) -> np.ndarray:
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    d = d.dt.normalize()
    col = np.full(len(d), -1, dtype=np.int64)
    col[((d >= before[0]) & (d <= before[1])).to_numpy()] = 0
    col[((d >= after[0]) & (d <= after[1])).to_numpy()] = 1
    return col


def segment_change(segments, incidents, before, after, *, model=None, level: float = DEFAULT_LEVEL,
                   backend: str = "auto") -> pd.DataFrame:  # fmt: skip
    """Rate ratio after / before of the records in reach of each segment (exact conditional intervals, BH).

    ``count_before`` / ``count_after`` are the records of each window inside the kernel support of the segment
    (the ``n_incidents`` of :func:`routerisk.score_segments` restricted to the window); each is a Poisson count
    under a Poisson process, whatever the overlap between neighbouring segments. Window lengths are in days.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
        Dated incidents.
    before, after : (Timestamp, Timestamp)
        Inclusive windows (:func:`parse_window`); they must not overlap.
    model : RiskModel, optional
        Bandwidth, kernel, precision (time decay does not apply: counts).
    level : float, default 0.95
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    pandas.DataFrame
        ``segment_id`` and :data:`CHANGE_COLUMNS`.

    Examples
    --------
    >>> import routerisk
    >>> segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=20000)
    >>> out = segment_change(segs, routerisk.load_incidents(), parse_window("2019-01-01:2019-12-31"),
    ...                      parse_window("2020-01-01:2020-12-31", "--after"))
    >>> list(out.columns[:4]), len(out) == len(segs)
    (['segment_id', 'count_before', 'count_after', 'rate_ratio'], True)
    """
    from .spacetime import group_exposure

    r = windowed_records(segments, incidents, before, after, model)
    g = group_exposure(r.seg_geoms, r.xy, r.w, r.h, r.col, 2, r.model, backend)
    nb, na = g["N"][:, 0], g["N"][:, 1]
    rr = rate_ratio(na, nb, window_days(after), window_days(before), level=level)
    out = pd.DataFrame({"segment_id": r.ids, "count_before": nb, "count_after": na})
    out = pd.concat([out, rr], axis=1)
    out["p_adjusted"] = _bh(out["p_value"].to_numpy())
    out.attrs["routerisk"] = {"records_before": int((r.col == 0).sum()), "records_after": int((r.col == 1).sum())}
    return out[["segment_id", *CHANGE_COLUMNS]]


class WindowedRecords(NamedTuple):
    """The records of two windows as the kernel pass sees them (see :func:`windowed_records`)."""

    model: Any
    seg_geoms: np.ndarray  # the segments in the analysis CRS
    ids: np.ndarray  # segment_id (else the index) of each segment
    placed: np.ndarray  # which incident rows are counted: a point, a finite bandwidth, a date in a window
    col: np.ndarray  # window of each counted record: 0 before, 1 after
    xy: np.ndarray  # projected coordinates of each counted record
    h: np.ndarray  # bandwidth of each counted record
    w: np.ndarray  # precision factor of each counted record (counts: no severity or time decay)


def windowed_records(segments, incidents, before, after, model=None) -> WindowedRecords:
    """Check the windows and place the records of both in the segments' analysis CRS, for one kernel pass.

    Shared by :func:`segment_change` and :func:`routerisk.perpetrators.change_by_perpetrator`, so that the counts
    split by perpetrator add up to the segment's (the same CRS, bandwidths and records).
    """
    from ._coords import _wgs84_bounds
    from .crs import analysis_crs
    from .model import RiskModel
    from .scoring import incident_bandwidths, precision_factor
    from .spacetime import project_incidents

    check_windows(before, after)
    model = model or RiskModel()
    crs = analysis_crs(_wgs84_bounds(segments), model.crs)
    seg_geoms = np.asarray(segments.geometry.to_crs(crs).values, dtype=object)
    col = _window_index(incidents["date"], before, after)
    h = incident_bandwidths(incidents, model)
    xy, ok = project_incidents(incidents, crs)
    placed = ok & np.isfinite(h) & (col >= 0)
    hp = h[placed]
    ids = segments["segment_id"].to_numpy(dtype=object) if "segment_id" in segments else segments.index.to_numpy()
    return WindowedRecords(model, seg_geoms, ids, placed, col[placed], xy[placed], hp, precision_factor(hp, model))


def state_change(incidents, before, after, *, states=None, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Rate ratio after / before of the records in each state (every state listed, zeros included).

    A record's state is the state polygon containing its point (:func:`routerisk.load_states`); records outside
    every state are counted in no state.

    Examples
    --------
    >>> import routerisk
    >>> out = state_change(routerisk.load_incidents(), parse_window("2019-01-01:2019-12-31"),
    ...                    parse_window("2020-01-01:2020-12-31", "--after"))
    >>> len(out)
    32
    """
    import geopandas as gpd

    from .datasets import load_states
    from .spacetime import project_incidents

    check_windows(before, after)
    states = load_states() if states is None else states
    col = _window_index(incidents["date"], before, after)
    xy, ok = project_incidents(incidents, "EPSG:4326")
    keep = ok & (col >= 0)
    pts = gpd.GeoDataFrame({"w": col[keep]}, geometry=gpd.points_from_xy(xy[keep, 0], xy[keep, 1]), crs="EPSG:4326")
    st = states.to_crs("EPSG:4326")[["state_code", "state_name", "geometry"]].reset_index(drop=True)
    j = gpd.sjoin(pts, st, how="inner", predicate="within")
    j = j[~j.index.duplicated(keep="first")]
    nb = np.bincount(j["index_right"][j["w"] == 0].to_numpy(dtype=np.int64), minlength=len(st))
    na = np.bincount(j["index_right"][j["w"] == 1].to_numpy(dtype=np.int64), minlength=len(st))
    out = pd.DataFrame({"state_code": st["state_code"].astype(str).to_numpy(),
                        "state_name": st["state_name"].astype(str).to_numpy(), "count_before": nb,
                        "count_after": na})  # fmt: skip
    out = pd.concat([out, rate_ratio(na, nb, window_days(after), window_days(before), level=level)], axis=1)
    out["p_adjusted"] = _bh(out["p_value"].to_numpy())
    return out[["state_code", "state_name", *CHANGE_COLUMNS]]
