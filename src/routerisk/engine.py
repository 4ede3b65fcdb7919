"""Kernel exposure of line segments to weighted points: a compiled grid kernel and a pure-numpy fallback.

Both backends compute, for every segment ``s`` (a chain of 2-vertex *pieces*) and point ``i``,

    d_is = min over the pieces of s of the exact point-to-piece distance
    E_s  = sum_i w_i K(d_is; h_i),        n_s = #{i : d_is inside the support of K(.; h_i)}

with the unnormalised kernels of :data:`routerisk.model.KERNEL_SUPPORT` (``K(0) = 1``). The distance is the minimum
over the segment's pieces, never a sum over pieces, so a bent segment counts each point once.

``backend="numba"`` (the default when numba imports): points are binned into a uniform grid by counting sort
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

import math

import numpy as np
import scipy.sparse as sp
import shapely

from .model import KERNEL_SUPPORT, KERNELS

try:
    import numba
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; the fallback keeps the library usable without it
    HAVE_NUMBA = False

__all__ = ["BACKENDS", "HAVE_NUMBA", "exposure", "kernel_matrix", "kernel_values", "segment_pieces"]

BACKENDS = ("auto", "numba", "numpy")
_CODES = {name: i for i, name in enumerate(KERNELS)}  # quartic 0, gaussian 1, epanechnikov 2, uniform 3
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
    geoms = np.asarray(geoms, dtype=object)
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
    kernel : {"quartic", "gaussian", "epanechnikov", "uniform"}

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
    if code == 0:
        return np.where(u < 1.0, (1.0 - u) ** 2, 0.0)
    if code == 1:
        return np.where(u < 9.0, np.exp(-0.5 * u), 0.0)
    if code == 2:
        return np.where(u < 1.0, 1.0 - u, 0.0)
    return np.where(u <= 1.0, 1.0, 0.0)


def _in_support(u: np.ndarray, code: int) -> np.ndarray:
    if code == 1:
        return u < 9.0
    if code == 3:
        return u <= 1.0
    return u < 1.0


def _code(kernel: str) -> int:
    if kernel not in _CODES:
        msg = f"`kernel` was {kernel!r} but must be one of {KERNELS}"
        raise ValueError(msg)
    return _CODES[kernel]


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
        backend = "numba" if HAVE_NUMBA else "numpy"
    if backend == "numba" and not HAVE_NUMBA:  # pragma: no cover
        msg = "`backend` was 'numba' but numba is not installed; `pip install numba` or use backend='numpy'"
        raise ImportError(msg)
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
) -> tuple[np.ndarray, np.ndarray]:
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
    kernel : {"quartic", "gaussian", "epanechnikov", "uniform"}
    piece_segment : array-like of int, optional
        Segment of each piece (default: each piece is its own segment). The distance to a segment is the minimum
        over its pieces.
    n_segments : int, optional
        Number of segments (default ``max(piece_segment) + 1``); segments without pieces get zeros.
    backend : {"auto", "numba", "numpy"}
        ``"auto"`` uses the compiled grid kernel when numba is available.
    chunk_size : int
        Points processed per pass of the compiled kernel (bounds memory).

    Returns
    -------
    exposure : numpy.ndarray of float64, shape (n_segments,)
        ``E_s = sum_i w_i K(d_is; h_i)``.
    count : numpy.ndarray of int64, shape (n_segments,)
        Points whose distance lies inside their kernel's support.

    Examples
    --------
    >>> e, n = exposure([[0, 0]], [[10, 0]], [[5, 3], [5, 100]], [2.0, 1.0], 5.0, "epanechnikov")
    >>> e.round(6).tolist(), n.tolist()
    ([1.28], [1])
    """
    code, backend, xy0, xy1, _, piece_ptr, nseg, pts, w, h = _prepare(
        seg_xy0, seg_xy1, pts_xy, weights, bandwidths, kernel, piece_segment, n_segments, backend
    )
    out_e = np.zeros(nseg)
    out_n = np.zeros(nseg, dtype=np.int64)
    if nseg == 0 or len(pts) == 0 or len(xy0) == 0:
        return out_e, out_n
    if backend == "numpy":
        _numpy_scan(code, xy0, xy1, piece_ptr, pts, w, h, out_e, out_n, None)
        return out_e, out_n
    for lo in range(0, len(pts), max(int(chunk_size), 1)):
        hi = min(lo + int(chunk_size), len(pts))
        _grid_pass(0, code, xy0, xy1, piece_ptr, pts[lo:hi], w[lo:hi], h[lo:hi], out_e, out_n, lo, None)
    return out_e, out_n


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
    matrix lets the bootstrap re-weight points without a new spatial query. Memory grows with the number of pairs.

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
def _numpy_scan(code, xy0, xy1, piece_ptr, pts, w, h, out_e, out_n, rows) -> None:
    nseg = len(piece_ptr) - 1
    piece_seg = np.repeat(np.arange(nseg, dtype=np.int64), np.diff(piece_ptr))
    tree = shapely.STRtree(shapely.linestrings(np.stack([xy0, xy1], axis=1)))
    support = KERNEL_SUPPORT[KERNELS[code]]
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
        inside = _in_support(u, code)
        pi, seg, u = pi[inside], seg[inside], u[inside]
        k = _kernel_u(u, code)
        if rows is not None:
            rows.append((seg, pi, k))
            continue
        out_e += np.bincount(seg, weights=w[pi] * k, minlength=nseg)
        out_n += np.bincount(seg, minlength=nseg)


