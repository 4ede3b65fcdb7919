"""Bandwidth from the data (likelihood cross-validation) and the sensitivity of the ranking to the bandwidth.

**Selection.** :func:`select_bandwidth` maximises the leave-one-out log-likelihood of the incidents' weighted
kernel intensity, the criterion of spatstat's ``bw.ppl`` and of spNetwork's ``bw_cv_likelihood_calc``:

    CV(sigma) = sum_i log lambda_{-i}(x_i),   lambda_{-i}(x) = sum_{j not at x_i} w_j phi(x - x_j; sigma_j)

with ``phi`` the normalised bivariate Gaussian, ``w_j`` the incident weights of the model (severity x decay, zero
outside the window) and ``sigma_j = sqrt(sigma**2 + s_j**2)`` where ``s_j`` is the record's location error
(:data:`routerisk.schema.LOCATION_SIGMA_M`). Without edge correction the integral term of the point-process
likelihood is the constant ``sum w``, so it drops out. Two choices make the criterion usable on real records:

- *leave one location out*: records at exactly the same coordinates (placeholder points, a group of victims) are
  left out together, otherwise the criterion rewards ``sigma -> 0`` on duplicated points;
- *the Gaussian kernel* for the criterion, whatever the model's kernel: its density is positive everywhere, so no
  record has a zero leave-one-out likelihood (with a compact kernel an isolated record would force the bandwidth
  up to its nearest neighbour, or be dropped). The selected ``sigma`` is carried to the model's kernel by equal
  per-axis standard deviation (:data:`GAUSSIAN_EQUIVALENT`): quartic ``h = sqrt(8) sigma``, Epanechnikov
  ``h = sqrt(6) sigma``, triweight ``h = sqrt(10) sigma``, uniform ``h = 2 sigma``, Gaussian ``h = sigma``.

The candidates are a geometric grid (as ``bw.ppl``) from the smallest positive nearest-neighbour distance (at least
``min_m``) to half the diameter of the points (at most ``max_m``). Above ``max_points`` records a seeded random
sample is used (the criterion is a sum of ``n`` terms over ``n`` records: quadratic).

**Sensitivity.** :func:`bandwidth_sensitivity` scores the segments again at multiples of the bandwidth and reports,
for each, the overlap of the top-``top`` segments with those at the chosen bandwidth and Kendall's tau-b of the
ranking of ``incident_exposure`` (:func:`routerisk.stats.kendall_tau_b`, equal to ``scipy.stats.kendalltau`` without
importing scipy.stats), so a reader sees whether the map's message depends on the smoothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import njit, prange

from ._coords import _projected_point_xy
from ._errors import InputError
from .crs import analysis_crs
from .kernels import registry_view
from .model import RiskModel
from .schema import LOCATION_SIGMA_M
from .scoring import incident_exposure, incident_weights
from .stats import kendall_tau_b

__all__ = [
    "GAUSSIAN_EQUIVALENT",
    "SENSITIVITY_FACTORS",
    "BandwidthSelection",
    "bandwidth_sensitivity",
    "resolve_bandwidth",
    "select_bandwidth",
]

#: ``bandwidth_m`` of each kernel with the per-axis standard deviation of a Gaussian of ``sigma = 1``: the 2-D
#: kernels ``(1 - r^2)^2``, ``1 - r^2``, ``(1 - r^2)^3`` and the uniform disc have ``E[r^2] = 1/4, 1/3, 1/5, 1/2``,
#: per axis half of it (a live view of :data:`routerisk.kernels.KERNEL_REGISTRY`).
GAUSSIAN_EQUIVALENT: Mapping[str, float] = registry_view("gaussian_equivalent")
#: Multiples of the bandwidth in the sensitivity table.
SENSITIVITY_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)
_N_CANDIDATES = 25


@dataclass(frozen=True)
class BandwidthSelection:
    """The answer of :func:`select_bandwidth`.

    Attributes
    ----------
    bandwidth_m : float
        Selected ``bandwidth_m`` for the model's kernel.
    sigma_m : float
        The maximising Gaussian standard deviation.
    kernel : str
    table : pandas.DataFrame
        ``sigma_m``, ``bandwidth_m`` and ``cv_log_likelihood`` of every candidate.
    n_records, n_locations : int
        Records (and distinct locations) the criterion used.
    at_boundary : bool
        True when the maximum is at the smallest or largest candidate (widen the range).
    """

    bandwidth_m: float
    sigma_m: float
    kernel: str
    table: pd.DataFrame
    n_records: int
    n_locations: int
    at_boundary: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary for the manifest (the table as lists)."""
        return {
            "method": "likelihood cross-validation (leave one location out, Gaussian equivalent)",
            "bandwidth_m": self.bandwidth_m,
            "sigma_m": self.sigma_m,
            "kernel": self.kernel,
            "n_records": self.n_records,
            "n_locations": self.n_locations,
            "at_boundary": self.at_boundary,
            "candidates_m": [round(float(v), 3) for v in self.table["bandwidth_m"]],
            "cv_log_likelihood": [round(float(v), 6) for v in self.table["cv_log_likelihood"]],
        }


