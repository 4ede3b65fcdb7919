"""Kernel exposure of line segments to weighted points: a compiled grid kernel and a pure-numpy fallback.

Both backends compute, for every segment ``s`` (a chain of 2-vertex *pieces*) and point ``i``,

    d_is = min over the pieces of s of the exact point-to-piece distance
    E_s  = sum_i w_i K(d_is; h_i),        n_s = #{i : d_is inside the support of K(.; h_i)}

and, on request (``exposure(..., moments=True)``) in the same pass, ``V_s = sum_i (w_i K(d_is; h_i))^2`` and
``M_s = max_i w_i K(d_is; h_i)`` (the inputs of the analytic intervals of :mod:`routerisk.intervals`)

with the unnormalised kernels of the registry :mod:`routerisk.kernels` (``K(0) = 1``). The distance is the minimum
over the segment's pieces, never a sum over pieces, so a bent segment counts each point once.

``backend="numba"`` (the default): points are binned into a uniform grid by counting sort
(cell = a quarter of the largest cutoff); segments are processed in parallel, each by one thread, so per-segment
sums are race-free and deterministic. For each piece only the grid rows and the column range that can lie within
the cutoff are visited, and the exact squared distance and the kernel are evaluated in the same pass: no pair
arrays are built. A segment of several pieces keeps, per thread, the minimum squared distance per point in a
scratch array. Points are processed in chunks (``chunk_size``), so memory is ``O(chunk_size + n_pieces)``.

``backend="numpy"``: ``shapely.STRtree.query(predicate="dwithin")`` with per-point cutoffs, in chunks of points,
the same distance formula vectorised, a group-wise minimum per (point, segment) and ``np.bincount``.
The two backends agree to floating-point rounding (about 1e-15 relative). Distances are compared with the cutoff
as ``u = d^2 / h^2`` against the support, so a point whose distance equals its cutoff to within rounding
(about 1e-16 relative) may fall on either side; the kernels other than the uniform and the truncated Gaussian
are zero there anyway.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely

from ._engine_blocks import grid_pass as _grid_pass
from ._engine_numba import HAVE_NUMBA
from .kernels import Kernel, get_kernel, kernel_by_code

__all__ = ["BACKENDS", "HAVE_NUMBA", "exposure", "kernel_matrix", "kernel_values", "segment_pieces"]

BACKENDS = ("auto", "numba", "numpy")
_NUMPY_CHUNK = 20_000


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------------
def segment_pieces(geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Explode (Multi)LineStrings into 2-vertex pieces.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        LineStrings or MultiLineStrings in a projected CRS. Empty geometries give no pieces.

    Returns
    -------
    xy0, xy1 : numpy.ndarray of shape (n_pieces, 2)
        Start and end of each piece.
    piece_segment : numpy.ndarray of int64
        Index (position) of the geometry each piece belongs to, non-decreasing.

    Examples
    --------
    >>> from shapely import LineString
    >>> a, b, s = segment_pieces([LineString([(0, 0), (1, 0), (1, 1)]), LineString([(5, 5), (6, 5)])])
    >>> a.tolist(), s.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]], [0, 0, 1])
    """
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    if np.all(shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING):
        # vectorised: the coordinates of LineStrings are their pieces' ends, no part geometries to build
        coords, coord_of = shapely.get_coordinates(geoms, return_index=True)
        part_of = np.arange(len(geoms), dtype=np.int64)
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        empty = np.empty((0, 2))
        return empty, empty.copy(), np.empty(0, dtype=np.int64)
    same = coord_of[1:] == coord_of[:-1]
    xy0 = np.ascontiguousarray(coords[:-1][same], dtype=np.float64)
    xy1 = np.ascontiguousarray(coords[1:][same], dtype=np.float64)
    return xy0, xy1, part_of[coord_of[:-1][same]].astype(np.int64)


def kernel_values(d, h, kernel: str = "quartic") -> np.ndarray:
    """Unnormalised kernel ``K(d; h)`` with ``K(0) = 1`` (zero outside the support).

    Parameters
    ----------
    d, h : array-like of float
        Distances and bandwidths (metres), broadcast together.
    kernel : str
        A name of :data:`routerisk.kernels.KERNEL_REGISTRY` (``"quartic"``, ``"gaussian"``, ...).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> kernel_values([0.0, 500.0, 1000.0], 1000.0).tolist()
    [1.0, 0.5625, 0.0]
    """
    d, h = np.broadcast_arrays(np.asarray(d, dtype=np.float64), np.asarray(h, dtype=np.float64))
    return _kernel_u((d * d) / (h * h), _code(kernel))


