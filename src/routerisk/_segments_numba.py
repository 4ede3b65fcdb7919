"""Compiled searches over segment pieces: the nearest segment of each point, and the pairs of adjacent segments.

Both bin the pieces into a uniform grid. :func:`nearest_segment` scans the points in parallel; its distance is
the arithmetic of GEOS's ``Distance::pointToSegment`` (behind ``shapely.distance`` and ``STRtree.query_nearest``),
evaluated without fast-math, so the attribution equals the STRtree one bit for bit, ties included (equal
distances: the lowest segment index wins); each point is written by one thread only. :func:`adjacent_pairs` uses
GEOS's ``Distance::segmentToSegment`` for the pairs of pieces in neighbouring cells (the ``dwithin`` test of
``STRtree.query``), so segments whose geometries come within ``snap`` of each other are adjacent.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["adjacent_pairs", "nearest_segment"]

_MAX_CELLS = 1 << 22


def _cap(cell: float, lo, hi, n_pieces: int) -> float:
    """Widen ``cell`` so that the grid has at most ``max(4 n_pieces, 65536)`` cells (bounded memory and set-up)."""
    most = min(max(4 * n_pieces, 1 << 16), _MAX_CELLS)
    ncell = ((hi[0] - lo[0]) / cell + 1.0) * ((hi[1] - lo[1]) / cell + 1.0)
    return cell * math.sqrt(ncell / most) if ncell > most else cell


def nearest_segment(xy0, xy1, piece_segment, pts, reach) -> np.ndarray:
    """Index of the nearest segment of each point with distance ``<= reach`` (-1 if none; NaN inputs: -1).

    Parameters
    ----------
    xy0, xy1 : numpy.ndarray of shape (n_pieces, 2)
        Pieces (see :func:`routerisk.engine.segment_pieces`), finite coordinates.
    piece_segment : numpy.ndarray of int64
        Segment of each piece.
    pts : numpy.ndarray of shape (n, 2)
    reach : numpy.ndarray of shape (n,)
        Finite reach per point (negative or NaN: never attributed).
    """
    pts = np.ascontiguousarray(pts, dtype=np.float64).reshape(-1, 2)
    reach = np.ascontiguousarray(reach, dtype=np.float64)
    out = np.full(len(pts), -1, dtype=np.int64)
    ok = np.isfinite(pts).all(axis=1) & (reach >= 0)
    if len(xy0) == 0 or not ok.any():
        return out
    R = max(float(reach[ok].max()), 1e-9)
    lo = np.minimum(xy0.min(axis=0), xy1.min(axis=0))
    hi = np.maximum(xy0.max(axis=0), xy1.max(axis=0))
    cell = R
    cell = _cap(cell, lo, hi, len(xy0))
    nx = int((hi[0] - lo[0]) // cell) + 1
    ny = int((hi[1] - lo[1]) // cell) + 1
    start, items = _bin_pieces(xy0, xy1, float(lo[0]), float(lo[1]), cell, nx, ny)
    idx = np.flatnonzero(ok)
    _scan(xy0, xy1, np.ascontiguousarray(piece_segment, dtype=np.int64), pts, reach, idx, start, items,
          float(lo[0]), float(lo[1]), cell, nx, ny, out)  # fmt: skip
    return out


@njit(cache=True, inline="always")
def _piece_cells(xy0, xy1, p, x0, y0, cell, nx, ny):
    """First and last column and row of the grid cells that piece ``p``'s bounding box overlaps."""
    c0 = min(max(int((min(xy0[p, 0], xy1[p, 0]) - x0) / cell), 0), nx - 1)
    c1 = min(max(int((max(xy0[p, 0], xy1[p, 0]) - x0) / cell), 0), nx - 1)
    r0 = min(max(int((min(xy0[p, 1], xy1[p, 1]) - y0) / cell), 0), ny - 1)
    r1 = min(max(int((max(xy0[p, 1], xy1[p, 1]) - y0) / cell), 0), ny - 1)
    return c0, c1, r0, r1


@njit(cache=True)
def _bin_pieces(xy0, xy1, x0, y0, cell, nx, ny):
    """Cells (CSR: ``start``, ``items``) holding each piece whose bounding box overlaps them."""
    n = xy0.shape[0]
    count = np.zeros(nx * ny + 1, np.int64)
    for p in range(n):
        c0, c1, r0, r1 = _piece_cells(xy0, xy1, p, x0, y0, cell, nx, ny)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                count[r * nx + c + 1] += 1
    for c in range(nx * ny):
        count[c + 1] += count[c]
    pos = count[:-1].copy()
    items = np.empty(count[-1], np.int64)
    for p in range(n):
        c0, c1, r0, r1 = _piece_cells(xy0, xy1, p, x0, y0, cell, nx, ny)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                items[pos[r * nx + c]] = p
                pos[r * nx + c] += 1
    return count, items


@njit(cache=True)
def geos_point_segment(px, py, ax, ay, bx, by):
    """GEOS ``Distance::pointToSegment`` (same operations, same order; no fast-math)."""
    if ax == bx and ay == by:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy)
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy)
    if r >= 1.0:
        dx = px - bx
        dy = py - by
        return math.sqrt(dx * dx + dy * dy)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