# ---------------------------------------------------------------------------------------------------------------
# compiled backend
# ---------------------------------------------------------------------------------------------------------------
def _grid_pass(mode, code, xy0, xy1, piece_ptr, pts, w, h, out_e, out_n, offset, fill) -> None:
    """Bin one chunk of points into a grid and run the compiled scan (mode 0 sum, 1 count, 2 fill CSR)."""
    support = KERNEL_SUPPORT[KERNELS[code]]
    R = float(support * h.max())
    # only points that can reach a piece matter; the grid spans them
    lo = np.minimum(xy0.min(axis=0), xy1.min(axis=0)) - R
    hi = np.maximum(xy0.max(axis=0), xy1.max(axis=0)) + R
    keep = np.flatnonzero(np.all((pts >= lo) & (pts <= hi), axis=1))
    if len(keep) == 0:
        return
    px, py = pts[keep, 0], pts[keep, 1]
    x0, y0 = float(px.min()), float(py.min())
    width, height = float(px.max()) - x0, float(py.max()) - y0
    cell = R / 4.0
    max_cells = max(4 * len(keep), 1 << 16)
    ncell = (width / cell + 1.0) * (height / cell + 1.0)
    if ncell > max_cells:
        cell *= math.sqrt(ncell / max_cells)
    nx = int(width // cell) + 1
    ny = int(height // cell) + 1
    start, order = _counting_sort(px, py, x0, y0, cell, nx, ny)
    sel = keep[order]
    sx, sy = np.ascontiguousarray(pts[sel, 0]), np.ascontiguousarray(pts[sel, 1])
    sw = np.ascontiguousarray(w[sel])
    sih = 1.0 / (h[sel] * h[sel])
    multi = bool(np.any(np.diff(piece_ptr) > 1))
    nthreads = numba.config.NUMBA_NUM_THREADS if multi else 1
    scratch = np.full((nthreads, len(sel) if multi else 1), np.inf)
    touched = np.empty((nthreads, len(sel) if multi else 1), dtype=np.int64)
    grid = (start, x0, y0, cell, nx, ny, R)
    if mode == 0:
        _scan_sum(code, xy0, xy1, piece_ptr, sx, sy, sw, sih, *grid, scratch, touched, out_e, out_n)
    elif mode == 1:
        _scan_count(code, xy0, xy1, piece_ptr, sx, sy, sih, *grid, scratch, touched, out_n)
    else:
        indptr, indices, data = fill
        _scan_fill(code, xy0, xy1, piece_ptr, sx, sy, sih, *grid, scratch, touched, sel + offset, indptr, indices, data)


if HAVE_NUMBA:
    # Reassociation lets LLVM vectorise the per-row reductions; no flag assumes finite values (scratch uses inf).
    _FM = {"reassoc", "contract", "arcp", "nsz"}

    @njit(cache=True)
    def _counting_sort(px, py, x0, y0, cell, nx, ny):
        n = px.size
        cid = np.empty(n, np.int64)
        start = np.zeros(nx * ny + 1, np.int64)
        for i in range(n):
            cx = min(max(int((px[i] - x0) / cell), 0), nx - 1)
            cy = min(max(int((py[i] - y0) / cell), 0), ny - 1)
            c = cy * nx + cx
            cid[i] = c
            start[c + 1] += 1
        for c in range(nx * ny):
            start[c + 1] += start[c]
        pos = start[:-1].copy()
        order = np.empty(n, np.int64)
        for i in range(n):
            c = cid[i]
            order[pos[c]] = i
            pos[c] += 1
        return start, order

    @njit(cache=True, fastmath=_FM, inline="always")
    def _pd2(x, y, ax, ay, dx, dy, l2, il2):
        """Squared distance from (x, y) to the piece a + t (dx, dy), t in [0, 1]; ``il2 = 1 / l2`` (0 if l2 = 0)."""
        apx = x - ax
        apy = y - ay
        t = min(max(apx * dx + apy * dy, 0.0), l2) * il2
        qx = apx - t * dx
        qy = apy - t * dy
        return qx * qx + qy * qy

    @njit(cache=True, fastmath=_FM, inline="always")
    def _exp_neg(x):
        """exp(x) for x in [-4.5, 0] as (exp(x/8))**8 with a degree-14 Taylor polynomial (relative error < 1e-14).

        A polynomial vectorises where a libm call does not; the truncated Gaussian needs only this range.
        """
        r = x * 0.125
        p = 1.0 / 87178291200.0
        p = p * r + 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        p = p * p
        p = p * p
        return p * p

    @njit(cache=True, inline="always")
    def _inside(code, u):
        if code == 1:
            return u < 9.0
        if code == 3:
            return u <= 1.0
        return u < 1.0

    @njit(cache=True, fastmath=_FM, inline="always")
    def _kval(code, u):
        """Kernel of ``u = (d/h)**2`` inside the support."""
        if code == 0:
            t = 1.0 - u
            return t * t
        if code == 1:
            return _exp_neg(-0.5 * u)
        if code == 2:
            return 1.0 - u
        return 1.0

    # Branch-free row sums, one per kernel, so each loop vectorises.
    @njit(cache=True, fastmath=_FM)
    def _row_quartic(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
        acc = 0.0
        cnt = 0
        for k in range(j0, j1):
            u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
            v = max(1.0 - u, 0.0)
            acc += sw[k] * (v * v)
            cnt += u < 1.0
        return acc, cnt

    @njit(cache=True, fastmath=_FM)
    def _row_gaussian(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
        acc = 0.0
        cnt = 0
        for k in range(j0, j1):
            u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
            inside = u < 9.0
            acc += sw[k] * _exp_neg(-0.5 * min(u, 9.0)) * inside
            cnt += inside
        return acc, cnt

    @njit(cache=True, fastmath=_FM)
    def _row_epanechnikov(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
        acc = 0.0
        cnt = 0
        for k in range(j0, j1):
            u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
            acc += sw[k] * max(1.0 - u, 0.0)
            cnt += u < 1.0
        return acc, cnt

    @njit(cache=True, fastmath=_FM)
    def _row_uniform(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
        acc = 0.0
        cnt = 0
        for k in range(j0, j1):
            inside = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k] <= 1.0
            acc += sw[k] * inside
            cnt += inside
        return acc, cnt

    @njit(cache=True, fastmath=_FM)
    def _row_count(code, j0, j1, sx, sy, sih, ax, ay, dx, dy, l2, il2):
        cnt = 0
        for k in range(j0, j1):
            cnt += _inside(code, _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k])
        return cnt

    @njit(cache=True)
    def _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R):
        """Range of sorted points in grid row ``cy`` that may lie within ``R`` of the piece (empty: lo >= hi).

        A point of the row band within R of the piece is within R of the part of the piece whose y lies in the
        band widened by R, and its x differs from that part's by at most sqrt(R^2 - gap^2), gap being the
        vertical distance between the band and the piece.
        """
        ylo = y0 + cy * cell
        yhi = ylo + cell
        ymin = min(ay, by)
        ymax = max(ay, by)
        gap = 0.0
        if yhi < ymin:
            gap = ymin - yhi
        elif ylo > ymax:
            gap = ylo - ymax
        if gap > R:
            return 0, 0
        half = math.sqrt(R * R - gap * gap)
        if ay == by:
            xa = min(ax, bx)
            xb = max(ax, bx)
        else:
            ta = (ylo - R - ay) / (by - ay)
            tb = (yhi + R - ay) / (by - ay)
            tlo = max(0.0, min(ta, tb))
            thi = min(1.0, max(ta, tb))
            if tlo > thi:
                return 0, 0
            xa = ax + tlo * (bx - ax)
            xb = ax + thi * (bx - ax)
            if xa > xb:
                xa, xb = xb, xa
        c0 = math.floor((xa - half - x0) / cell)
        c1 = math.floor((xb + half - x0) / cell)
        if c1 < 0 or c0 >= nx:
            return 0, 0
        c0 = max(c0, 0)
        c1 = min(c1, nx - 1)
        return start[cy * nx + c0], start[cy * nx + c1 + 1]

    @njit(cache=True)
    def _rows(ay, by, y0, cell, ny, R):
        r0 = math.floor((min(ay, by) - R - y0) / cell)
        r1 = math.floor((max(ay, by) + R - y0) / cell)
        return max(r0, 0), min(r1, ny - 1)

    @njit(cache=True, inline="always")
    def _piece(xy0, xy1, p):
        ax, ay = xy0[p, 0], xy0[p, 1]
        dx = xy1[p, 0] - ax
        dy = xy1[p, 1] - ay
        l2 = dx * dx + dy * dy
        il2 = 1.0 / l2 if l2 > 0.0 else 0.0
        return ax, ay, xy1[p, 0], xy1[p, 1], dx, dy, l2, il2

    @njit(cache=True)
    def _collect(s, code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scr, tch):
        """Points in reach of multi-piece segment ``s``: indices in ``tch[:m]``, min ``u = (d/h)^2`` in ``scr``."""
        m = 0
        for p in range(piece_ptr[s], piece_ptr[s + 1]):
            ax, ay, bx, by, dx, dy, l2, il2 = _piece(xy0, xy1, p)
            r0, r1 = _rows(ay, by, y0, cell, ny, R)
            for cy in range(r0, r1 + 1):
                j0, j1 = _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R)
                for k in range(j0, j1):
                    u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
                    if _inside(code, u):
                        if scr[k] == np.inf:
                            tch[m] = k
                            m += 1
                            scr[k] = u
                        elif u < scr[k]:
                            scr[k] = u
        return m

    @njit(cache=True, parallel=True)
    def _scan_sum(
        code, xy0, xy1, piece_ptr, sx, sy, sw, sih, start, x0, y0, cell, nx, ny, R, scratch, touched, out_e, out_n
    ):
        nseg = piece_ptr.size - 1
        for s in prange(nseg):
            p0 = piece_ptr[s]
            npc = piece_ptr[s + 1] - p0
            acc = 0.0
            cnt = 0
            if npc == 1:
                ax, ay, bx, by, dx, dy, l2, il2 = _piece(xy0, xy1, p0)
                r0, r1 = _rows(ay, by, y0, cell, ny, R)
                for cy in range(r0, r1 + 1):
                    j0, j1 = _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R)
                    if code == 0:
                        a, c = _row_quartic(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                    elif code == 1:
                        a, c = _row_gaussian(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                    elif code == 2:
                        a, c = _row_epanechnikov(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                    else:
                        a, c = _row_uniform(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                    acc += a
                    cnt += c
            elif npc > 1:
                tid = numba.get_thread_id()
                scr = scratch[tid]
                tch = touched[tid]
                m = _collect(s, code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scr, tch)
                for j in range(m):
                    k = tch[j]
                    acc += sw[k] * _kval(code, scr[k])
                    scr[k] = np.inf
                cnt = m
            out_e[s] += acc
            out_n[s] += cnt

    @njit(cache=True, parallel=True)
    def _scan_count(code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scratch, touched, out_n):
        nseg = piece_ptr.size - 1
        for s in prange(nseg):
            p0 = piece_ptr[s]
            npc = piece_ptr[s + 1] - p0
            cnt = 0
            if npc == 1:
                ax, ay, bx, by, dx, dy, l2, il2 = _piece(xy0, xy1, p0)
                r0, r1 = _rows(ay, by, y0, cell, ny, R)
                for cy in range(r0, r1 + 1):
                    j0, j1 = _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R)
                    cnt += _row_count(code, j0, j1, sx, sy, sih, ax, ay, dx, dy, l2, il2)
            elif npc > 1:
                tid = numba.get_thread_id()
                scr = scratch[tid]
                tch = touched[tid]
                cnt = _collect(s, code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scr, tch)
                for j in range(cnt):
                    scr[tch[j]] = np.inf
            out_n[s] = cnt

    @njit(cache=True, parallel=True)
    def _scan_fill(
        code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scratch, touched, col, indptr, idx, val
    ):
        nseg = piece_ptr.size - 1
        for s in prange(nseg):
            p0 = piece_ptr[s]
            npc = piece_ptr[s + 1] - p0
            o = indptr[s]
            if npc == 1:
                ax, ay, bx, by, dx, dy, l2, il2 = _piece(xy0, xy1, p0)
                r0, r1 = _rows(ay, by, y0, cell, ny, R)
                for cy in range(r0, r1 + 1):
                    j0, j1 = _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R)
                    for k in range(j0, j1):
                        u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
                        if _inside(code, u):
                            idx[o] = col[k]
                            val[o] = _kval(code, u)
                            o += 1
            elif npc > 1:
                tid = numba.get_thread_id()
                scr = scratch[tid]
                tch = touched[tid]
                m = _collect(s, code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scr, tch)
                for j in range(m):
                    k = tch[j]
                    idx[o + j] = col[k]
                    val[o + j] = _kval(code, scr[k])
                    scr[k] = np.inf