def _kernel_u(u: np.ndarray, code: int) -> np.ndarray:
    """Kernel of ``u = (d/h)**2``, zero outside the support (the compiled kernel uses the same expressions)."""
    return kernel_by_code(code).of_u(u)


def _code(kernel: str) -> int:
    return get_kernel(kernel).code


def _d2_numpy(px, py, ax, ay, bx, by) -> np.ndarray:
    """Squared point-to-piece distance, vectorised; the same arithmetic as the compiled ``_pd2``."""
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    with np.errstate(divide="ignore"):
        il2 = np.where(l2 > 0.0, 1.0 / l2, 0.0)
    apx, apy = px - ax, py - ay
    t = np.clip(apx * dx + apy * dy, 0.0, l2) * il2
    qx, qy = apx - t * dx, apy - t * dy
    return qx * qx + qy * qy


def _prepare(seg_xy0, seg_xy1, pts_xy, weights, bandwidths, kernel, piece_segment, n_segments, backend):
    code = _code(kernel)
    if backend not in BACKENDS:
        msg = f"`backend` was {backend!r} but must be one of {BACKENDS}"
        raise ValueError(msg)
    if backend == "auto":
        backend = "numba"
    xy0 = np.ascontiguousarray(np.asarray(seg_xy0, dtype=np.float64).reshape(-1, 2))
    xy1 = np.ascontiguousarray(np.asarray(seg_xy1, dtype=np.float64).reshape(-1, 2))
    if xy0.shape != xy1.shape:
        msg = f"`seg_xy0` and `seg_xy1` have different shapes {xy0.shape} and {xy1.shape}"
        raise ValueError(msg)
    if piece_segment is None:
        piece_segment = np.arange(len(xy0), dtype=np.int64)
    piece_segment = np.asarray(piece_segment, dtype=np.int64)
    if piece_segment.shape != (len(xy0),):
        msg = f"`piece_segment` has shape {piece_segment.shape} but there are {len(xy0)} pieces"
        raise ValueError(msg)
    if n_segments is None:
        n_segments = int(piece_segment.max()) + 1 if len(piece_segment) else 0
    if len(piece_segment) and (piece_segment.min() < 0 or piece_segment.max() >= n_segments):
        msg = f"`piece_segment` values must lie in [0, {n_segments})"
        raise ValueError(msg)
    if len(piece_segment) > 1 and np.any(np.diff(piece_segment) < 0):
        order = np.argsort(piece_segment, kind="stable")
        xy0, xy1, piece_segment = xy0[order], xy1[order], piece_segment[order]
    pts = np.ascontiguousarray(np.asarray(pts_xy, dtype=np.float64).reshape(-1, 2))
    n = len(pts)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (n,)).copy() if weights is not None else np.ones(n)
    h = np.broadcast_to(np.asarray(bandwidths, dtype=np.float64), (n,)).copy()
    if n and not (np.all(np.isfinite(h)) and h.min() > 0):
        msg = "`bandwidths` must be finite and > 0 for every point (drop unplaced points before scoring)"
        raise ValueError(msg)
    if not np.all(np.isfinite(w)):
        msg = "`weights` must be finite"
        raise ValueError(msg)
    if not (np.all(np.isfinite(xy0)) and np.all(np.isfinite(xy1)) and np.all(np.isfinite(pts))):
        msg = "coordinates must be finite"
        raise ValueError(msg)
    piece_ptr = np.zeros(n_segments + 1, dtype=np.int64)
    np.cumsum(np.bincount(piece_segment, minlength=n_segments), out=piece_ptr[1:])
    return code, backend, xy0, xy1, piece_segment, piece_ptr, int(n_segments), pts, w, h


