"""Geometry preparation for the compiled engine: segment pieces and the uniform grid of points.

This module holds the numba functions that turn inputs into the arrays the scans in
:mod:`routerisk._engine_numba` and :mod:`routerisk._engine_blocks` walk, and nothing of the kernels:

- :func:`chain_pieces` cuts LineStrings into 2-vertex pieces and sums their lengths (used by
  :mod:`routerisk._coords`);
- ``_extent`` and ``_in_box`` find the pieces' bounding box and the points that can reach it;
- ``_bin_points`` (with ``_counting_sort`` and ``_gather``) bins the kept points by grid cell, so that the
  points of one cell are contiguous and a grid row is a range of indices.

:func:`routerisk._engine_blocks.grid_pass` drives them; ``chain_pieces`` is re-exported from
:mod:`routerisk._engine_numba`.

Examples
--------
>>> import numpy as np
>>> coords = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0], [9.0, 9.0], [9.0, 10.0]])
>>> xy0, xy1, piece_segment, length = chain_pieces(coords, np.array([0, 0, 0, 1, 1]), 2)
>>> piece_segment.tolist(), length.tolist()
([0, 0, 1], [6.0, 1.0])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["chain_pieces"]


@njit(cache=True, nogil=True)
def chain_pieces(coords, coord_of, n):
    """2-vertex pieces of LineStrings from their coordinates and the geometry of each (non-decreasing), and the
    length of each of the ``n`` geometries summed piece by piece in order (``np.bincount`` of the piece lengths,
    bit for bit: the same operations without fast-math)."""
    m = 0
    for i in range(coord_of.size - 1):
        if coord_of[i + 1] == coord_of[i]:
            m += 1
    xy0 = np.empty((m, 2))
    xy1 = np.empty((m, 2))
    piece_segment = np.empty(m, np.int64)
    length = np.zeros(n)
    k = 0
    for i in range(coord_of.size - 1):
        if coord_of[i + 1] == coord_of[i]:
            ax, ay = coords[i, 0], coords[i, 1]
            bx, by = coords[i + 1, 0], coords[i + 1, 1]
            xy0[k, 0], xy0[k, 1] = ax, ay
            xy1[k, 0], xy1[k, 1] = bx, by
            s = coord_of[i]
            piece_segment[k] = s
            dx = bx - ax
            dy = by - ay
            length[s] += math.sqrt(dx * dx + dy * dy)
            k += 1
    return xy0, xy1, piece_segment, length


@njit(cache=True)
def _extent(xy0, xy1):
    """Min x, min y, max x, max y over the starts and ends of the pieces (finite coordinates)."""
    x0 = y0 = np.inf
    x1 = y1 = -np.inf
    for a in (xy0, xy1):
        for i in range(a.shape[0]):
            x0 = min(x0, a[i, 0])
            x1 = max(x1, a[i, 0])
            y0 = min(y0, a[i, 1])
            y1 = max(y1, a[i, 1])
    return x0, y0, x1, y1


@njit(cache=True)
def _in_box(pts, lox, loy, hix, hiy):
    """Indices of the points inside ``[lox, hix] x [loy, hiy]`` (ascending) and their min / max x and y."""
    n = pts.shape[0]
    keep = np.empty(n, np.int64)
    m = 0
    x0 = y0 = np.inf
    x1 = y1 = -np.inf
    for i in range(n):
        x = pts[i, 0]
        y = pts[i, 1]
        if x >= lox and x <= hix and y >= loy and y <= hiy:
            keep[m] = i
            m += 1
            x0 = min(x0, x)
            x1 = max(x1, x)
            y0 = min(y0, y)
            y1 = max(y1, y)
    return keep[:m].copy(), x0, y0, x1, y1


@njit(cache=True)
def _bin_points(pts, w, h, keep, x0, y0, cell, nx, ny):
    """Counting sort of the kept points by grid cell, and their coordinates, weights and ``1 / h^2`` in that order."""
    m = keep.size
    px = np.empty(m)
    py = np.empty(m)
    for j in range(m):
        px[j] = pts[keep[j], 0]
        py[j] = pts[keep[j], 1]
    start, order = _counting_sort(px, py, x0, y0, cell, nx, ny)
    return (start, *_gather(pts, w, h, keep, order))


@njit(cache=True, parallel=True)
def _gather(pts, w, h, keep, order):
    """The kept points in grid order: their indices, coordinates, weights and ``1 / h^2`` (random reads, so in
    parallel)."""
    m = order.size
    sel = np.empty(m, np.int64)
    sx = np.empty(m)
    sy = np.empty(m)
    sw = np.empty(m)
    sih = np.empty(m)
    for j in prange(m):
        i = keep[order[j]]
        sel[j] = i
        sx[j] = pts[i, 0]
        sy[j] = pts[i, 1]
        sw[j] = w[i]
        hi = h[i]
        sih[j] = 1.0 / (hi * hi)
    return sel, sx, sy, sw, sih


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
