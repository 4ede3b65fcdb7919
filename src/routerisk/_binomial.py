"""The exact two-sided binomial test of the hot spots, without importing scipy.stats.

:func:`binom_two_sided_p` (re-exported by :mod:`routerisk.stats`) and the binomial pmf, cdf and sf it uses: the
compiled Boost ufuncs behind ``scipy.stats.binom`` called directly, with ``scipy.stats.binom``'s argument checks and
support handling (bit for bit equal, tested), and a fallback to ``scipy.stats.binom`` if a SciPy lacks them.
"""

from __future__ import annotations

import numpy as np

try:  # the compiled Boost ufuncs behind scipy.stats.binom (SciPy >= 1.15 keeps them in scipy.special)
    from scipy.special._ufuncs import _binom_cdf, _binom_pmf, _binom_sf
except ImportError:  # pragma: no cover - an older or future SciPy: the same numbers through scipy.stats.binom
    _binom_pmf = _binom_cdf = _binom_sf = None

__all__ = ["binom_two_sided_p"]

_RERR = 1 + 1e-7  # scipy.stats.binomtest's relative tolerance for "as likely as the observation"


# -- the binomial distribution without importing scipy.stats -------------------------------------------------------
# ``import scipy.stats`` costs 0.50 s and 46 MB in a process that already has numpy, scipy.special and pandas
# (measured, issue 13), paid by every ``routerisk score``/``demo`` for three functions. scipy.stats.binom's pmf, cdf
# and sf are the compiled Boost ufuncs imported above plus argument checks and support handling, repeated here
# (``rv_discrete.pmf/cdf/sf`` and ``binom_gen``): values outside the support get 0 or 1, the ufunc's value is
# clipped to [0, 1], invalid arguments give NaN. The tests check bit-for-bit equality with scipy.stats.binom.
def _binom_args(k, n, p):
    k, n, p = np.broadcast_arrays(np.asarray(k), np.asarray(n), np.asarray(p, dtype=np.float64))
    valid = (n >= 0) & (n == np.floor(n)) & (p >= 0) & (p <= 1)  # binom_gen._argcheck; False for NaN
    return k, n, p, valid


def _binom_call(ufunc, k, n, p, out, where) -> np.ndarray:
    if where.all():
        out[...] = np.clip(ufunc(k, n, p), 0, 1)
    elif where.any():
        out[where] = np.clip(ufunc(k[where], n[where], p[where]), 0, 1)
    return out


def _binom_pmf_array(k, n, p) -> np.ndarray:
    """``scipy.stats.binom.pmf(k, n, p)`` as an array, without importing scipy.stats."""
    if _binom_pmf is None:  # a SciPy without the private ufuncs
        from scipy.stats import binom

        return np.asarray(binom.pmf(k, n, p), dtype=np.float64)
    k, n, p, valid = _binom_args(k, n, p)
    out = np.where(valid, 0.0, np.nan)
    return _binom_call(_binom_pmf, k, n, p, out, valid & (k >= 0) & (k <= n) & (k == np.floor(k)))


def _binom_cdf_array(k, n, p) -> np.ndarray:
    """``scipy.stats.binom.cdf(k, n, p)`` as an array, without importing scipy.stats."""
    if _binom_cdf is None:
        from scipy.stats import binom

        return np.asarray(binom.cdf(k, n, p), dtype=np.float64)
    k, n, p, valid = _binom_args(k, n, p)
    out = np.where(valid, np.where(k >= n, 1.0, 0.0), np.nan)
    return _binom_call(_binom_cdf, np.floor(k), n, p, out, valid & (k >= 0) & (k < n))


def _binom_sf_array(k, n, p) -> np.ndarray:
    """``scipy.stats.binom.sf(k, n, p)`` as an array, without importing scipy.stats."""
    if _binom_sf is None:
        from scipy.stats import binom

        return np.asarray(binom.sf(k, n, p), dtype=np.float64)
    k, n, p, valid = _binom_args(k, n, p)
    out = np.where(valid, np.where(k < 0, 1.0, 0.0), np.nan)
    return _binom_call(_binom_sf, np.floor(k), n, p, out, valid & (k >= 0) & (k < n))