# ---------------------------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------------------------
def exposure(
    seg_xy0,
    seg_xy1,
    pts_xy,
    weights,
    bandwidths,
    kernel: str = "quartic",
    *,
    piece_segment=None,
    n_segments: int | None = None,
    backend: str = "auto",
    chunk_size: int = 2_000_000,
    moments: bool = False,
) -> tuple[np.ndarray, ...]:
    """Kernel-weighted exposure of each segment to weighted points, and the number of points in reach.

    Parameters
    ----------
    seg_xy0, seg_xy1 : array-like of shape (n_pieces, 2)
        Start and end of each 2-vertex piece, in metres (see :func:`segment_pieces`).
    pts_xy : array-like of shape (n_points, 2)
        Point coordinates in the same CRS.
    weights : array-like of shape (n_points,) or scalar
        ``w_i`` (e.g. severity x time decay).
    bandwidths : array-like of shape (n_points,) or scalar
        ``h_i`` in metres (> 0).
    kernel : str
        A name of :data:`routerisk.kernels.KERNEL_REGISTRY`.
    piece_segment : array-like of int, optional
        Segment of each piece (default: each piece is its own segment). The distance to a segment is the minimum
        over its pieces.
    n_segments : int, optional
        Number of segments (default ``max(piece_segment) + 1``); segments without pieces get zeros.
    backend : {"auto", "numba", "numpy"}
        ``"auto"`` uses the compiled grid kernel.
    chunk_size : int
        Points processed per pass of the compiled kernel (bounds memory).
    moments : bool, default False
        Also return the sum of squared contributions and the largest contribution per segment (same pass).

    Returns
    -------
    exposure : numpy.ndarray of float64, shape (n_segments,)
        ``E_s = sum_i w_i K(d_is; h_i)``.
    count : numpy.ndarray of int64, shape (n_segments,)
        Points whose distance lies inside their kernel's support.
    sum_sq : numpy.ndarray of float64, shape (n_segments,)
        Only with ``moments=True``: ``sum_i (w_i K(d_is; h_i))^2``.
    max_c : numpy.ndarray of float64, shape (n_segments,)
        Only with ``moments=True``: ``max_i w_i K(d_is; h_i)`` (0 without a point in reach).

    Examples
    --------
    >>> e, n = exposure([[0, 0]], [[10, 0]], [[5, 3], [5, 100]], [2.0, 1.0], 5.0, "epanechnikov")
    >>> e.round(6).tolist(), n.tolist()
    ([1.28], [1])
    >>> e, n, v, m = exposure([[0, 0]], [[10, 0]], [[5, 0], [5, 3]], [2.0, 1.0], 5.0, "uniform", moments=True)
    >>> e.tolist(), n.tolist(), v.tolist(), m.tolist()
    ([3.0], [2], [5.0], [2.0])
    """
    code, backend, xy0, xy1, _, piece_ptr, nseg, pts, w, h = _prepare(
        seg_xy0, seg_xy1, pts_xy, weights, bandwidths, kernel, piece_segment, n_segments, backend
    )
    out_e = np.zeros(nseg)
    out_n = np.zeros(nseg, dtype=np.int64)
    mom = (np.zeros(nseg), np.zeros(nseg)) if moments else None
    result = (out_e, out_n, *mom) if moments else (out_e, out_n)
    if nseg == 0 or len(pts) == 0 or len(xy0) == 0:
        return result
    if backend == "numpy":
        _numpy_scan(code, xy0, xy1, piece_ptr, pts, w, h, out_e, out_n, None, mom)
        return result
    for lo in range(0, len(pts), max(int(chunk_size), 1)):
        hi = min(lo + int(chunk_size), len(pts))
        _grid_pass(0, code, xy0, xy1, piece_ptr, pts[lo:hi], w[lo:hi], h[lo:hi], out_e, out_n, lo, None, mom)
    return result