def select_bandwidth(
    incidents: pd.DataFrame,
    *,
    model: RiskModel | None = None,
    crs: Any = None,
    min_m: float = 500.0,
    max_m: float = 200_000.0,
    candidates_m: Any = None,
    max_points: int = 3000,
) -> BandwidthSelection:
    """Bandwidth of the model's kernel by likelihood cross-validation of the incidents' intensity.

    Parameters
    ----------
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
        Canonical incidents (points, or a ``lon``/``lat`` table in EPSG:4326).
    model : RiskModel, optional
        Supplies the kernel, the incident weights (window, decay, severity) and the seed of the sample.
    crs : CRS-like, optional
        Projected CRS in metres; default :func:`routerisk.analysis_crs` of the incidents' extent and ``model.crs``.
    min_m, max_m : float
        Limits of the automatic candidate range, in metres of Gaussian ``sigma``.
    candidates_m : array-like, optional
        Candidate ``bandwidth_m`` values of the model's kernel instead of the automatic grid.
    max_points : int, default 3000
        Records used at most (a seeded random sample above it).

    Returns
    -------
    BandwidthSelection

    Raises
    ------
    routerisk.InputError
        When fewer than two distinct placed locations have a positive weight.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> rng = np.random.default_rng(0)
    >>> xy = np.r_[rng.normal(0, 2000, (60, 2)), rng.normal(60000, 2000, (60, 2))]
    >>> inc = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs="EPSG:6372")
    >>> sel = select_bandwidth(inc, model=RiskModel(kernel="gaussian", half_life_days=0))
    >>> 1000 < sel.bandwidth_m < 4000
    True
    """
    model = model or RiskModel()
    xy_all = _projected_point_xy(incidents, crs or _crs_for(incidents, model, analysis_crs))
    if xy_all is None:
        msg = "bandwidth selection needs point incidents (or a lon/lat table)"
        raise InputError(msg)
    x, y, valid = xy_all
    w = incident_weights(incidents, model)
    s = _location_sigma(incidents)
    keep = valid & np.isfinite(s) & (w > 0)
    xy, w, s = np.column_stack([x[keep], y[keep]]), w[keep], s[keep]
    if len(xy) > max_points:
        pick = np.sort(np.random.default_rng(model.seed).choice(len(xy), size=max_points, replace=False))
        xy, w, s = xy[pick], w[pick], s[pick]
    loc_id = pd.factorize(pd.MultiIndex.from_arrays([xy[:, 0], xy[:, 1]]))[0] if len(xy) else np.zeros(0, int)
    n_loc = int(loc_id.max()) + 1 if len(loc_id) else 0
    if n_loc < 2:
        msg = (
            f"bandwidth selection needs at least two distinct incident locations with a positive weight; "
            f"found {n_loc} (set bandwidth_m to a number instead of 'auto')"
        )
        raise InputError(msg)
    factor = GAUSSIAN_EQUIVALENT[model.kernel]
    if candidates_m is None:
        sigmas = _candidate_sigmas(xy, min_m, max_m)
    else:
        sigmas = np.asarray(candidates_m, dtype=np.float64) / factor
        if sigmas.ndim != 1 or len(sigmas) == 0 or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
            msg = f"`candidates_m` must be positive finite numbers, got {candidates_m!r}"
            raise InputError(msg)
    cv = _cv_log_likelihoods(xy, w, s, loc_id, sigmas)
    best = int(np.argmax(cv))
    table = pd.DataFrame({"sigma_m": sigmas, "bandwidth_m": sigmas * factor, "cv_log_likelihood": cv})
    return BandwidthSelection(
        bandwidth_m=float(sigmas[best] * factor),
        sigma_m=float(sigmas[best]),
        kernel=model.kernel,
        table=table,
        n_records=len(xy),
        n_locations=n_loc,
        at_boundary=candidates_m is None and best in (0, len(sigmas) - 1),
    )


