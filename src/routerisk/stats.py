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

from ._binomial import binom_two_sided_p
from ._ranks import kendall_tau_b
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
