"""The exposure scan by blocks (``routerisk._engine_blocks``) against the per-segment scan it replaces and brute force.

The per-segment scan (``grid_pass(..., blocks=False)``, ``_engine_numba._scan_sum``) is the reference: sums equal
to 1e-12 relative (only the summation order differs), counts and maxima identical, for every compiled kernel, on
chains of consecutive 1-piece segments (blocks of 1..n segments), multi-piece and zero-length segments mixed in,
segments reaching past the points' grid, and points in clusters (empty grid rows and cells).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routerisk._engine_blocks as eb
from routerisk.engine import exposure, kernel_values
from routerisk.kernels import get_kernel
from routerisk.model import KERNELS

PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {name: get_kernel(name).code for name in KERNELS}


def _case(seed, n_chains=6, chain_len=12, n_pts=1500, step=1_000.0, h0=5_000.0):
    """Routes as chains of consecutive 1-piece segments (as ``segmentize`` writes them), a few multi-piece and
    zero-length segments among them; points in clusters, some of them far from every segment."""
    rng = np.random.default_rng(seed)
    xy0, xy1, ptr = [], [], [0]
    for c in range(n_chains):
        a = rng.uniform(0, 60_000, 2)
        heading = rng.uniform(0, 2 * np.pi)
        for i in range(chain_len):
            heading += rng.normal(0, 0.3)
            b = a + step * rng.uniform(0.2, 1.5) * np.array([np.cos(heading), np.sin(heading)])
            npc = 1 if (c + i) % 7 else int(rng.integers(2, 4))  # a multi-piece segment now and then
            for _ in range(npc):
                xy0.append(a)
                xy1.append(a if (c + i) % 11 == 5 else b)  # and a zero-length piece
                a = b
                b = a + rng.normal(0, step / 2, 2)
            ptr.append(len(xy0))
    centres = rng.uniform(-10_000, 70_000, (5, 2))
    pts = centres[rng.integers(0, 5, n_pts)] + rng.normal(0, 6_000, (n_pts, 2))
    w = rng.choice([0.0, 0.3, 1.0, 2.5], n_pts) * rng.uniform(0.5, 1.0, n_pts)
    h = h0 * rng.choice([1.0, 1.3, 1.8], n_pts)
    return np.array(xy0), np.array(xy1), np.array(ptr, np.int64), pts, w, h


def _run(code, xy0, xy1, ptr, pts, w, h, blocks):
    n = len(ptr) - 1
    e, cnt, e2, mx = np.zeros(n), np.zeros(n, np.int64), np.zeros(n), np.zeros(n)
    eb.grid_pass(0, code, xy0, xy1, ptr, pts, w, h, e, cnt, 0, None, (e2, mx), blocks=blocks)
    return e, cnt, e2, mx


def _assert_same(new, ref):
    e, cnt, e2, mx = new
    re, rcnt, re2, rmx = ref
    np.testing.assert_array_equal(cnt, rcnt)
    np.testing.assert_array_equal(mx, rmx)
    np.testing.assert_allclose(e, re, rtol=1e-12, atol=0)
    np.testing.assert_allclose(e2, re2, rtol=1e-12, atol=0)


@PROPS
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(KERNELS),
    st.sampled_from([0.05, 0.5, 2.0, 50.0]),
    st.integers(1, 64),
    st.sampled_from([300.0, 1_000.0, 8_000.0]),
)
def test_blocks_equal_per_segment_scan(seed, kernel, span, bmax, step):
    """All kernels; blocks of 1 (span 0.05 R) up to whole chains (span 50 R, capped at ``bmax`` segments)."""
    xy0, xy1, ptr, pts, w, h = _case(seed, step=step)
    code = CODES[kernel]
    ref = _run(code, xy0, xy1, ptr, pts, w, h, blocks=False)
    old = (eb.BLOCK_SPAN, eb.BLOCK_MAX)
    try:
        eb.BLOCK_SPAN, eb.BLOCK_MAX = span, bmax
        new = _run(code, xy0, xy1, ptr, pts, w, h, blocks=True)
    finally:
        eb.BLOCK_SPAN, eb.BLOCK_MAX = old
    assert ref[1].sum() > 0  # the case has points in reach
    _assert_same(new, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_blocks_equal_brute_force(kernel):
    """Exposure and counts through ``exposure`` (the block scan) against every pair by shapely, single-piece
    segments only (a multi-piece segment counts a point once, at its nearest piece)."""
    xy0, xy1, ptr, pts, w, h = _case(3, n_chains=4, chain_len=15, n_pts=800)
    single = np.flatnonzero(np.diff(ptr) == 1)
    a, b = xy0[ptr[single]], xy1[ptr[single]]
    e, n = exposure(a, b, pts, w, h, kernel)
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    d = shapely.distance(lines[:, None], shapely.points(pts)[None, :])
    k = kernel_values(d, np.broadcast_to(h, d.shape), kernel)
    np.testing.assert_allclose(e, (k * w).sum(axis=1), rtol=1e-9, atol=1e-12)
    reach = get_kernel(kernel).support * h
    inside = d <= reach if kernel == "uniform" else d < reach
    np.testing.assert_array_equal(n, inside.sum(axis=1))


def test_segments_past_the_grid_edge_and_empty_rows():
    """Points in two far clusters (empty rows between them), segments running beyond both: the grid spans the
    points only, so block boxes reach past its edges on every side."""
    rng = np.random.default_rng(5)
    pts = np.concatenate([rng.normal((0, 0), 500, (300, 2)), rng.normal((40_000, 40_000), 500, (300, 2))])
    t = np.linspace(-20_000, 60_000, 81)
    line = np.stack([t, t + rng.normal(0, 50, t.size)], axis=1)
    xy0, xy1 = line[:-1], line[1:]
    ptr = np.arange(len(xy0) + 1, dtype=np.int64)
    w = np.ones(len(pts))
    h = np.full(len(pts), 3_000.0)
    for kernel in KERNELS:
        ref = _run(CODES[kernel], xy0, xy1, ptr, pts, w, h, blocks=False)
        new = _run(CODES[kernel], xy0, xy1, ptr, pts, w, h, blocks=True)
        assert ref[1].sum() > 0 and (ref[1] == 0).sum() > 10
        _assert_same(new, ref)


def test_blocks_partition_by_hand():
    """Three 1-km pieces east, a jump of 100 km, two pieces, a 2-piece segment, one piece: with span 3.5 km the
    first three make one block, the jump starts a new one, the multi-piece segment is a block of its own."""
    pts = [(0, 0), (1000, 0), (2000, 0), (3000, 0), (1e5, 0), (1.01e5, 0), (1.02e5, 0), (1.03e5, 0), (1.04e5, 0)]
    xy = np.array(pts, float)
    # segments: [0-1], [1-2], [2-3], [jump: 1e5 - 1.01e5], [1.01e5 - 1.02e5], [two pieces], [1.04e5 - 1.05e5]
    xy0 = np.array([xy[0], xy[1], xy[2], xy[4], xy[5], xy[6], xy[7], xy[8]])
    xy1 = np.array([xy[1], xy[2], xy[3], xy[5], xy[6], xy[7], xy[8], xy[8] + (1000, 0)])
    ptr = np.array([0, 1, 2, 3, 4, 5, 7, 8], np.int64)
    np.testing.assert_array_equal(eb._blocks(xy0, xy1, ptr, 3500.0, 64), [0, 3, 5, 6, 7])
    np.testing.assert_array_equal(eb._blocks(xy0, xy1, ptr, 3500.0, 2), [0, 2, 3, 5, 6, 7])
    np.testing.assert_array_equal(eb._blocks(xy0, xy1, ptr, 2500.0, 64), [0, 2, 3, 5, 6, 7])
    np.testing.assert_array_equal(eb._blocks(xy0, xy1, ptr, 500.0, 64), [0, 1, 2, 3, 4, 5, 6, 7])


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_max_terms_is_the_float_max(values):
    """The integer max of the bits is ``max(0, values)`` exactly, negative values and -0.0 included."""
    cb = np.array([*values, -0.0])
    expected = max(0.0, float(cb.max()))
    buf = cb.copy()
    got = eb._max_terms(buf.size, buf, buf.view(np.int64))
    assert got == expected and not np.signbit(got)


def test_gather_box_holds_every_point_in_reach():
    """Every point within R of any piece of a block is among the gathered ones (the box is a superset)."""
    xy0, xy1, _, pts, w, h = _case(11, n_chains=3, chain_len=10)
    got = eb._grid(0, xy0, xy1, pts, w, h)
    (sel, sx, sy, sw, sih), grid = got
    R = grid[-1]
    buf = np.empty((5, len(sel)))
    for p0, p1 in [(0, 4), (5, 9), (10, 11)]:
        m = eb._gather_box(xy0, xy1, p0, p1, *grid, sx, sy, sw, sih, buf)
        lines = shapely.linestrings(np.stack([xy0[p0:p1], xy1[p0:p1]], axis=1))
        d = shapely.distance(lines[:, None], shapely.points(np.stack([sx, sy], axis=1))[None, :]).min(axis=0)
        near = set(zip(sx[d < R].tolist(), sy[d < R].tolist(), strict=True))
        gathered = set(zip(buf[0, :m].tolist(), buf[1, :m].tolist(), strict=True))
        assert near <= gathered and m <= len(sel)
