"""Per-incident quantities of the scoring: severity weights, time decay and window, bandwidths, precision factor.

The weight ``w_i`` (category weight x victims factor x time decay, zero outside the model's window), the bandwidth
``h_i`` widened by location precision and the mass-keeping factor ``f_i`` of a widened kernel, as
:func:`routerisk.scoring.score_segments` (and the surface, space-time and perpetrator exposures) use them; with
their helpers: the incidents' normalised dates and reference date, day counts, the months the placed records
cover, and the per-distinct-value lookups of category weights and location sigmas. The public functions are
re-exported by :mod:`routerisk.scoring`, where they are documented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._terms import _dates
from .intervals import kernel_integrals
from .model import RiskModel
from .schema import DEFAULT_CATEGORY_WEIGHTS, LOCATION_SIGMA_M, compute_severity, victims_factor

__all__ = ["incident_bandwidths", "incident_weights", "precision_factor"]


def _reference_date(incidents, model: RiskModel, reference_date=None, dates=None) -> pd.Timestamp | None:
    """The reference date of the decay: the argument, else ``model.reference_date``, else the latest date.

    ``dates`` is ``_incident_dates(incidents)`` when the caller has it.
    """
    ref = reference_date if reference_date is not None else model.reference_date
    if ref is not None:
        return pd.Timestamp(ref).normalize()
    if "date" not in incidents or len(incidents) == 0:
        return None
    latest = (_incident_dates(incidents) if dates is None else dates).max()
    return None if pd.isna(latest) else latest


def _incident_dates(incidents) -> pd.Series | None:
    """The incidents' dates as day-normalised naive datetimes (NaT where missing), or None without a ``date``."""
    return _dates(incidents["date"].to_numpy()) if "date" in incidents else None


