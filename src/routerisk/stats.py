"""Hot spots on the route network (exact binomial test of attributed incident counts), Gi*, classes.

Hot spots (:func:`segment_hotspots`, see docs/hotspots.md): each placed incident is attributed to its nearest
segment within its reach (:func:`attribute_incidents`); segments are adjacent when their geometries come within
``snap_m`` of each other (:func:`segment_adjacency`) and a segment's neighbourhood is itself plus the segments
within ``steps`` adjacency steps (:func:`network_neighbourhood`). Under the null hypothesis "each of the ``N``
attributed incidents fell on segment ``j`` with probability ``share_j`` (length, or a given flow), independently",
the count in a neighbourhood is exactly Binomial(``N``, sum of its shares): the two-sided p-values are exact
(:func:`binom_two_sided_p`, no permutations) and Benjamini-Hochberg controls the false discovery rate
(:func:`fdr_hotspot_labels`).

Gi* (:func:`gi_star`, reported as the descriptive ``gi_z``) is computed here rather than with ``esda.G_Local``
(which recompiles with numba in every process, 15-20 s); the tests check the z-scores against esda. With binary
weights ``w_ij`` (1 for neighbours and for ``j = i``), ``W_i = sum_j w_ij``, ``n`` values with mean ``xbar`` and
population standard deviation ``s``:

    Gi*_z = (sum_j w_ij x_j - W_i xbar) / (s * sqrt((n W_i - W_i**2) / (n - 1)))

Classes (``risk_class``) live in :mod:`routerisk.classes` (re-exported here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

try:  # the compiled Boost ufuncs behind scipy.stats.binom (SciPy >= 1.15 keeps them in scipy.special)
    from scipy.special._ufuncs import _binom_cdf, _binom_pmf, _binom_sf
except ImportError:  # pragma: no cover - an older or future SciPy: the same numbers through scipy.stats.binom
    _binom_pmf = _binom_cdf = _binom_sf = None

from ._segments_numba import adjacent_pairs, nearest_segment
from .classes import CLASS_BREAKS, CLASS_SCHEMES, classify, fisher_jenks_bins, fixed_classes, quantile_bins
from .engine import segment_pieces

__all__ = [
    "CLASS_BREAKS",
    "CLASS_SCHEMES",
    "DEFAULT_NEIGHBOUR_STEPS",
    "DEFAULT_SNAP_M",
    "HOTSPOT_LEVELS",
    "attribute_incidents",
    "bh_adjust",
    "binom_two_sided_p",
    "classify",
    "fdr_hotspot_labels",
    "fisher_jenks_bins",
    "fixed_classes",
    "gi_star",
    "kendall_tau_b",
    "network_neighbourhood",
    "quantile_bins",
    "segment_adjacency",
    "segment_hotspots",
]

#: (adjusted p-value threshold, confidence label), strictest first.
HOTSPOT_LEVELS = ((0.01, "99%"), (0.05, "95%"), (0.10, "90%"))
#: Default number of adjacency steps in a segment's network neighbourhood (1: the segment and those touching it).
DEFAULT_NEIGHBOUR_STEPS = 1
#: Default distance (metres) within which two segments' geometries count as touching (adjacent).
DEFAULT_SNAP_M = 50.0
#: Hot-spot labels by code: not tested, not significant, then hot/cold of each level of HOTSPOT_LEVELS.
_LABEL_NAMES = np.array(
    ["not tested", "not significant", *(f"{d} {name}" for _, name in HOTSPOT_LEVELS for d in ("hot", "cold"))],
    dtype=object,
)


def gi_star(values, neighbours: sp.spmatrix) -> np.ndarray:
    """Getis-Ord Gi* z-scores with binary weights, self included (``esda.G_Local(star=True)``'s ``Zs``).

    Parameters
    ----------
    values : array-like of shape (n,)
    neighbours : scipy.sparse matrix of shape (n, n)
        Binary neighbours without self (e.g. :func:`segment_adjacency`); non-zero entries count as 1.

    Returns
    -------
    numpy.ndarray
        Gi* z-scores, NaN where undefined (fewer than 3 values, non-finite or constant values, no neighbours).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6))  # a chain
    >>> z = gi_star([5, 5, 5, 0, 0, 0], A)
    >>> bool((z[:3] > 0).all() and (z[3:] < 0).all())
    True
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    A = sp.csr_matrix(neighbours, dtype=np.float64)
    A = (A != 0).astype(np.float64)
    A = sp.csr_matrix(A - sp.diags(A.diagonal()))  # self is added below, whether or not it is given
    A.eliminate_zeros()
    k = np.diff(A.indptr)
    z = np.full(n, np.nan)
    if n < 3 or not np.all(np.isfinite(x)):
        return z
    xbar = x.mean()
    s = x.std()
    tested = (k > 0) & (s > 0)
    if not tested.any():
        return z
    W = k + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (A @ x + x - W * xbar) / (s * np.sqrt((n * W - W * W) / (n - 1)))
    z[~tested] = np.nan
    return z


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control(p, method="bh")``), NaN kept.

    Sorted ascending, ``p_(i) * m / i`` is made non-decreasing from the largest down (a running minimum) and
    clipped to [0, 1], the arithmetic of scipy's function step by step, so the numbers are bit-for-bit the same
    (tested), without importing scipy.stats (0.4-0.5 s and 32-46 MB at start-up). Unlike scipy's function, NaN
    entries are allowed: they mean "not tested", stay NaN and do not count in ``m``.

    Parameters
    ----------
    p_values : array-like of float, shape (n,)
        Unadjusted p-values in [0, 1], or NaN.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        For a value outside [0, 1] (infinity included) or an input that is not one-dimensional.

    Examples
    --------
    >>> bh_adjust([0.5, 0.6, 0.1, 0.001, np.nan]).tolist()
    [0.6, 0.6, 0.2, 0.004, nan]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        msg = f"`p_values` must be one-dimensional, got shape {p.shape}"
        raise ValueError(msg)
    ok = ~np.isnan(p)
    x = p[ok]
    if ((x < 0) | (x > 1)).any():
        msg = "`p_values` must be between 0 and 1 (or NaN for not tested)"
        raise ValueError(msg)
    q = p.copy()
    m = len(x)
    if m <= 1:  # scipy returns a single p-value unchanged
        return q
    order = np.argsort(x)
    s = x[order] * (m / np.arange(1, m + 1, dtype=np.float64))
    np.minimum.accumulate(s[::-1], out=s[::-1])
    adj = np.empty(m)
    adj[order] = s
    q[ok] = np.clip(adj, 0.0, 1.0)
    return q


