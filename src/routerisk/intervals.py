"""Analytic intervals for the expected incident exposure of a segment (a weighted sum of Poisson counts).

The records are taken as a Poisson process: record ``i`` contributes ``c_i = w_i K(d_is; h_i)`` to segment ``s``,
so ``E_s = y = sum_i c_i`` is an unbiased estimate of the **expected** exposure ``mu_s`` (what the same process
would give on average), with variance estimated by ``v = sum_i c_i^2``. The 90 % interval is the gamma interval
for a weighted sum of Poisson counts (Fay & Feuer 1997, Stat Med 16:791):

    lower = v / (2 y) * chi2.ppf(0.05, 2 y^2 / v)                                 (0 when y = 0)
    upper = (v + c_M^2) / (2 (y + c_M)) * chi2.ppf(0.95, 2 (y + c_M)^2 / (v + c_M^2))

``c_M`` is the contribution of "one more record", which keeps the upper bound honest when few records are in
reach. Fay & Feuer use the largest weight, Tiwari et al. (2006) the mean; both fail when the one or two records
in reach happen to lie at the edge of the kernel (their ``c_i`` are then tiny). Here

    c_M = max(max_i c_i, C_FLOOR * c_0)
    c_0 = median(category_weights) * (mean time decay over the window) * (mean of K(.; h) over the reach)

with ``h = bandwidth_m`` and the reach the set of points within the kernel support of the segment (area
``pi R^2 + 2 R L`` for a segment of length ``L``); the mean decay is the effective years of observation over the
calendar years of the window. ``c_0`` is the contribution of a typical record placed at random in the reach.
A segment without records gets ``[0, -ln(0.05) * C_FLOOR * c_0]``. ``c_M`` depends only on the records in reach
and on model constants, so adding far-away records does not change a segment's interval (with a fixed window and
reference date). ``C_FLOOR = 0.55`` was tuned by simulation (``benchmarks/bench_intervals.py``; measured coverage
in ``docs/model.md``): it sets the upper bound of segments with no or few records, and the coverage in the sparse
regime moves quickly with it (0.5: 83-87 %, 0.55: 90-91 %, 0.6: 95 %).

The interval covers sampling variation of the records under a Poisson process. It does not cover
under-reporting, location error beyond the declared precision, or the choice of bandwidth, weights and half-life.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincinv

from .kernels import get_kernel

__all__ = ["C_FLOOR", "INTERVAL_LEVEL", "exposure_interval", "kernel_integrals", "mean_reach_kernel"]

#: Nominal coverage of ``incident_exposure_lo`` / ``incident_exposure_hi``.
INTERVAL_LEVEL = 0.90
#: Floor of the "one more record" contribution for y > 0, as a share of ``c_0`` (tuned by simulation).
C_FLOOR = 0.55


def kernel_integrals(kernel: str, h) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrals of the unnormalised kernel ``K(.; h)`` (``K(0) = 1``) used by the intervals and the tests.

    Parameters
    ----------
    kernel : str
        A name of :data:`routerisk.kernels.KERNEL_REGISTRY` (whose ``plane`` and ``line`` are returned).
    h : float or array-like
        Bandwidths in metres.

    Returns
    -------
    plane : numpy.ndarray
        ``integral of K(|x|; h) over the plane`` (m²): ``pi h²/3``, ``2 pi h² (1 - e^-4.5)``, ``pi h²/2``,
        ``pi h²``, ``pi h²/4`` (quartic, gaussian, epanechnikov, uniform, triweight).
    line : numpy.ndarray
        ``integral of K(|t|; h) dt over the real line`` (m): ``16h/15``, ``h sqrt(2 pi) erf(3/sqrt 2)``,
        ``4h/3``, ``2h``, ``32h/35``. The integral of ``K(d(x, s))`` over the plane for a straight segment ``s``
        of length ``L`` is ``plane + L * line``.
    reach : numpy.ndarray
        Support radius ``support * h``.

    Examples
    --------
    >>> p, l, r = kernel_integrals("uniform", 2.0)
    >>> float(p) == 4 * math.pi, float(l), float(r)
    (True, 4.0, 2.0)
    """
    h = np.asarray(h, dtype=np.float64)
    kern = get_kernel(kernel)
    return kern.plane(h), kern.line(h), kern.support * h


