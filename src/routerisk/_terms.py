"""The two terms' inputs besides the kernel: the enforcement exposure of zones, the observation window and its
effective years, the months each term sums, and their overlap.

Used by :func:`routerisk.score_segments` (which re-exports :func:`enforcement_exposure`); the results go to
``result.attrs["routerisk"]`` and the manifest.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .model import RiskModel

__all__ = [
    "effective_years",
    "enforcement_exposure",
    "month_summary",
    "overlap_warning",
    "zone_month_summary",
]

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


def _dates(values) -> pd.Series:
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.dt.normalize()


def _active_zones(zones: pd.DataFrame, model: RiskModel) -> np.ndarray:
    n = len(zones)
    active = np.ones(n, dtype=bool)
    if model.window_end is not None and "start_date" in zones:
        start = _dates(zones["start_date"].to_numpy())
        active &= (start.isna() | (start <= pd.Timestamp(model.window_end))).to_numpy()
    if model.window_start is not None and "end_date" in zones:
        end = _dates(zones["end_date"].to_numpy())
        active &= (end.isna() | (end >= pd.Timestamp(model.window_start))).to_numpy()
    return active


def enforcement_exposure(segments: gpd.GeoSeries, zones: gpd.GeoDataFrame | None, model: RiskModel | None = None):
    """Enforcement exposure ``Z_s = sum_z intensity_z * length(s inside z) / length(s)``.

    Only zones active at some time in the model's window count (all zones when no window is set); a zone with
    no ``intensity`` counts 1; a Point zone with ``radius_m`` is buffered by it. Overlapping zones add up.
    A zero-length segment inside a zone counts fully.

    Parameters
    ----------
    segments : geopandas.GeoSeries
        Segment lines in a projected CRS (metres).
    zones : geopandas.GeoDataFrame or None
        Canonical zones in the same CRS.
    model : RiskModel, optional

    Returns
    -------
    numpy.ndarray of float64, one value per segment

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> seg = gpd.GeoSeries([LineString([(0, 0), (10, 0)])], crs="EPSG:6372")
    >>> z = gpd.GeoDataFrame({"intensity": [2.0]}, geometry=[box(-1, -1, 4, 1)], crs="EPSG:6372")
    >>> enforcement_exposure(seg, z).tolist()
    [0.8]
    """
    model = model or RiskModel()
    geoms = np.asarray(segments.values if hasattr(segments, "values") else segments, dtype=object)
    out = np.zeros(len(geoms))
    if zones is None or len(zones) == 0 or len(geoms) == 0:
        return out
    active = _active_zones(zones, model)
    zg = np.asarray(zones.geometry.values, dtype=object)
    if "radius_m" in zones:
        radius = pd.to_numeric(zones["radius_m"], errors="coerce").to_numpy(dtype=np.float64)
        is_point = shapely.get_type_id(zg) == shapely.GeometryType.POINT
        buf = is_point & np.isfinite(radius) & (radius > 0)
        zg = zg.copy()
        zg[buf] = shapely.buffer(zg[buf], radius[buf], quad_segs=32)
    intensity = (
        pd.to_numeric(zones["intensity"], errors="coerce").fillna(1.0).to_numpy(dtype=np.float64)
        if "intensity" in zones
        else np.ones(len(zones))
    )
    keep = active & ~shapely.is_missing(zg) & ~shapely.is_empty(zg) & (intensity != 0)
    zg, intensity = zg[keep], intensity[keep]
    if len(zg) == 0:
        return out
    tree = shapely.STRtree(zg)
    si, zi = tree.query(geoms, predicate="intersects")
    if len(si) == 0:
        return out
    seg_len = shapely.length(geoms)
    inside = shapely.length(shapely.intersection(geoms[si], zg[zi]))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(seg_len[si] > 0, np.clip(inside / seg_len[si], 0.0, 1.0), 1.0)
    return np.bincount(si, weights=intensity[zi] * frac, minlength=len(geoms))


def _median_weight(model: RiskModel) -> float:
    """Weight of one victim of the median category: the typical record of the "one more record" term."""
    return float(np.median(list(model.category_weights.values())))


def _mean_decay(window: list | None, years: float) -> float:
    """Mean time-decay weight over the observation window: effective years / calendar years (1 without one)."""
    if window is None:
        return 1.0
    days = (pd.Timestamp(window[1]) - pd.Timestamp(window[0])).days + 1
    return min(1.0, years * DAYS_PER_YEAR / days) if days > 0 else 1.0


def _observation(incidents, w: np.ndarray, model: RiskModel, ref, dates=None) -> tuple[list | None, float, list[str]]:
    """Observation window ``[t0, t1]`` (ISO dates), its effective years ``T_eff`` and warnings.

    ``t0`` / ``t1`` are ``window_start`` / ``window_end`` when set, else the earliest / latest date of the records
    that count (``w > 0``). Without any dated record ``T_eff = 1`` (the rate is per record set) and a warning says so.
    ``dates`` is ``_dates(incidents["date"].to_numpy())`` when the caller has it.
    """
    if dates is None and "date" in incidents:
        dates = _dates(incidents["date"].to_numpy())
    dates = dates[w > 0].dropna() if dates is not None else pd.Series([])
    t0 = pd.Timestamp(model.window_start) if model.window_start is not None else (dates.min() if len(dates) else None)
    t1 = pd.Timestamp(model.window_end) if model.window_end is not None else (dates.max() if len(dates) else None)
    if t0 is None or t1 is None or pd.isna(t0) or pd.isna(t1):
        if len(incidents) == 0 or not (w > 0).any():
            return None, 1.0, []
        return None, 1.0, ["no dated records: incident_risk is per record set (T_eff = 1), not per year"]
    years = effective_years(t0, t1, ref, model.half_life_days)
    return [t0.date().isoformat(), t1.date().isoformat()], max(years, 1.0 / DAYS_PER_YEAR), []


def _zone_months(zones, model: RiskModel) -> dict | None:
    if zones is None or len(zones) == 0:
        return None
    active = _active_zones(zones, model)
    start = zones["start_date"].to_numpy()[active] if "start_date" in zones else [pd.NaT] * int(active.sum())
    end = zones["end_date"].to_numpy()[active] if "end_date" in zones else [pd.NaT] * int(active.sum())
    return zone_month_summary(start, end, model.window_start, model.window_end)
