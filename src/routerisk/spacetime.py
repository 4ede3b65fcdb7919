"""Space-time exposure of route segments: one kernel pass, one column per period (month, quarter or year).

For every segment ``s`` and period ``t`` (the formulas of ``docs/model.md``, restricted to the records dated in
``t``):

- ``E_st = sum_{i in t} w_i f_i K(d_is; h_i)``, with ``w_i`` the record's severity (:func:`routerisk.scoring.
  incident_weights`) and **time decay off**: each period is its own window, so a record counts fully in its own
  period and not at all in the others (a half-life inside a space-time cube would make early records of a period
  count less than late ones and blur the comparison between periods);
- the 90 % interval of the expected ``E_st`` (:func:`routerisk.intervals.exposure_interval`) from the per-period
  sum of squares and largest contribution, with the "one more record" term of a period of the same length;
- ``count_st``: the records of ``t`` attributed to their nearest segment in reach
  (:func:`routerisk.stats.attribute_incidents`) and the exact binomial hot-spot test of each network
  neighbourhood in each period (:func:`routerisk.stats.segment_hotspots`, BH over the segments of that period).

The kernel is evaluated once: the sparse (segment x record) kernel matrix (:func:`routerisk.engine.kernel_matrix`),
in blocks of records, is multiplied by the sparse (record x period) matrix of weights. Records without a date,
outside the window or not placed (state-level precision) do not enter the cube.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numba import njit

from ._errors import ConfigError
from .crs import analysis_crs
from .engine import kernel_matrix, segment_pieces
from .intervals import exposure_interval, mean_reach_kernel
from .model import KERNEL_SUPPORT, RiskModel
from .scoring import incident_bandwidths, incident_weights, precision_factor
from .stats import (
    HOTSPOT_LEVELS,
    attribute_incidents,
    bh_adjust,
    binom_two_sided_p,
    network_neighbourhood,
    segment_adjacency,
)

__all__ = [
    "MAX_CUBE_CELLS",
    "PERIODS",
    "SpaceTimeCube",
    "group_exposure",
    "hotspot_labels",
    "period_of",
    "period_tests",
    "project_incidents",
    "spacetime_exposure",
]

#: Period lengths a cube can use, and their pandas frequency.
PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}
_BLOCK = 50_000  # records per block of the kernel matrix (bounds the memory of the sparse pairs)
#: Most (segment, period) cells of a cube: about 10 arrays of float64 per cell are held (0.8 GB at the limit).
MAX_CUBE_CELLS = 10_000_000


@dataclass
class SpaceTimeCube:
    """Per-period statistics of every segment: arrays of shape (n_segments, n_periods).

    Attributes
    ----------
    periods : list of str
        Period labels (``"2020-01"``, ``"2020Q1"`` or ``"2020"``), in time order, with no gap.
    exposure, exposure_lo, exposure_hi : numpy.ndarray
        ``E_st`` and its 90 % interval.
    n_in_reach : numpy.ndarray of int
        Records of the period inside the kernel support of the segment.
    count : numpy.ndarray of int
        Records of the period attributed to the segment (nearest segment in reach).
    observed, expected : numpy.ndarray
        Attributed count in the network neighbourhood and its expectation under the null of the hot-spot test.
    z : numpy.ndarray
        ``(observed - expected) / sqrt(expected (1 - P))`` (binomial z of the neighbourhood count; 0 where not
        tested), the statistic whose trend :func:`routerisk.trends.emerging_hotspots` tests.
    p_value : numpy.ndarray
        BH-adjusted exact binomial p-value of the period (NaN where not tested).
    hotspot : numpy.ndarray of object (property)
        ``segment_hotspots``' label per period ("hot 90%", "cold 95%", "not significant", "not tested").
    segment_ids : numpy.ndarray
        The segments' ``segment_id`` (or their index).
    attrs : dict
        Constants: period, analysis CRS, counts of records used and left out.
    """

    periods: list[str]
    exposure: np.ndarray
    exposure_lo: np.ndarray
    exposure_hi: np.ndarray
    n_in_reach: np.ndarray
    count: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    segment_ids: np.ndarray
    attrs: dict = field(default_factory=dict)

    @property
    def hotspot(self) -> np.ndarray:
        """``segment_hotspots``' label of every cell ("hot 90%", "cold 95%", "not significant", "not tested")."""
        return hotspot_labels(self.p_value, self.observed - self.expected)

    def long(self) -> pd.DataFrame:
        """One row per segment and period (``segment_id``, ``period`` and every per-period array)."""
        nseg, nper = self.exposure.shape
        data = {"segment_id": np.repeat(self.segment_ids, nper), "period": np.tile(np.asarray(self.periods), nseg)}
        for name in ("exposure", "exposure_lo", "exposure_hi", "n_in_reach", "count", "observed", "expected", "z",
                     "p_value", "hotspot"):  # fmt: skip
            data[name] = getattr(self, name).reshape(-1)
        return pd.DataFrame(data)