def _days(d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of datetime64 values (floored, as ``astype("datetime64[D]")``), as int64."""
    unit, step = np.datetime_data(d.dtype)
    if unit in ("h", "m", "s", "ms", "us", "ns"):  # an integer number of ticks per day: floor division
        per_day = int(np.timedelta64(1, "D") // np.timedelta64(step, unit))
        return d.view(np.int64) // per_day
    return d.astype("datetime64[D]").astype(np.int64)


def _month_summary(dates: pd.Series | None, keep: np.ndarray) -> dict | None:
    """``_terms.month_summary(dates[keep])`` (first and last ``YYYY-MM``, distinct months) without Periods."""
    if dates is None:
        return None
    d = dates.to_numpy()[keep]
    d = d[~np.isnat(d)]
    if len(d) == 0:
        return None
    days = _days(d)  # since 1970-01-01, floored
    lo_day = int(days.min())
    if int(days.max()) - lo_day < 1_000_000:  # the calendar arithmetic on the distinct days only
        days = lo_day + np.flatnonzero(np.bincount(days - lo_day))
    months = np.unique(days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64))  # since 1970-01
    lo, hi, count = int(months[0]), int(months[-1]), len(months)
    first, last = (pd.Period(ordinal=m, freq="M") for m in (lo, hi))
    return {"first": str(first), "last": str(last), "count": count}


def incident_weights(incidents: pd.DataFrame, model: RiskModel | None = None, reference_date=None) -> np.ndarray:
    """Weight ``w_i`` of each incident: severity x time decay, zero outside the time window.

    Severity is ``category_weights[category] * victims_factor(victims)`` (a missing ``category`` column counts as
    ``"other"``, missing ``victims`` as 1). Decay is ``2 ** (-age_days / half_life_days)`` with ages counted back
    from ``reference_date`` (argument, else ``model.reference_date``, else the latest incident date) and clipped
    at 0; ``half_life_days = 0`` disables it. Incidents without a date (NaT) are not decayed, and are excluded
    when a window is set (their membership cannot be known).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incidents (``category``, ``victims``, ``date``).
    model : RiskModel, optional
    reference_date : date-like, optional
        Overrides ``model.reference_date``.

    Returns
    -------
    numpy.ndarray of float64, one weight per row

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"category": ["homicide", "robbery"], "victims": [1, 1],
    ...                     "date": pd.to_datetime(["2021-01-01", "2020-01-02"])})
    >>> incident_weights(inc, RiskModel(half_life_days=365)).round(3).tolist()
    [1.0, 0.15]
    """
    model = model or RiskModel()
    dates = _incident_dates(incidents)
    return _incident_weights(incidents, model, dates, _reference_date(incidents, model, reference_date, dates))


def _incident_weights(incidents, model: RiskModel, dates: pd.Series | None, ref) -> np.ndarray:
    """:func:`incident_weights` from the normalised ``dates`` and the reference date ``ref``."""
    n = len(incidents)
    victims = incidents["victims"].fillna(1).to_numpy() if "victims" in incidents else np.ones(n)
    if "category" in incidents:
        weights = {**DEFAULT_CATEGORY_WEIGHTS, **dict(model.category_weights)}
        # one weight per distinct category (as compute_severity: unknown or missing counts as "other")
        cw = _lookup(incidents["category"], weights, weights["other"])
        cw = np.where(np.isnan(cw), weights["other"], cw)
        w = cw * victims_factor(victims, model.victims_factor)
    else:
        w = compute_severity(
            np.full(n, "other", dtype=object), victims, category_weights=dict(model.category_weights),
            how=model.victims_factor,
        )
    if dates is None:
        if model.window_start is not None or model.window_end is not None:
            w[:] = 0.0
        return w
    nat = dates.isna().to_numpy()
    if model.half_life_days > 0 and ref is not None:
        w = w * _decay(dates, nat, ref, model.half_life_days)
    if model.window_start is not None or model.window_end is not None:
        inside = ~nat
        if model.window_start is not None:
            inside &= (dates >= pd.Timestamp(model.window_start)).to_numpy()
        if model.window_end is not None:
            inside &= (dates <= pd.Timestamp(model.window_end)).to_numpy()
        w = np.where(inside, w, 0.0)
    return w


def _decay(dates: pd.Series, nat: np.ndarray, ref: pd.Timestamp, half_life_days: float) -> np.ndarray:
    """``2 ** (-age / half_life_days)`` with ``age`` the days from each date back to ``ref`` (>= 0; 1 for NaT).

    The dates and ``ref`` are midnights, so ``age`` is a whole number of days, as
    ``(ref - dates).dt.total_seconds() / 86400`` gives it exactly; the power is evaluated once per distinct age.
    """
    ref_day = int(_days(np.array([pd.Timestamp(ref).to_datetime64()]))[0])
    if pd.Timestamp(ref) != pd.Timestamp(ref).normalize():  # not a midnight: the general formula
        age = ((ref - dates).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)
        return np.exp2(-np.where(nat, 0.0, np.maximum(age, 0.0)) / half_life_days)
    age = np.where(nat, 0, np.maximum(ref_day - _days(dates.to_numpy()), 0))  # int64 days, NaT: 0
    top = int(age.max()) if len(age) else 0
    if top > 1_000_000:
        return np.exp2(-age.astype(np.float64) / half_life_days)
    lut = np.exp2(-np.arange(top + 1, dtype=np.float64) / half_life_days)
    return lut[age]


def incident_bandwidths(incidents: pd.DataFrame, model: RiskModel | None = None) -> np.ndarray:
    """Per-incident bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` in metres.

    ``sigma_i`` comes from :data:`routerisk.schema.LOCATION_SIGMA_M` by ``location_precision`` (missing column:
    exact; an unrecognised value: as ``"unknown"``). State-level incidents get NaN: they are not placed on
    segments.

    Parameters
    ----------
    incidents : pandas.DataFrame
    model : RiskModel, optional

    Returns
    -------
    numpy.ndarray of float64

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"location_precision": ["exact", "municipality", "state"]})
    >>> incident_bandwidths(inc, RiskModel(bandwidth_m=20000)).round(0).tolist()
    [20000.0, 25000.0, nan]
    """
    model = model or RiskModel()
    n = len(incidents)
    if "location_precision" not in incidents:
        return np.full(n, model.bandwidth_m)
    codes, lut = _bandwidth_codes(incidents, model)
    return lut[codes]


def _bandwidth_codes(incidents, model: RiskModel) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, lut)`` with ``lut[codes] == incident_bandwidths(incidents, model)``: one bandwidth per distinct
    precision, so that anything computed from the bandwidth alone is computed once per precision."""
    if "location_precision" not in incidents:
        return np.zeros(len(incidents), dtype=np.intp), np.array([float(model.bandwidth_m)])
    sigma_map = {k: (np.nan if v is None else float(v)) for k, v in LOCATION_SIGMA_M.items()}
    codes, sigma = _lookup_codes(incidents["location_precision"], sigma_map, sigma_map["unknown"])
    return codes, np.sqrt(model.bandwidth_m**2 + sigma**2)


def precision_factor(bandwidths, model: RiskModel | None = None) -> np.ndarray:
    """Mass-keeping factor of a record whose kernel is widened from ``h = bandwidth_m`` to ``h_i``.

    The summed exposure a record gives a dense network of segments of length ``L = segment_length_m`` is
    proportional to ``P(h) + L * Q(h)``, with ``P`` the integral of ``K(.; h)`` over the plane (``~ h**2``) and ``Q``
    its integral along a line (``~ h``) (:func:`routerisk.intervals.kernel_integrals`). The factor

        f_i = (P(h) + L Q(h)) / (P(h_i) + L Q(h_i))

    keeps that total equal to an exactly located record's, whatever the precision. For short segments it tends to
    ``(h / h_i) ** 2``, which is also the expected Gaussian kernel of an exact record under Gaussian location
    error of variance ``h_i**2 - h**2``. NaN (unplaced) stays NaN.

    Examples
    --------
    >>> precision_factor([15000.0, 21213.2], RiskModel(bandwidth_m=15000, segment_length_m=1e-9)).round(3).tolist()
    [1.0, 0.5]
    >>> precision_factor([15000.0, 21213.2], RiskModel(bandwidth_m=15000)).round(3).tolist()
    [1.0, 0.54]
    """
    model = model or RiskModel()
    h = np.asarray(bandwidths, dtype=np.float64)
    L = model.segment_length_m
    p0, q0, _ = kernel_integrals(model.kernel, model.bandwidth_m)
    p1, q1, _ = kernel_integrals(model.kernel, h)
    return (p0 + L * q0) / (p1 + L * q1)


def _lookup(values, table: dict, default: float) -> np.ndarray:
    """``table[v]`` (``default`` for a value not in ``table`` or missing) for each value, one lookup per distinct value.

    Equivalent to ``pd.Series(values, dtype=object).map(table)`` with ``default`` for the misses, without a
    Python object per row: pandas' pyarrow strings are matched by ``pyarrow.compute.index_in``, categoricals use
    their codes, anything else is factorized first.
    """
    codes, lut = _lookup_codes(values, table, default)
    return lut[codes]


def _lookup_codes(values, table: dict, default: float) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, lut)`` with ``lut[codes] == _lookup(values, table, default)``: one value per distinct code."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":  # pandas' default strings
        import pyarrow as pa
        import pyarrow.compute as pc

        keys = [k for k in table if isinstance(k, str)]
        lut = np.array([float(np.nan if table[k] is None else table[k]) for k in keys] + [default], dtype=np.float64)
        idx = pc.index_in(pa.array(s.array), value_set=pa.array(keys, type=pa.string()))  # null: missing or unknown
        return np.asarray(pc.fill_null(idx, len(keys)).to_numpy(), dtype=np.intp), lut
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = s.cat.codes.to_numpy(), s.cat.categories
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    found = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(table).to_numpy(dtype=np.float64)
    known = pd.Series(np.asarray(uniques, dtype=object), dtype=object).isin(list(table)).to_numpy()
    lut = np.append(np.where(known, found, default), default)  # code -1 (missing) reads the last entry
    return codes, lut
