"""The compiled backend of :mod:`routerisk.engine`: a uniform grid of points and a parallel scan over segments.

See :mod:`routerisk.engine` for what is computed; this module holds only the numba kernels and the scans over
segments one by one, so that the engine's public functions and the numpy fallback stay readable on their own. The
pieces and the grid of points the scans walk are built in :mod:`routerisk._engine_grid` (``chain_pieces`` is
re-exported here); the driver (``grid_pass``) and the exposure scan by blocks of neighbouring segments, which the
engine runs for sums (``_scan_sum`` here is its reference), are in :mod:`routerisk._engine_blocks`.

The compiled functions dispatch on the integer ``code`` of :mod:`routerisk.kernels`: ``_kval`` (the scalar
formula), ``_inside`` (the support) and the branch-free row sums. A code not in :data:`COMPILED_CODES` is refused
by ``grid_pass`` with an error (and gives NaN inside the compiled code), never another kernel's values: a kernel
added to the registry needs its formula here too before ``backend="numba"`` accepts it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from ._engine_grid import chain_pieces

__all__ = ["COMPILED_CODES", "HAVE_NUMBA", "chain_pieces"]

#: numba is a required dependency (kept for the name ``routerisk.engine.HAVE_NUMBA``).
HAVE_NUMBA = True
#: Kernel codes the compiled scan implements: quartic 0, gaussian 1, epanechnikov 2, uniform 3, triweight 4.
COMPILED_CODES = (0, 1, 2, 3, 4)


# Reassociation lets LLVM vectorise the per-row reductions; no flag assumes finite values (scratch uses inf).
_FM = {"reassoc", "contract", "arcp", "nsz"}


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
    if code == 0 or code == 2 or code == 4:
        return u < 1.0
    return False


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
    if code == 3:
        return 1.0
    if code == 4:
        t = 1.0 - u
        return t * t * t
    return np.nan


# Branch-free row sums, one per kernel, so each loop vectorises: sum of w K, sum of (w K)^2, max of w K, count.
@njit(cache=True, fastmath=_FM)
def _row_quartic(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
    acc = 0.0
    acc2 = 0.0
    mx = 0.0
    cnt = 0
    for k in range(j0, j1):
        u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
        v = max(1.0 - u, 0.0)
        c = sw[k] * (v * v)
        acc += c
        acc2 += c * c
        mx = max(mx, c)
        cnt += u < 1.0
    return acc, acc2, mx, cnt


@njit(cache=True, fastmath=_FM)
def _row_gaussian(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
    acc = 0.0
    acc2 = 0.0
    mx = 0.0
    cnt = 0
    for k in range(j0, j1):
        u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
        inside = u < 9.0
        c = sw[k] * _exp_neg(-0.5 * min(u, 9.0)) * inside
        acc += c
        acc2 += c * c
        mx = max(mx, c)
        cnt += inside
    return acc, acc2, mx, cnt


@njit(cache=True, fastmath=_FM)
def _row_epanechnikov(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
    acc = 0.0
    acc2 = 0.0
    mx = 0.0
    cnt = 0
    for k in range(j0, j1):
        u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
        c = sw[k] * max(1.0 - u, 0.0)
        acc += c
        acc2 += c * c
        mx = max(mx, c)
        cnt += u < 1.0
    return acc, acc2, mx, cnt


@njit(cache=True, fastmath=_FM)
def _row_uniform(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
    acc = 0.0
    acc2 = 0.0
    mx = 0.0
    cnt = 0
    for k in range(j0, j1):
        inside = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k] <= 1.0
        c = sw[k] * inside
        acc += c
        acc2 += c * c
        mx = max(mx, c)
        cnt += inside
    return acc, acc2, mx, cnt


@njit(cache=True, fastmath=_FM)
def _row_triweight(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2):
    acc = 0.0
    acc2 = 0.0
    mx = 0.0
    cnt = 0
    for k in range(j0, j1):
        u = _pd2(sx[k], sy[k], ax, ay, dx, dy, l2, il2) * sih[k]
        v = max(1.0 - u, 0.0)
        c = sw[k] * (v * v * v)
        acc += c
        acc2 += c * c
        mx = max(mx, c)
        cnt += u < 1.0
    return acc, acc2, mx, cnt


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
    code,
    xy0,
    xy1,
    piece_ptr,
    sx,
    sy,
    sw,
    sih,
    start,
    x0,
    y0,
    cell,
    nx,
    ny,
    R,
    scratch,
    touched,
    out_e,
    out_n,
    out_e2,
    out_mx,
):
    nseg = piece_ptr.size - 1
    for s in prange(nseg):
        p0 = piece_ptr[s]
        npc = piece_ptr[s + 1] - p0
        acc = 0.0
        acc2 = 0.0
        mx = 0.0
        cnt = 0
        if npc == 1:
            ax, ay, bx, by, dx, dy, l2, il2 = _piece(xy0, xy1, p0)
            r0, r1 = _rows(ay, by, y0, cell, ny, R)
            for cy in range(r0, r1 + 1):
                j0, j1 = _row_range(ax, ay, bx, by, cy, start, x0, y0, cell, nx, R)
                if code == 0:
                    a, a2, m, c = _row_quartic(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                elif code == 1:
                    a, a2, m, c = _row_gaussian(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                elif code == 2:
                    a, a2, m, c = _row_epanechnikov(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                elif code == 3:
                    a, a2, m, c = _row_uniform(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                elif code == 4:
                    a, a2, m, c = _row_triweight(j0, j1, sx, sy, sw, sih, ax, ay, dx, dy, l2, il2)
                else:  # never another kernel's values (grid_pass refuses such a code first)
                    a, a2, m, c = np.nan, np.nan, np.nan, 0
                acc += a
                acc2 += a2
                mx = max(mx, m)
                cnt += c
        elif npc > 1:
            tid = numba.get_thread_id()
            scr = scratch[tid]
            tch = touched[tid]
            m = _collect(s, code, xy0, xy1, piece_ptr, sx, sy, sih, start, x0, y0, cell, nx, ny, R, scr, tch)
            for j in range(m):
                k = tch[j]
                c = sw[k] * _kval(code, scr[k])
                acc += c
                acc2 += c * c
                mx = max(mx, c)
                scr[k] = np.inf
            cnt = m
        out_e[s] += acc
        out_n[s] += cnt
        out_e2[s] += acc2
        out_mx[s] = max(out_mx[s], mx)


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