def resolve_bandwidth(model: RiskModel, incidents: pd.DataFrame, *, auto: bool) -> tuple[RiskModel, Any]:
    """``model`` with ``bandwidth_m`` selected from ``incidents`` when ``auto``, and the selection (or None).

    Examples
    --------
    >>> m, sel = resolve_bandwidth(RiskModel(), None, auto=False)
    >>> sel is None and m == RiskModel()
    True
    """
    if not auto:
        return model, None
    sel = select_bandwidth(incidents, model=model)
    return dataclasses.replace(model, bandwidth_m=round(sel.bandwidth_m, 1)), sel


def bandwidth_sensitivity(
    segments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    model: RiskModel | None = None,
    factors: tuple[float, ...] = SENSITIVITY_FACTORS,
    top: int = 20,
) -> pd.DataFrame:
    """How the ranking of segments by ``incident_exposure`` moves when the bandwidth is scaled.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Segments as given to :func:`routerisk.score_segments`.
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
    model : RiskModel, optional
    factors : tuple of float
        Multiples of ``model.bandwidth_m``.
    top : int, default 20
        Size of the top set compared.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``bandwidth_m``, ``top_n``, ``top_overlap`` (segments of the top ``top_n`` at
        this bandwidth that are also in the top ``top_n`` at the model's bandwidth, 0-1) and ``kendall_tau`` (tau-b
        of the two rankings over all segments; NaN when either has no variation).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(i * 5000, 0), (i * 5000 + 5000, 0)]) for i in range(8)],
    ...                        crs="EPSG:6372")
    >>> inc = gpd.GeoDataFrame(geometry=[Point(1000, 0), Point(1200, 0), Point(30000, 100)], crs="EPSG:6372")
    >>> t = bandwidth_sensitivity(seg, inc, model=RiskModel(crs="EPSG:6372", half_life_days=0), top=2)
    >>> t.loc[t["factor"] == 1.0, ["top_overlap", "kendall_tau"]].values.tolist()
    [[1.0, 1.0]]
    """
    model = model or RiskModel()
    n = len(segments)
    k = max(1, min(int(top), n))
    base = incident_exposure(segments, incidents, model=model)
    base_top = set(_top(base, k))
    rows = []
    for f in factors:
        if float(f) == 1.0:
            e = base
        else:
            scaled = dataclasses.replace(model, bandwidth_m=float(model.bandwidth_m) * float(f))
            e = incident_exposure(segments, incidents, model=scaled)
        tau = np.nan
        if n > 1 and np.ptp(base) > 0 and np.ptp(e) > 0:
            tau = kendall_tau_b(base, e)
        overlap = len(base_top & set(_top(e, k))) / k if n else np.nan
        rows.append(
            {"factor": float(f), "bandwidth_m": float(model.bandwidth_m) * float(f), "top_n": k,
             "top_overlap": overlap, "kendall_tau": tau}
        )
    return pd.DataFrame(rows)