def period_of(dates, period: str = "quarter") -> pd.PeriodIndex:
    """The period (month, quarter or year) of each date; NaT stays NaT.

    Examples
    --------
    >>> [str(p) for p in period_of(["2020-02-10", "2020-11-30"], "quarter")]
    ['2020Q1', '2020Q4']
    """
    if period not in PERIODS:
        msg = f"`period` was {period!r} but must be one of {', '.join(PERIODS)}"
        raise ConfigError(msg)
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.PeriodIndex(d.dt.to_period(PERIODS[period]))


def project_incidents(incidents, crs) -> tuple[np.ndarray, np.ndarray]:
    """Projected ``(n, 2)`` coordinates of incidents (a GeoDataFrame of points, or a lon/lat table) and validity.

    Examples
    --------
    >>> import pandas as pd
    >>> xy, ok = project_incidents(pd.DataFrame({"lon": [-99.1, None], "lat": [19.4, 19.0]}), "EPSG:6372")
    >>> ok.tolist()
    [True, False]
    """
    if isinstance(incidents, gpd.GeoDataFrame):
        geoms = np.asarray(incidents.geometry.to_crs(crs).values, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        xy = np.full((len(geoms), 2), np.nan)
        if ok.any():
            xy[ok] = shapely.get_coordinates(geoms[ok])[:, :2]
        return xy, ok & np.all(np.isfinite(xy), axis=1)
    from pyproj import Transformer

    lon = pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    xy = np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
    return xy, np.all(np.isfinite(xy), axis=1)


def _segment_ids(segments) -> np.ndarray:
    if "segment_id" in segments:
        return segments["segment_id"].to_numpy(dtype=object)
    return segments.index.to_numpy()


def _share(segments, seg_len: np.ndarray) -> np.ndarray:
    """Null share of the hot-spot test: the ``flow`` column when present, else the length."""
    if "flow" in segments:
        flow = pd.to_numeric(segments["flow"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isfinite(flow) & (flow > 0), flow, 0.0)
    return np.where(np.isfinite(seg_len), seg_len, 0.0)


def _cube_model(model: RiskModel | None) -> RiskModel:
    model = model or RiskModel()
    return model if model.half_life_days == 0 else RiskModel.from_dict({**model.to_dict(), "half_life_days": 0})


def _periods(dates, period: str, model: RiskModel, periods=None) -> tuple[pd.PeriodIndex, np.ndarray]:
    """The full run of periods (first to last, no gaps) and each record's column (-1 outside / undated)."""
    per = period_of(dates, period)
    freq = PERIODS[period]
    if periods is None:
        lo = pd.Period(model.window_start, freq) if model.window_start is not None else per.min()
        hi = pd.Period(model.window_end, freq) if model.window_end is not None else per.max()
        if pd.isna(lo) or pd.isna(hi):
            msg = "no dated record: a space-time cube needs records with dates"
            raise ConfigError(msg)
        periods = pd.period_range(lo, hi, freq=freq)
    else:
        periods = pd.PeriodIndex([pd.Period(p, freq) for p in periods])
    col = periods.get_indexer(per)
    return periods, np.asarray(col, dtype=np.int64)


@njit(cache=True)
def _scatter(key, c, E, V, M, N) -> None:  # pragma: no cover - compiled
    for j in range(key.shape[0]):
        k = key[j]
        E[k] += c[j]
        V[k] += c[j] * c[j]
        N[k] += 1
        if c[j] > M[k]:
            M[k] = c[j]


def _accumulate(K: sp.csr_matrix, c_w: np.ndarray, col: np.ndarray, nper: int, out: dict) -> None:
    """Add one block's contributions ``c = w_i K_si`` to the per-period sums, squares, maxima and counts."""
    rows = np.repeat(np.arange(K.shape[0], dtype=np.int64), np.diff(K.indptr))
    cols = K.indices.astype(np.int64)
    _scatter(rows * nper + col[cols], K.data * c_w[cols], out["E"], out["V"], out["M"], out["N"])


def group_exposure(seg_geoms, pts, weights, bandwidths, group, n_groups: int, model: RiskModel,
                   backend: str = "auto") -> dict:
    """Per-segment, per-group exposure sums in one pass of the kernel (groups: periods, windows, ...).

    Parameters
    ----------
    seg_geoms : array of projected LineStrings (metres)
    pts : array of shape (n, 2)
        Projected record coordinates.
    weights, bandwidths : arrays of shape (n,)
        ``w_i f_i`` and ``h_i``.
    group : array of int, shape (n,)
        Column of each record, in ``[0, n_groups)``.
    n_groups : int
    model : RiskModel
        Its ``kernel``.
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    dict of arrays of shape (n_segments, n_groups)
        ``E`` (sum of contributions), ``V`` (sum of squares), ``M`` (largest), ``N`` (records in reach).

    Examples
    --------
    >>> from shapely import LineString
    >>> out = group_exposure([LineString([(0, 0), (10, 0)])], np.array([[5.0, 0.0], [5.0, 3.0]]),
    ...                      np.array([1.0, 2.0]), np.array([5.0, 5.0]), np.array([0, 1]), 2,
    ...                      RiskModel(kernel="uniform", bandwidth_m=5.0))
    >>> out["E"].tolist(), out["N"].tolist()
    ([[1.0, 2.0]], [[1, 1]])
    """
    return _exposure_cube(np.asarray(seg_geoms, dtype=object), np.asarray(pts, dtype=np.float64).reshape(-1, 2),
                          np.asarray(weights, dtype=np.float64), np.asarray(bandwidths, dtype=np.float64),
                          np.asarray(group, dtype=np.int64), int(n_groups), model, backend)  # fmt: skip


def _exposure_cube(seg_geoms, pts, wp, hp, col, nper, model, backend) -> dict:
    nseg = len(seg_geoms)
    xy0, xy1, ps = segment_pieces(seg_geoms)
    out = {k: np.zeros(nseg * nper) for k in ("E", "V", "M")}
    out["N"] = np.zeros(nseg * nper, dtype=np.int64)
    for lo in range(0, len(pts), _BLOCK):
        hi = min(lo + _BLOCK, len(pts))
        K = kernel_matrix(xy0, xy1, pts[lo:hi], hp[lo:hi], model.kernel, piece_segment=ps, n_segments=nseg,
                          backend=backend)  # fmt: skip
        _accumulate(K, wp[lo:hi], col[lo:hi], nper, out)
    return {k: v.reshape(nseg, nper) for k, v in out.items()}


def _binom_p(k: np.ndarray, t: np.ndarray, s: np.ndarray, total: np.ndarray, P: np.ndarray) -> np.ndarray:
    """:func:`routerisk.stats.binom_two_sided_p` of ``k`` records of period ``t`` in the neighbourhood of segment
    ``s``, evaluated once per distinct (k, total of t, P of s)."""
    if len(k) == 0:
        return np.zeros(0)
    p_values, p_index = np.unique(P, return_inverse=True)
    key = (k * len(total) + t) * len(p_values) + p_index.reshape(-1)[s]
    codes, uniq = pd.factorize(key)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # one row of each distinct key
    pv = binom_two_sided_p(k[first], total[t[first]], P[s[first]])
    return pv[codes]


def period_tests(count, share, neighbourhood) -> dict:
    """The exact binomial hot-spot test of :func:`routerisk.stats.segment_hotspots`, for every period at once.

    Same null, p-values and Benjamini-Hochberg adjustment (per period, over its tested segments) as calling
    ``segment_hotspots(count[:, t], share, neighbourhood)`` for each period ``t`` (tested equal), without the
    per-period tables: one sparse product for the neighbourhood counts, one p-value per distinct case.

    Parameters
    ----------
    count : array of int, shape (n_segments, n_periods)
        Attributed records.
    share : array of float, shape (n_segments,)
        Null share of each segment (length or flow).
    neighbourhood : scipy.sparse matrix (n_segments, n_segments)
        Binary network neighbourhoods (:func:`routerisk.stats.network_neighbourhood`).

    Returns
    -------
    dict of arrays of shape (n_segments, n_periods)
        ``observed``, ``expected``, ``z`` (binomial z, 0 where not tested), ``p_raw`` and ``p_value`` (adjusted;
        NaN where not tested).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> count = np.zeros((5, 2), dtype=int)
    >>> count[2] = [0, 12]
    >>> out = period_tests(count, np.ones(5), sp.identity(5, format="csr"))
    >>> bool(np.isnan(out["p_value"][:, 0]).all()), bool(out["p_value"][2, 1] < 0.01)
    (True, True)
    """
    c = np.asarray(count, dtype=np.int64)
    nseg, nper = c.shape
    share_n = np.asarray(share, dtype=np.float64) / np.sum(share)
    H = (sp.csr_matrix(neighbourhood, dtype=np.float64) != 0).astype(np.float64) + sp.identity(nseg, format="csr")
    H.data[:] = 1.0
    observed = np.asarray(H @ c.astype(np.float64)).round().astype(np.int64)
    P = np.clip(H @ share_n, 0.0, 1.0)
    positive = share_n > 0
    covers_all = np.asarray(H @ positive.astype(np.float64)).round() == positive.sum()
    P[covers_all] = 1.0
    total = c.sum(axis=0)
    expected = P[:, None] * total[None, :]
    tested = ((P > 0) & ~covers_all)[:, None] & (total > 0)[None, :]
    p_raw = np.full((nseg, nper), np.nan)
    si, ti = np.nonzero(tested)
    p_raw[si, ti] = _binom_p(observed[si, ti], ti, si, total, P)
    q = np.full((nseg, nper), np.nan)
    for t in np.flatnonzero(tested.any(axis=0)):
        ok = tested[:, t]
        q[ok, t] = bh_adjust(p_raw[ok, t])
    var = expected * (1.0 - P[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(tested & (var > 0), (observed - expected) / np.sqrt(var), 0.0)
    return {"observed": observed.astype(np.float64), "expected": expected, "z": z, "p_raw": p_raw, "p_value": q}


def hotspot_labels(p_value, direction) -> np.ndarray:
    """``segment_hotspots``' labels from adjusted p-values and ``observed - expected``: "hot 99%" ... "not tested".

    Examples
    --------
    >>> hotspot_labels(np.array([[0.005, 0.07, 0.5, np.nan]]), np.array([[2.0, -1.0, 1.0, 0.0]])).tolist()
    [['hot 99%', 'cold 90%', 'not significant', 'not tested']]
    """
    q = np.asarray(p_value, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    labels = np.where(np.isfinite(q), "not significant", "not tested").astype(object)
    for level, name in reversed(HOTSPOT_LEVELS):  # loosest first, so stricter levels overwrite
        sig = np.isfinite(q) & (q <= level)
        labels[sig & (d > 0)] = f"hot {name}"
        labels[sig & (d < 0)] = f"cold {name}"
    return labels


def _intervals(ex: dict, c0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The intervals of the cells with a record in reach; a segment's empty cells share one interval."""
    nseg, nper = ex["E"].shape
    lo0, hi0 = exposure_interval(np.zeros(nseg), np.zeros(nseg), np.zeros(nseg), c0)
    lo, hi = np.repeat(lo0[:, None], nper, axis=1), np.repeat(hi0[:, None], nper, axis=1)
    some = ex["N"] > 0
    c0_cell = np.broadcast_to(c0[:, None], (nseg, nper))[some]
    lo[some], hi[some] = exposure_interval(ex["E"][some], ex["V"][some], ex["M"][some], c0_cell)
    return lo, hi


def _hotspot_cube(seg_geoms, seg_len, segments, pts, reach, col, nper, model) -> dict:
    nseg = len(seg_geoms)
    att = attribute_incidents(seg_geoms, pts, reach)
    ok = att >= 0
    count = np.bincount(att[ok] * nper + col[ok], minlength=nseg * nper).reshape(nseg, nper)
    share = _share(segments, seg_len)
    if nseg < 2 or share.sum() <= 0 or count.sum() == 0:
        res = {k: np.full((nseg, nper), np.nan) for k in ("observed", "expected", "p_raw", "p_value")}
        res["z"] = np.zeros((nseg, nper))
    else:
        A = segment_adjacency(seg_geoms, snap_m=model.junction_snap_m)
        res = period_tests(count, share, network_neighbourhood(A, model.neighbour_steps))
    res["count"] = count
    return res


def spacetime_exposure(
    segments: gpd.GeoDataFrame,
    incidents,
    *,
    period: str = "quarter",
    model: RiskModel | None = None,
    periods=None,
    backend: str = "auto",
) -> SpaceTimeCube:
    """Exposure, its interval, attributed counts and the hot-spot test of every segment in every period.

    One pass of the kernel: the (segment x record) kernel matrix, in blocks of records, times the (record x
    period) weights. Time decay is off (``half_life_days`` is ignored: each period is its own window); the
    model's window, when set, bounds the periods. Summed over the periods, ``exposure`` equals
    :func:`routerisk.score_segments`' ``incident_exposure`` with ``half_life_days = 0`` for dated records.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Segment lines (any CRS; ``segment_id`` used when present).
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
        Canonical incidents (points, or a ``lon``/``lat`` table in EPSG:4326) with a ``date`` column.
    period : {"month", "quarter", "year"}
    model : RiskModel, optional
    periods : sequence of period labels, optional
        Fix the columns (e.g. ``["2020Q1", "2020Q2"]``); default: every period from the first to the last record.
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    SpaceTimeCube

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame({"segment_id": ["a", "b"]}, crs="EPSG:6372",
    ...                        geometry=[LineString([(0, 0), (5000, 0)]), LineString([(5000, 0), (10000, 0)])])
    >>> inc = gpd.GeoDataFrame({"category": ["homicide"] * 2, "date": pd.to_datetime(["2020-01-05", "2020-03-01"])},
    ...                        geometry=[Point(1000, 0), Point(9000, 0)], crs="EPSG:6372")
    >>> cube = spacetime_exposure(seg, inc, period="month", model=RiskModel(bandwidth_m=5000, crs="EPSG:6372"))
    >>> cube.periods, cube.count.tolist()
    (['2020-01', '2020-02', '2020-03'], [[1, 0, 0], [0, 0, 1]])
    """
    model = _cube_model(model)
    if "date" not in incidents:
        msg = "incidents have no `date` column: a space-time cube needs dated records"
        raise ConfigError(msg)
    wgs = segments.geometry.to_crs("EPSG:4326") if segments.crs is not None else segments.geometry
    crs = analysis_crs(tuple(wgs.total_bounds) if len(wgs) else None, model.crs)
    seg_geoms = np.asarray(segments.geometry.to_crs(crs).values, dtype=object)
    seg_len = shapely.length(seg_geoms)
    prd, col = _periods(incidents["date"], period, model, periods)
    if len(seg_geoms) * len(prd) > MAX_CUBE_CELLS:
        msg = (f"the space-time cube would hold {len(seg_geoms):,} segments x {len(prd):,} periods, more than "
               f"{MAX_CUBE_CELLS:,} cells: choose a longer --period, a window (--param window_start=...) or longer "
               "segments (--param segment_length_m=...)")  # fmt: skip
        raise ConfigError(msg)
    w = incident_weights(incidents, model)
    h = incident_bandwidths(incidents, model)
    xy, ok = project_incidents(incidents, crs)
    placed = ok & np.isfinite(h) & (w > 0) & (col >= 0)
    pts, hp, colp = xy[placed], h[placed], col[placed]
    wp = w[placed] * precision_factor(hp, model)
    nper = len(prd)
    ex = _exposure_cube(seg_geoms, pts, wp, hp, colp, nper, model, backend)
    c0 = float(np.median(list(model.category_weights.values()))) * mean_reach_kernel(
        model.kernel, model.bandwidth_m, seg_len
    )
    lo, hi = _intervals(ex, c0)
    hs = _hotspot_cube(seg_geoms, seg_len, segments, pts, KERNEL_SUPPORT[model.kernel] * hp, colp, nper, model)
    attrs = {
        "period": period,
        "periods": [str(p) for p in prd],
        "analysis_crs": crs.to_string(),
        "time_decay": "off (each period is its own window)",
        "n_incidents": len(incidents),
        "n_incidents_used": int(placed.sum()),
        "n_incidents_undated_or_outside": int((col < 0).sum()),
        "n_incidents_attributed": int(hs["count"].sum()),
    }
    return SpaceTimeCube(
        periods=[str(p) for p in prd], exposure=ex["E"], exposure_lo=lo, exposure_hi=hi, n_in_reach=ex["N"],
        count=hs["count"], observed=hs["observed"], expected=hs["expected"], z=hs["z"], p_value=hs["p_value"],
        segment_ids=_segment_ids(segments), attrs=attrs,
    )  # fmt: skip