def kernel_matrix(
    seg_xy0,
    seg_xy1,
    pts_xy,
    bandwidths,
    kernel: str = "quartic",
    *,
    piece_segment=None,
    n_segments: int | None = None,
    backend: str = "auto",
    chunk_size: int = 2_000_000,
) -> sp.csr_matrix:
    """Sparse matrix of kernel values ``K(d_is; h_i)`` (segments x points), one entry per pair in reach.

    ``kernel_matrix(...) @ w`` equals :func:`exposure`'s first output and ``np.diff(K.indptr)`` its second; the
    matrix lets a caller re-weight points without a new spatial query. Memory grows with the number of pairs.

    Parameters
    ----------
    seg_xy0, seg_xy1, pts_xy, bandwidths, kernel, piece_segment, n_segments, backend, chunk_size
        As in :func:`exposure`.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_segments, n_points)
        Entries are stored for every pair inside the support, in no particular column order within a row.

    Examples
    --------
    >>> K = kernel_matrix([[0, 0]], [[10, 0]], [[5, 3], [5, 100]], 5.0, "epanechnikov")
    >>> K.toarray().round(4).tolist()
    [[0.64, 0.0]]
    """
    code, backend, xy0, xy1, _, piece_ptr, nseg, pts, _, h = _prepare(
        seg_xy0, seg_xy1, pts_xy, None, bandwidths, kernel, piece_segment, n_segments, backend
    )
    n = len(pts)
    if nseg == 0 or n == 0 or len(xy0) == 0:
        return sp.csr_matrix((nseg, n))
    if backend == "numpy":
        rows: list = []
        _numpy_scan(code, xy0, xy1, piece_ptr, pts, np.ones(n), h, None, None, rows)
        r = np.concatenate([x[0] for x in rows]) if rows else np.empty(0, np.int64)
        c = np.concatenate([x[1] for x in rows]) if rows else np.empty(0, np.int64)
        v = np.concatenate([x[2] for x in rows]) if rows else np.empty(0)
        return sp.csr_matrix((v, (r, c)), shape=(nseg, n))
    blocks = []
    for lo in range(0, n, max(int(chunk_size), 1)):
        hi = min(lo + int(chunk_size), n)
        counts = np.zeros(nseg, dtype=np.int64)
        _grid_pass(1, code, xy0, xy1, piece_ptr, pts[lo:hi], np.ones(hi - lo), h[lo:hi], None, counts, 0, None)
        indptr = np.zeros(nseg + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        fill = (indptr, np.empty(indptr[-1], dtype=np.int64), np.empty(indptr[-1]))
        _grid_pass(2, code, xy0, xy1, piece_ptr, pts[lo:hi], np.ones(hi - lo), h[lo:hi], None, None, 0, fill)
        blocks.append(sp.csr_matrix((fill[2], fill[1], indptr), shape=(nseg, hi - lo)))
    return blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr")


# ---------------------------------------------------------------------------------------------------------------
# numpy backend
# ---------------------------------------------------------------------------------------------------------------
def _numpy_scan(code, xy0, xy1, piece_ptr, pts, w, h, out_e, out_n, rows, moments=None) -> None:
    nseg = len(piece_ptr) - 1
    piece_seg = np.repeat(np.arange(nseg, dtype=np.int64), np.diff(piece_ptr))
    tree = shapely.STRtree(shapely.linestrings(np.stack([xy0, xy1], axis=1)))
    kern: Kernel = kernel_by_code(code)
    support = kern.support
    for lo in range(0, len(pts), _NUMPY_CHUNK):
        hi = min(lo + _NUMPY_CHUNK, len(pts))
        geoms = shapely.points(pts[lo:hi])
        pi, pj = tree.query(geoms, predicate="dwithin", distance=support * h[lo:hi] * (1.0 + 1e-9))
        if len(pi) == 0:
            continue
        pi = pi + lo
        d2 = _d2_numpy(pts[pi, 0], pts[pi, 1], xy0[pj, 0], xy0[pj, 1], xy1[pj, 0], xy1[pj, 1])
        seg = piece_seg[pj]
        # minimum distance per (point, segment): sort by the pair key, reduce each run
        key = pi * np.int64(nseg) + seg
        order = np.argsort(key, kind="stable")
        key, d2 = key[order], d2[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        d2 = np.minimum.reduceat(d2, first)
        key = key[first]
        pi, seg = key // nseg, key % nseg
        u = d2 * (1.0 / (h[pi] * h[pi]))
        inside = kern.inside(u)
        pi, seg, u = pi[inside], seg[inside], u[inside]
        k = kern.of_u(u)
        if rows is not None:
            rows.append((seg, pi, k))
            continue
        c = w[pi] * k
        out_e += np.bincount(seg, weights=c, minlength=nseg)
        out_n += np.bincount(seg, minlength=nseg)
        if moments is not None:
            moments[0][:] += np.bincount(seg, weights=c * c, minlength=nseg)
            np.maximum.at(moments[1], seg, c)