@njit(cache=True, parallel=True)
def _scan(xy0, xy1, piece_seg, pts, reach, idx, start, items, x0, y0, cell, nx, ny, out):
    for q in prange(idx.size):
        i = idx[q]
        px = pts[i, 0]
        py = pts[i, 1]
        r = reach[i]
        c0 = max(math.floor((px - r - x0) / cell), 0)
        c1 = min(math.floor((px + r - x0) / cell), nx - 1)
        r0 = max(math.floor((py - r - y0) / cell), 0)
        r1 = min(math.floor((py + r - y0) / cell), ny - 1)
        best = np.inf
        best_seg = -1
        for row in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                c = row * nx + col
                for k in range(start[c], start[c + 1]):
                    p = items[k]
                    ax, ay, bx, by = xy0[p, 0], xy0[p, 1], xy1[p, 0], xy1[p, 1]
                    # skip a piece whose bounding box is farther than the reach or the best so far (with a
                    # margin far above rounding, so no piece that could win or tie is skipped)
                    gx = max(min(ax, bx) - px, 0.0, px - max(ax, bx))
                    gy = max(min(ay, by) - py, 0.0, py - max(ay, by))
                    lim = min(r, best) * (1.0 + 1e-9) + 1e-9
                    if gx * gx + gy * gy > lim * lim:
                        continue
                    d = geos_point_segment(px, py, ax, ay, bx, by)
                    if d <= r:
                        s = piece_seg[p]
                        if d < best or (d == best and s < best_seg):
                            best = d
                            best_seg = s
        out[i] = best_seg


def adjacent_pairs(xy0, xy1, piece_segment, snap: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of segments with pieces within ``snap`` of each other (each pair once)."""
    if len(xy0) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo = np.minimum(xy0.min(axis=0), xy1.min(axis=0))
    hi = np.maximum(xy0.max(axis=0), xy1.max(axis=0))
    extent = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
    # cells of about the typical piece length (at least the snap), at most _MAX_CELLS of them
    typical = float(np.median(np.hypot(*(xy1 - xy0).T))) if len(xy0) else 1.0
    cell = _cap(max(typical, 2.0 * snap, extent / 4096.0, 1e-9), lo, hi, len(xy0))
    nx = int((hi[0] - lo[0]) // cell) + 1
    ny = int((hi[1] - lo[1]) // cell) + 1
    start, items = _bin_pieces(xy0, xy1, float(lo[0]), float(lo[1]), cell, nx, ny)
    ps = np.ascontiguousarray(piece_segment, dtype=np.int64)
    ii, jj = _pairs(xy0, xy1, ps, float(snap), start, items, float(lo[0]), float(lo[1]), cell, nx, ny)
    if len(ii) == 0:
        return ii, jj
    key = np.unique(ii * np.int64(ps.max() + 1) + jj)
    return key // (ps.max() + 1), key % (ps.max() + 1)


@njit(cache=True)
def geos_segment_segment(ax, ay, bx, by, cx, cy, dx, dy):
    """GEOS ``Distance::segmentToSegment`` (same operations, same order; no fast-math)."""
    if ax == bx and ay == by:
        return geos_point_segment(ax, ay, cx, cy, dx, dy)
    if cx == dx and cy == dy:
        return geos_point_segment(dx, dy, ax, ay, bx, by)
    no_intersection = False
    if (min(cx, dx) > max(ax, bx) or max(cx, dx) < min(ax, bx) or min(cy, dy) > max(ay, by)
            or max(cy, dy) < min(ay, by)):  # fmt: skip
        no_intersection = True
    else:
        denom = (bx - ax) * (dy - cy) - (by - ay) * (dx - cx)
        if denom == 0:
            no_intersection = True
        else:
            r_num = (ay - cy) * (dx - cx) - (ax - cx) * (dy - cy)
            s_num = (ay - cy) * (bx - ax) - (ax - cx) * (by - ay)
            s = s_num / denom
            r = r_num / denom
            if r < 0 or r > 1 or s < 0 or s > 1:
                no_intersection = True
    if no_intersection:
        return min(
            geos_point_segment(ax, ay, cx, cy, dx, dy),
            min(geos_point_segment(bx, by, cx, cy, dx, dy),
                min(geos_point_segment(cx, cy, ax, ay, bx, by), geos_point_segment(dx, dy, ax, ay, bx, by))),
        )  # fmt: skip
    return 0.0


@njit(cache=True)
def _pairs(xy0, xy1, ps, snap, start, items, x0, y0, cell, nx, ny):
    n = xy0.shape[0]
    out_i = []
    out_j = []
    for p in range(n):
        ax, ay, bx, by = xy0[p, 0], xy0[p, 1], xy1[p, 0], xy1[p, 1]
        c0 = max(math.floor((min(ax, bx) - snap - x0) / cell), 0)
        c1 = min(math.floor((max(ax, bx) + snap - x0) / cell), nx - 1)
        r0 = max(math.floor((min(ay, by) - snap - y0) / cell), 0)
        r1 = min(math.floor((max(ay, by) + snap - y0) / cell), ny - 1)
        sp = ps[p]
        for row in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                c = row * nx + col
                for k in range(start[c], start[c + 1]):
                    q = items[k]
                    sq = ps[q]
                    if sq <= sp:
                        continue
                    d = geos_segment_segment(ax, ay, bx, by, xy0[q, 0], xy0[q, 1], xy1[q, 0], xy1[q, 1])
                    if d <= snap:
                        out_i.append(sp)
                        out_j.append(sq)
    return np.array(out_i, dtype=np.int64), np.array(out_j, dtype=np.int64)