def mean_reach_kernel(kernel: str, h: float, length_m) -> np.ndarray:
    """Mean of ``K(d(x, s); h)`` over the reach of a straight segment of length ``length_m``.

    The reach is the set of points closer to the segment than the support ``R``: area ``pi R² + 2 R L``.

    Examples
    --------
    >>> round(float(mean_reach_kernel("quartic", 15000.0, 0.0)), 6)
    0.333333
    """
    plane, line, reach = kernel_integrals(kernel, h)
    L = np.maximum(np.asarray(length_m, dtype=np.float64), 0.0)
    return (plane + L * line) / (math.pi * reach * reach + 2.0 * reach * L)


def exposure_interval(y, v, c_max, c_0, *, level: float = INTERVAL_LEVEL, floor: float = C_FLOOR):
    """Gamma interval for the expected value of a weighted sum of Poisson counts, per segment.

    Parameters
    ----------
    y : array-like
        ``sum_i c_i`` (the exposure).
    v : array-like
        ``sum_i c_i^2``.
    c_max : array-like
        ``max_i c_i`` (0 where no record is in reach).
    c_0 : float or array-like
        Model constant: the contribution of one typical record (see the module docstring).
    level : float, default 0.90
        Nominal two-sided coverage.
    floor : float, default :data:`C_FLOOR`
        ``c_M = max(c_max, floor * c_0)``.

    Returns
    -------
    lower, upper : numpy.ndarray
        ``0 <= lower <= y <= upper``; ``upper > 0`` everywhere.

    Examples
    --------
    >>> lo, hi = exposure_interval([0.0, 3.0], [0.0, 3.0], [0.0, 1.0], 1.0)
    >>> lo.round(3).tolist(), hi.round(3).tolist()
    ([0.0, 0.818], [1.648, 7.754])
    """
    y, v, c_max = (np.asarray(a, dtype=np.float64) for a in (y, v, c_max))
    c_0 = np.broadcast_to(np.asarray(c_0, dtype=np.float64), y.shape)
    alpha = (1.0 - level) / 2.0
    pos = (y > 0) & (v > 0)
    lower = np.zeros_like(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower[pos] = _gammaincinv(y[pos] ** 2 / v[pos], alpha) * v[pos] / y[pos]
        c_m = np.maximum(c_max, floor * c_0)
        y2, v2 = y + c_m, v + c_m * c_m
        upper = _gammaincinv(y2 * y2 / v2, 1.0 - alpha) * v2 / y2
    return np.minimum(lower, y), np.maximum(upper, y)


#: Arrays of at least this many shapes are evaluated in two halves on two threads (the ufunc releases the GIL).
PARALLEL_MIN = 4_000


def _gammaincinv(a: np.ndarray, q: float) -> np.ndarray:
    """``scipy.special.gammaincinv(a, q)`` elementwise, the same values bit for bit, with less work.

    Shapes equal to exactly 1 (the upper bound of every segment without a record in reach, where
    ``y2^2 / v2 = c_M^2 / c_M^2``) share one evaluation; the rest is split over two threads when large.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1:
        return gammaincinv(a, q)
    one = a == 1.0
    if one.any():
        out = np.empty_like(a)
        out[one] = gammaincinv(1.0, q)
        out[~one] = _gammaincinv(a[~one], q)
        return out
    from .crs import _pool, in_pool

    if len(a) < PARALLEL_MIN or in_pool():
        return gammaincinv(a, q)
    half = len(a) // 2
    out = np.empty_like(a)
    other = _pool().submit(gammaincinv, a[half:], q, out=out[half:])
    gammaincinv(a[:half], q, out=out[:half])
    other.result()
    return out