def fdr_hotspot_labels(direction, p_raw) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg adjustment of the p-values and the hot/cold label of each segment.

    Parameters
    ----------
    direction : array-like
        Positive for "more than expected" (hot), negative for "fewer" (cold), e.g. ``observed - expected``;
        NaN marks a segment "not tested".
    p_raw : array-like
        Unadjusted p-values; NaN is "not tested". Only tested segments enter the adjustment.

    Returns
    -------
    labels : numpy.ndarray of str
        "hot 99%" / "cold 99%" where the adjusted p-value is <= 0.01, then 95% (<= 0.05) and 90% (<= 0.10),
        else "not significant"; "not tested".
    p_adjusted : numpy.ndarray of float
        NaN where not tested.

    Examples
    --------
    >>> labels, q = fdr_hotspot_labels([3.0, -3.0, 0.1, np.nan], [0.001, 0.001, 0.6, np.nan])
    >>> labels.tolist()
    ['hot 99%', 'cold 99%', 'not significant', 'not tested']
    """
    z = np.asarray(direction, dtype=np.float64)
    p = np.asarray(p_raw, dtype=np.float64)
    code = np.zeros(len(p), dtype=np.int8)  # an index into _LABEL_NAMES: one take builds the strings
    q = np.full(len(p), np.nan)
    tested = np.isfinite(p) & np.isfinite(z)
    if tested.any():
        q[tested] = bh_adjust(p[tested])
        code[tested] = 1
        for i, (level, _) in reversed(list(enumerate(HOTSPOT_LEVELS))):  # loosest first; stricter ones overwrite
            sig = tested & (q <= level)
            code[sig & (z > 0)] = 2 + 2 * i
            code[sig & (z < 0)] = 3 + 2 * i
    return _LABEL_NAMES[code], q


# -- network hot spots: exact binomial test of attributed incident counts -------------------------------------------
def segment_adjacency(seg_geoms, *, snap_m: float = DEFAULT_SNAP_M, pieces=None) -> sp.csr_matrix:
    """Binary, symmetric adjacency of segments whose geometries come within ``snap_m`` of each other.

    Consecutive segments of a route share an endpoint (distance 0), and routes that cross or meet at a junction
    touch, so all of them are adjacent; segments further apart than ``snap_m`` are not. Found by a compiled scan of
    a grid of the segments' pieces with GEOS's segment-to-segment distance (the pairs
    ``shapely.STRtree.query(predicate="dwithin")`` gives; :mod:`routerisk._segments_numba`); no self loops.

    Parameters
    ----------
    seg_geoms : array-like of shapely geometries, shape (n,)
        Projected LineStrings (metres). None and empty geometries have no neighbours.
    snap_m : float
        Tolerance in metres (>= 0), for junctions digitised a little apart.
    pieces : tuple, optional
        ``segment_pieces(seg_geoms)`` when the caller has it already.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64 ones

    Examples
    --------
    >>> from shapely import LineString
    >>> segs = [LineString([(0, 0), (10, 0)]), LineString([(10, 0), (20, 0)]), LineString([(5, -5), (5, 5)]),
    ...         LineString([(100, 0), (110, 0)])]
    >>> segment_adjacency(segs, snap_m=1.0).toarray().astype(int).tolist()
    [[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    """
    snap = float(snap_m)
    if not np.isfinite(snap) or snap < 0:
        msg = f"`snap_m` was {snap_m!r} but must be a finite number >= 0"
        raise ValueError(msg)
    geoms = np.asarray(seg_geoms, dtype=object).reshape(-1)
    n = len(geoms)
    if n == 0:
        return sp.csr_matrix((0, 0))
    xy0, xy1, ps = pieces if pieces is not None else segment_pieces(geoms)
    i, j = adjacent_pairs(xy0, xy1, ps, snap)  # i < j: each pair once, no self pairs
    data = np.ones(2 * len(i))
    A = sp.csr_matrix((data, (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    A.sum_duplicates()
    A.data[:] = 1.0
    return A


def network_neighbourhood(adjacency, steps: int = DEFAULT_NEIGHBOUR_STEPS) -> sp.csr_matrix:
    """Binary k-step neighbourhood ``(A + I)^steps > 0``: each segment, plus those within ``steps`` adjacency steps.

    Parameters
    ----------
    adjacency : scipy.sparse matrix of shape (n, n)
        Binary adjacency without self loops (see :func:`segment_adjacency`); non-zero entries count as edges.
    steps : int
        Number of steps, >= 0 (0: each segment alone).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64 ones, diagonal included

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.diags([1.0, 1.0], [-1, 1], shape=(5, 5))  # a chain 0-1-2-3-4
    >>> network_neighbourhood(A, 2).toarray().astype(int)[0].tolist()
    [1, 1, 1, 0, 0]
    """
    k = int(steps)
    if k != steps or k < 0:
        msg = f"`steps` was {steps!r} but must be an integer >= 0"
        raise ValueError(msg)
    A = sp.csr_matrix(adjacency, dtype=np.float64)
    if A.shape[0] != A.shape[1]:
        msg = f"`adjacency` must be square, got shape {A.shape}"
        raise ValueError(msg)
    B = (A != 0).astype(np.float64) + sp.identity(A.shape[0], format="csr")
    B.data[:] = 1.0
    H = sp.identity(A.shape[0], format="csr", dtype=np.float64)
    for _ in range(k):
        H = H @ B
        H.data[:] = 1.0  # keep it binary (and the numbers small)
    H = sp.csr_matrix(H)
    H.eliminate_zeros()
    H.sort_indices()
    return H


def attribute_incidents(seg_geoms, xy, max_distance_m, *, pieces=None) -> np.ndarray:
    """Index of the nearest segment of each incident, or -1 when none lies within the incident's reach.

    Distances are exact point-to-line distances, the arithmetic of GEOS (``shapely.distance``) bit for bit, found
    by a compiled scan of a grid of segment pieces (:mod:`routerisk._segments_numba`); an infinite reach falls back
    to ``shapely.STRtree.query_nearest``. When several segments are equally near (e.g. an incident at the shared
    endpoint of two consecutive segments), the lowest segment index wins, so the result does not depend on the
    order of a search structure.

    Parameters
    ----------
    seg_geoms : array-like of shapely geometries, shape (m,)
        Projected segments (metres); None and empty geometries are never chosen.
    xy : array-like of shape (n, 2)
        Incident coordinates in the same CRS; rows with NaN get -1.
    max_distance_m : float or array-like of shape (n,)
        Reach (inclusive): a scalar or one per incident (e.g. the kernel support of its bandwidth); ``inf`` means
        no limit, NaN or a negative value means the incident is never attributed.
    pieces : tuple, optional
        ``segment_pieces(seg_geoms)`` when the caller has it already.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Examples
    --------
    >>> from shapely import LineString
    >>> segs = [LineString([(0, 0), (10, 0)]), LineString([(10, 0), (20, 0)])]
    >>> attribute_incidents(segs, [[3, 1], [10, 0], [15, -2], [50, 0]], 5.0).tolist()
    [0, 0, 1, -1]
    """
    geoms = np.asarray(seg_geoms, dtype=object).reshape(-1)
    pts_xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(pts_xy)
    reach = np.broadcast_to(np.asarray(max_distance_m, dtype=np.float64), (n,))
    out = np.full(n, -1, dtype=np.int64)
    ok = np.all(np.isfinite(pts_xy), axis=1) & (reach >= 0)  # NaN reach compares False
    has_geom = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, bool)
    if not ok.any() or not has_geom.any():
        return out
    if np.isfinite(reach[ok]).all():
        xy0, xy1, ps = pieces if pieces is not None else segment_pieces(geoms)
        return nearest_segment(xy0, xy1, ps, pts_xy, np.where(ok, reach, -1.0))
    idx = np.flatnonzero(ok)
    pts = shapely.points(pts_xy[idx])
    tree = shapely.STRtree(geoms)
    (qi, ti), dist = tree.query_nearest(pts, return_distance=True, all_matches=True)
    within = dist <= reach[idx][qi]
    qi, ti = qi[within], ti[within]
    if len(qi) == 0:
        return out
    order = np.lexsort((ti, qi))  # by point, then lowest segment index first
    qi, ti = qi[order], ti[order]
    first = np.r_[True, qi[1:] != qi[:-1]]
    out[idx[qi[first]]] = ti[first]
    return out


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


def segment_hotspots(counts, share, neighbourhood) -> pd.DataFrame:
    """Hot and cold spots of attributed incident counts: exact binomial test per network neighbourhood, then BH.

    Null hypothesis: given the ``N = sum(counts)`` attributed incidents, each fell on segment ``j`` with
    probability ``share[j]`` (e.g. its length over the total length), independently of the others. The count in
    the neighbourhood ``N_k(s)`` of segment ``s`` is then exactly ``Binomial(N, P_s)``, ``P_s`` the sum of the
    shares over ``N_k(s)``. ``p_raw`` is the exact two-sided "minlike" p-value (:func:`binom_two_sided_p`, as
    ``scipy.stats.binomtest``), so no tail is picked after looking at the data and no permutations are drawn.
    Segments are tested when ``0 < P_s < 1`` and ``N > 0``; Benjamini-Hochberg adjusts over the tested ones and
    ``hotspot`` is "hot 99%" (adjusted p <= 0.01, more incidents than expected), then 95% (<= 0.05) and 90%
    (<= 0.10), "cold ..." for fewer than expected, else "not significant" or "not tested".

    ``gi_z`` is the Getis-Ord Gi* z-score of the raw counts with the same neighbourhood as binary weights (self
    included; equal to ``esda.G_Local(star=True)``), a descriptive statistic only: unlike ``p_raw`` it ignores
    ``share`` (it compares with the mean count, as if all segments were equally long). NaN where not tested.

    Parameters
    ----------
    counts : array-like of int, shape (n,)
        Incidents attributed to each segment (see :func:`attribute_incidents`), >= 0.
    share : array-like of float, shape (n,)
        Null probability of each segment, >= 0 (normalised here to sum to 1), e.g. segment lengths.
    neighbourhood : scipy.sparse matrix of shape (n, n)
        Binary neighbourhoods (see :func:`network_neighbourhood`); the diagonal is always included.

    Returns
    -------
    pandas.DataFrame
        ``observed`` (count in the neighbourhood), ``expected`` (``N P_s``), ``gi_z``, ``p_raw`` (two-sided exact),
        ``p_value`` (BH-adjusted), ``hotspot``; NaN p-values for untested segments.

    Raises
    ------
    ValueError
        For mismatched shapes, negative or non-integer counts, or negative / non-finite / all-zero shares.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> counts = np.full(60, 4)
    >>> counts[30] = 25
    >>> H = network_neighbourhood(sp.diags([1.0, 1.0], [-1, 1], shape=(60, 60)), 1)
    >>> out = segment_hotspots(counts, np.ones(60), H)
    >>> out["hotspot"].iloc[29:32].tolist(), out["hotspot"].iloc[0]
    (['hot 99%', 'hot 99%', 'hot 99%'], 'not significant')
    """
    c = np.asarray(counts)
    w = np.asarray(share, dtype=np.float64).reshape(-1)
    n = len(w)
    if c.ndim != 1 or len(c) != n:
        msg = f"`counts` has shape {c.shape} but `share` has {n} values"
        raise ValueError(msg)
    cf = c.astype(np.float64)
    if n and (not np.all(np.isfinite(cf)) or (cf < 0).any() or (cf != np.round(cf)).any()):
        msg = "`counts` must be non-negative integers"
        raise ValueError(msg)
    if n and (not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0):
        msg = "`share` must be finite, >= 0 and not all zero"
        raise ValueError(msg)
    H = sp.csr_matrix(neighbourhood, dtype=np.float64)
    if H.shape != (n, n):
        msg = f"`neighbourhood` has shape {H.shape} but there are {n} segments"
        raise ValueError(msg)
    H = (H != 0).astype(np.float64) + sp.identity(n, format="csr")
    H.data[:] = 1.0
    counts_i = cf.astype(np.int64)
    total = int(counts_i.sum())
    share_n = w / w.sum() if n else w
    observed = np.asarray(H @ counts_i.astype(np.float64)).round().astype(np.int64)
    P = np.clip(H @ share_n, 0.0, 1.0)
    positive = share_n > 0
    covers_all = np.asarray(H @ positive.astype(np.float64)).round() == positive.sum()  # exact: P_s = 1
    P[covers_all] = 1.0
    expected = total * P
    tested = (P > 0) & ~covers_all & (total > 0)
    p_raw = np.full(n, np.nan)
    if tested.any():
        p_raw[tested] = binom_two_sided_p(observed[tested], total, P[tested])
    gi_z = gi_star(cf, H)  # the diagonal is the "self" weight gi_star adds
    gi_z[~tested] = np.nan
    direction = np.where(tested, observed - expected, np.nan)
    labels, q = fdr_hotspot_labels(direction, p_raw)
    return pd.DataFrame(
        {"observed": observed, "expected": expected, "gi_z": gi_z, "p_raw": p_raw, "p_value": q, "hotspot": labels}
    )


# -- Kendall's tau-b without scipy.stats -----------------------------------------------------------------------------
def _dense_ranks(v: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Dense ranks 0, 1, ... of ``v`` (equal values share a rank), given an ordering of ``v``."""
    s = v[order]
    r = np.empty(len(v), dtype=np.int64)
    r[order] = np.cumsum(np.r_[False, s[1:] != s[:-1]])
    return r


def _tied_pairs(ranks: np.ndarray) -> int:
    c = np.bincount(ranks)
    return int((c * (c - 1) // 2).sum())


def _strict_inversions(v: np.ndarray) -> int:
    """Number of pairs ``i < j`` with ``v[i] > v[j]`` for integers ``0 <= v < 2**b``, in ``b`` array passes.

    A binary radix partition, most significant bit first: the array is kept stably sorted by the bits above the
    current one, so each group of equal higher bits is contiguous and in its original order; at bit ``b`` every
    element of a group with that bit 0 is inverted with the group's earlier elements that have it 1 (and no pair
    is counted twice: lower bits only decide pairs equal on all the bits above). Each group is then split stably
    by the bit (a counting sort on ``v >> b``), which is the grouping of the next bit.
    """
    n = len(v)
    if n < 2:
        return 0
    a = np.asarray(v, dtype=np.int64)
    idx = np.arange(n)
    total = 0
    for b in range(int(a.max()).bit_length() - 1, -1, -1):
        kb = a >> b  # the higher bits and bit b; ``a`` is stably sorted by ``kb >> 1``
        bit = kb & 1
        first = np.zeros(int(kb.max()) + 2, dtype=np.int64)
        np.cumsum(np.bincount(kb), out=first[1:])  # first[key]: where key's elements start, stably sorted by kb
        start = first[kb - bit]  # first position of the element's group
        ones_before = np.cumsum(bit) - bit
        in_group = ones_before - ones_before[start]  # ones before it in its group
        total += int(in_group[bit == 0].sum())
        pos = first[kb] + np.where(bit == 1, in_group, idx - start - in_group)
        out = np.empty_like(a)
        out[pos] = a
        a = out
    return total


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b of two samples, ``scipy.stats.kendalltau(x, y).statistic`` without importing scipy.stats.

    Knight's O(n log n) algorithm, as scipy: sort by ``(x, y)``, count the pairs tied in ``x``, in ``y`` and in
    both, and count the discordant pairs as the strict inversions of ``y`` in that order (a binary radix
    partition of the dense ranks, all in numpy). Then, with ``n0 = n (n - 1) / 2``,

        tau_b = (n0 - ties_x - ties_y + ties_xy - 2 discordant) / sqrt(n0 - ties_x) / sqrt(n0 - ties_y)

    in scipy's order of operations, clipped to [-1, 1] (tested equal to scipy to 1e-12 on tie-heavy data).

    Parameters
    ----------
    x, y : array-like of float, shape (n,)

    Returns
    -------
    float
        NaN when the samples are empty, contain NaN or either is constant (scipy's answers).

    Raises
    ------
    ValueError
        When ``x`` and ``y`` differ in size.

    Examples
    --------
    >>> round(kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]), 6)  # (2 - 6) / sqrt(10 - 2) / sqrt(10 - 1)
    -0.471405
    """
    a = np.asarray(x).ravel()
    b = np.asarray(y).ravel()
    if a.size != b.size:
        msg = f"`x` has {a.size} values but `y` has {b.size}"
        raise ValueError(msg)
    n = a.size
    if n == 0 or np.isnan(a.astype(np.float64)).any() or np.isnan(b.astype(np.float64)).any():
        return float("nan")
    rx, ry = _dense_ranks(a, np.argsort(a)), _dense_ranks(b, np.argsort(b))
    order = np.argsort(rx * (int(ry.max()) + 1) + ry)  # by x, then y (the order within equal pairs is irrelevant)
    rx, ry = rx[order], ry[order]
    joint = np.flatnonzero(np.r_[True, (rx[1:] != rx[:-1]) | (ry[1:] != ry[:-1]), True])
    c = np.diff(joint)
    ties_xy = int((c * (c - 1) // 2).sum())
    ties_x, ties_y = _tied_pairs(rx), _tied_pairs(ry)
    tot = n * (n - 1) // 2
    if ties_x == tot or ties_y == tot:
        return float("nan")
    dis = _strict_inversions(ry)
    con_minus_dis = tot - ties_x - ties_y + ties_xy - 2 * dis
    tau = con_minus_dis / np.sqrt(tot - ties_x) / np.sqrt(tot - ties_y)
    return float(min(1.0, max(-1.0, tau)))