# -- helpers ------------------------------------------------------------------------------------------------------
def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, ties broken by position (stable)."""
    return np.argsort(-values, kind="stable")[:k]


def _crs_for(incidents, model: RiskModel, analysis_crs):
    if isinstance(incidents, gpd.GeoDataFrame) and incidents._geometry_column_name in incidents.columns:
        if len(incidents) == 0:
            return analysis_crs(None, model.crs)
        if incidents.crs is not None and incidents.crs.is_projected and model.crs == "auto":
            return incidents.crs
        g = incidents.geometry if incidents.crs is None or incidents.crs.is_geographic else incidents.geometry.to_crs(
            "EPSG:4326"
        )
        return analysis_crs(tuple(g.total_bounds), model.crs)
    lon = pd.to_numeric(incidents["lon"], errors="coerce")
    lat = pd.to_numeric(incidents["lat"], errors="coerce")
    bounds = (lon.min(), lat.min(), lon.max(), lat.max()) if lon.notna().any() else None
    return analysis_crs(bounds, model.crs)


def _location_sigma(incidents) -> np.ndarray:
    n = len(incidents)
    if "location_precision" not in incidents:
        return np.zeros(n)
    table = {k: (np.nan if v is None else float(v)) for k, v in LOCATION_SIGMA_M.items()}
    prec = pd.Series(incidents["location_precision"], dtype=object).to_numpy()
    codes, uniques = pd.factorize(prec, use_na_sentinel=True)
    lut = np.array([table.get(u, table["unknown"]) for u in uniques] + [table["unknown"]], dtype=np.float64)
    return lut[codes]


def _candidate_sigmas(xy: np.ndarray, min_m: float, max_m: float) -> np.ndarray:
    from scipy.spatial import cKDTree  # lazy: +0.07 s on a run's start-up (measured), only bandwidth = auto

    dist, _ = cKDTree(xy).query(xy, k=min(len(xy), 8))
    nn = dist[:, 1:][dist[:, 1:] > 0]
    lo = max(float(min_m), float(nn.min()) if len(nn) else float(min_m))
    span = np.ptp(xy, axis=0)
    hi = min(float(max_m), 0.5 * float(np.hypot(*span)))
    hi = max(hi, 4.0 * lo)
    return np.geomspace(lo, hi, _N_CANDIDATES)


def _cv_log_likelihoods(xy: np.ndarray, w: np.ndarray, s: np.ndarray, loc_id: np.ndarray, sigmas) -> np.ndarray:
    """``CV(sigma)`` for every candidate: ``sum_i log sum_{j: loc_j != loc_i} w_j phi(x_i - x_j; sigma_j)``.

    One pass over the pairs for all candidates (compiled, parallel over ``i``); each term is accumulated as a
    running log-sum-exp, so tiny densities of isolated records stay finite.
    """
    sig = np.ascontiguousarray(sigmas, dtype=np.float64)
    var = sig[None, :] ** 2 + (s * s)[:, None]  # (record j, candidate)
    lnorm = np.log(w)[:, None] - np.log(2.0 * np.pi * var)
    per_i = _cv_terms(
        np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), lnorm, 0.5 / var,
        np.ascontiguousarray(loc_id, dtype=np.int64),
    )
    return per_i.sum(axis=0)


@njit(parallel=True, cache=True)
def _cv_terms(x, y, lnorm, half_inv_var, loc):  # pragma: no cover - compiled
    n, m = lnorm.shape
    out = np.empty((n, m))
    for i in prange(n):
        mx = np.full(m, -np.inf)
        acc = np.zeros(m)
        for j in range(n):
            if loc[j] == loc[i]:
                continue
            d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
            for c in range(m):
                a = lnorm[j, c] - d2 * half_inv_var[j, c]
                if a > mx[c]:
                    acc[c] = acc[c] * np.exp(mx[c] - a) + 1.0
                    mx[c] = a
                else:
                    acc[c] += np.exp(a - mx[c])
        for c in range(m):
            out[i, c] = mx[c] + np.log(acc[c])
    return out