def _first_true(lo: np.ndarray, hi: np.ndarray, guess: np.ndarray, pred) -> np.ndarray:
    """First ``j`` in ``[lo, hi)`` where the monotone (False ... True) ``pred(rows, j)`` holds (``hi`` if none).

    An exponential search from ``guess``: one probe at the guess, then probes at distances 1, 2, 4, ... away from it
    (down where the predicate holds at the guess, up where not) until it changes, then bisection of the bracket.
    For a monotone predicate every search gives the same answer; a guess within ``e`` of it costs about
    ``2 log2(e) + 2`` probes instead of ``log2(hi - lo)``. ``lo`` and ``hi`` are updated in place.
    """
    rows = np.flatnonzero(lo < hi)
    if not rows.size:
        return lo
    base = np.clip(guess[rows], lo[rows], hi[rows] - 1)
    t = pred(rows, base)
    hi[rows[t]] = base[t]
    lo[rows[~t]] = base[~t] + 1
    down = t
    step = 1
    while True:  # gallop: only where the bracket is still open and the predicate has not changed yet
        keep = lo[rows] < hi[rows]
        rows, base, down = rows[keep], base[keep], down[keep]
        if not rows.size:
            break
        probe = np.where(down, np.maximum(base - step, lo[rows]), np.minimum(base + step, hi[rows] - 1))
        t = pred(rows, probe)
        hi[rows[t]] = probe[t]
        lo[rows[~t]] = probe[~t] + 1
        same = t == down  # still on the guess's side of the change
        rows, base, down = rows[same], base[same], down[same]
        step *= 2
    rows = np.flatnonzero(lo < hi)
    while rows.size:  # bisection of the brackets left open
        mid = (lo[rows] + hi[rows]) // 2
        t = pred(rows, mid)
        hi[rows[t]] = mid[t]
        lo[rows[~t]] = mid[~t] + 1
        rows = rows[lo[rows] < hi[rows]]
    return lo


def binom_two_sided_p(k, n, p) -> np.ndarray:
    """Exact two-sided binomial p-values, vectorised: the probability of outcomes no more likely than ``k``.

    The "minlike" definition of ``scipy.stats.binomtest(k, n, p).pvalue`` (alternative "two-sided"): the sum of
    ``P(X = j)`` over all ``j`` with ``P(X = j) <= P(X = k) * (1 + 1e-7)``, ``X ~ Binomial(n, p)``. Because the
    pmf is unimodal, the other tail starts at the first ``j`` past the mean where the pmf falls to ``P(X = k)``
    (below the mean: the last ``j`` before it). That point is found by an exponential search from the mirror image
    ``2 n p - k`` (usually a few units away), then one cdf and one sf per test; the pmf, cdf and sf are
    scipy.stats.binom's compiled ufuncs, called without importing scipy.stats. Equal to 1 when ``k == n p``.

    Parameters
    ----------
    k, n : array-like of int
        Observed counts and numbers of trials (broadcast together), ``0 <= k <= n``.
    p : array-like of float
        Success probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray of float64, in [0, 1]

    Examples
    --------
    >>> from scipy.stats import binomtest
    >>> bool(binom_two_sided_p(3, 20, 0.4) == binomtest(3, 20, 0.4).pvalue)
    True
    """
    k, n, p = np.broadcast_arrays(
        np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64), np.asarray(p, dtype=np.float64)
    )
    shape = k.shape
    k, n, p = k.ravel(), n.ravel(), p.ravel()
    d = _binom_pmf_array(k, n, p) * _RERR
    mean = n * p
    low = k < mean
    high = k > mean
    # below the mean: first j in [ceil(np), n + 1) with pmf(j) <= d (pmf non-increasing there); n + 1 = none
    lo = np.where(low, np.ceil(mean), 0).astype(np.int64)
    hi = np.where(low, n + 1, 0).astype(np.int64)
    # above the mean: the last j in [0, floor(np)] with pmf(j) <= d (pmf non-decreasing there) is one before the
    # first j in [0, floor(np) + 1) with pmf(j) > d
    lo = np.where(high, 0, lo)
    hi = np.where(high, np.floor(mean).astype(np.int64) + 1, hi)
    with np.errstate(invalid="ignore"):  # NaN p: no search (lo == hi), the guess is never used
        guess = np.nan_to_num(np.rint(2.0 * mean - k), nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)

    def pred(rows, j):  # low side: "pmf(j) <= d" is False...True; high side: "pmf(j) > d" is False...True
        pm = _binom_pmf_array(j, n[rows], p[rows])
        return np.where(low[rows], pm <= d[rows], pm > d[rows])

    lo = _first_true(lo, hi, guess, pred)
    pval = np.ones(len(k))
    # low: P(X <= k) + P(X >= j*);  high: P(X <= j* - 1) + P(X >= k): one cdf and one sf per test
    two = np.flatnonzero(low | high)
    if two.size:
        lt = low[two]
        a = np.where(lt, k[two], lo[two] - 1)
        b = np.where(lt, lo[two] - 1, k[two] - 1)
        pval[two] = _binom_cdf_array(a, n[two], p[two]) + _binom_sf_array(b, n[two], p[two])
    return np.clip(pval, 0.0, 1.0).reshape(shape)
