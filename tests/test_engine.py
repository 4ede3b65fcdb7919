"""The exposure engine against a brute-force reference, by hand, and as properties."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString

from routerisk.engine import exposure, kernel_matrix, kernel_values, segment_pieces
from routerisk.model import KERNEL_SUPPORT, KERNELS

BACKENDS = ("numba", "numpy")


def brute_force(segments, pts, weights, bandwidths, kernel):
    """Every point x every segment with shapely distances: the reference the engine must equal."""
    d = shapely.distance(np.asarray(segments, dtype=object)[:, None], shapely.points(pts)[None, :])
    h = np.broadcast_to(bandwidths, (len(pts),))[None, :]
    if kernel == "quartic":
        k = np.where(d < h, (1 - (d / h) ** 2) ** 2, 0.0)
        inside = d < h
    elif kernel == "gaussian":
        k = np.where(d < 3 * h, np.exp(-(d**2) / (2 * h**2)), 0.0)
        inside = d < 3 * h
    elif kernel == "epanechnikov":
        k = np.where(d < h, 1 - (d / h) ** 2, 0.0)
        inside = d < h
    elif kernel == "triweight":
        k = np.where(d < h, (1 - (d / h) ** 2) ** 3, 0.0)
        inside = d < h
    elif kernel == "uniform":
        k = np.where(d <= h, 1.0, 0.0)
        inside = d <= h
    else:
        raise AssertionError(f"no brute force for {kernel!r}")
    return (k * np.asarray(weights)[None, :]).sum(axis=1), inside.sum(axis=1)


def random_case(seed, n_seg=300, n_pts=3000):
    rng = np.random.default_rng(seed)
    segments = []
    for _ in range(n_seg):
        k = int(rng.integers(2, 7))  # 1 to 5 pieces, bent
        start = rng.uniform(0, 200_000, 2)
        segments.append(LineString(start + np.cumsum(rng.normal(0, 2_000, (k, 2)), axis=0)))
    segments[7] = MultiLineString([[(1e5, 1e5), (1.02e5, 1e5)], [(1.05e5, 1e5), (1.05e5, 1.03e5)]])
    segments[8] = LineString([(5e4, 5e4), (5e4, 5e4)])  # zero length
    pts = rng.uniform(-20_000, 220_000, (n_pts, 2))
    # time decay and severity folded into the weights, as score_segments does
    age = rng.uniform(0, 1500, n_pts)
    weights = rng.choice([0.3, 0.5, 1.0], n_pts) * (1 + np.log(rng.integers(1, 5, n_pts))) * 2.0 ** (-age / 365)
    bandwidths = np.sqrt(10_000.0**2 + rng.choice([0.0, 5_000.0, 15_000.0], n_pts) ** 2)
    return segments, pts, weights, bandwidths


@pytest.fixture(scope="module")
def case():
    return random_case(2021)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_engine_equals_brute_force(case, kernel, backend):
    segments, pts, weights, bandwidths = case
    ref_e, ref_n = brute_force(segments, pts, weights, bandwidths, kernel)
    xy0, xy1, ps = segment_pieces(segments)
    e, n = exposure(xy0, xy1, pts, weights, bandwidths, kernel, piece_segment=ps, n_segments=len(segments),
                    backend=backend)
    assert ref_n.sum() > 1000  # the case exercises many pairs
    np.testing.assert_allclose(e, ref_e, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(n, ref_n)
    K = kernel_matrix(xy0, xy1, pts, bandwidths, kernel, piece_segment=ps, n_segments=len(segments), backend=backend)
    np.testing.assert_allclose(K @ weights, ref_e, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(np.diff(K.indptr), ref_n)


def brute_force_moments(segments, pts, weights, bandwidths, kernel):
    """Sum of squared contributions and the largest contribution per segment, from the kernel matrix of shapely."""
    d = shapely.distance(np.asarray(segments, dtype=object)[:, None], shapely.points(pts)[None, :])
    c = kernel_values(d, np.broadcast_to(bandwidths, (len(pts),))[None, :], kernel) * np.asarray(weights)[None, :]
    return (c * c).sum(axis=1), c.max(axis=1, initial=0.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_engine_moments_equal_brute_force(case, kernel, backend):
    segments, pts, weights, bandwidths = case
    segments = [*segments, LineString([(1e7, 1e7), (1.001e7, 1e7)])]  # no point in reach
    ref_e, ref_n = brute_force(segments, pts, weights, bandwidths, kernel)
    ref_v, ref_m = brute_force_moments(segments, pts, weights, bandwidths, kernel)
    xy0, xy1, ps = segment_pieces(segments)
    e, n, v, m = exposure(xy0, xy1, pts, weights, bandwidths, kernel, piece_segment=ps, n_segments=len(segments),
                          backend=backend, moments=True)
    assert (ref_v > 0).sum() > 100 and (ref_m == 0).any()  # segments with and without points in reach
    np.testing.assert_allclose(e, ref_e, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(n, ref_n)
    np.testing.assert_allclose(v, ref_v, rtol=1e-9, atol=0)
    np.testing.assert_allclose(m, ref_m, rtol=1e-12, atol=0)
    chunked = exposure(xy0, xy1, pts, weights, bandwidths, kernel, piece_segment=ps, n_segments=len(segments),
                       backend=backend, moments=True, chunk_size=700)
    for a, b in zip(chunked, (e, n, v, m), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_engine_chunks_give_the_same_numbers(case):
    segments, pts, weights, bandwidths = case
    xy0, xy1, ps = segment_pieces(segments)
    whole = exposure(xy0, xy1, pts, weights, bandwidths, piece_segment=ps, n_segments=len(segments))
    chunked = exposure(xy0, xy1, pts, weights, bandwidths, piece_segment=ps, n_segments=len(segments),
                       chunk_size=700)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_array_equal(chunked[1], whole[1])
    K = kernel_matrix(xy0, xy1, pts, bandwidths, piece_segment=ps, n_segments=len(segments), chunk_size=700)
    np.testing.assert_allclose(K @ weights, whole[0], rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_computed_three_incidents(backend):
    # segment (0,0)-(10000,0); h = 5000
    # A at (2000, 3000): perpendicular distance 3000, weight 2
    # B at (-4000, 0): beyond the start, distance 4000, weight 1
    # C at (14000, 3001): distance to the end (10000, 0) is sqrt(4000^2 + 3001^2) = 5000.6 > h, weight 5
    pts = [[2000, 3000], [-4000, 0], [14000, 3001]]
    w = [2.0, 1.0, 5.0]
    seg0, seg1 = [[0, 0]], [[10000, 0]]
    e, n = exposure(seg0, seg1, pts, w, 5000.0, "quartic", backend=backend)
    assert e[0] == pytest.approx(2 * (1 - 0.36) ** 2 + (1 - 0.64) ** 2, rel=1e-12)  # 0.8192 + 0.1296
    assert n.tolist() == [2]
    e, n = exposure(seg0, seg1, pts, w, 5000.0, "epanechnikov", backend=backend)
    assert e[0] == pytest.approx(2 * 0.64 + 0.36, rel=1e-12)
    e, n = exposure(seg0, seg1, pts, w, 5000.0, "uniform", backend=backend)
    assert (e[0], n[0]) == (3.0, 2)
    e, n = exposure(seg0, seg1, pts, w, 5001.0, "uniform", backend=backend)  # C now inside
    assert (e[0], n[0]) == (8.0, 3)
    # gaussian truncated at 3h reaches C too
    e, n = exposure(seg0, seg1, pts, w, 5000.0, "gaussian", backend=backend)
    d2_c = 4000.0**2 + 3001.0**2
    expected = 2 * np.exp(-0.18) + np.exp(-0.32) + 5 * np.exp(-d2_c / (2 * 5000.0**2))
    assert e[0] == pytest.approx(expected, rel=1e-12)
    assert n[0] == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_bent_segment_counts_each_incident_once(backend):
    # an L-shaped segment: the incident at (1000, 1000) is 1000 m from both legs; min distance, not a sum
    xy0, xy1, ps = segment_pieces([LineString([(0, 0), (2000, 0), (2000, 2000)])])
    e, n = exposure(xy0, xy1, [[1000, 1000]], [1.0], 2000.0, "epanechnikov", piece_segment=ps, backend=backend)
    assert e[0] == pytest.approx(0.75)
    assert n[0] == 1


def test_kernel_values_have_k0_one_and_support():
    for kernel in KERNELS:
        assert kernel_values(0.0, 100.0, kernel) == 1.0
        beyond = KERNEL_SUPPORT[kernel] * 100.0 * (1 + 1e-9)
        assert kernel_values(beyond, 100.0, kernel) == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_inputs(backend):
    e, n = exposure([[0, 0]], [[1, 0]], np.empty((0, 2)), [], [], "quartic", backend=backend)
    assert e.tolist() == [0.0] and n.tolist() == [0]
    e, n = exposure(np.empty((0, 2)), np.empty((0, 2)), [[0, 0]], [1.0], [5.0], piece_segment=[], n_segments=2,
                    backend=backend)
    assert e.tolist() == [0.0, 0.0]
    K = kernel_matrix([[0, 0]], [[1, 0]], np.empty((0, 2)), [], backend=backend)
    assert K.shape == (1, 0)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="`kernel` was 'triangle'"):
        exposure([[0, 0]], [[1, 0]], [[0, 0]], [1.0], [1.0], "triangle")
    with pytest.raises(ValueError, match="`backend`"):
        exposure([[0, 0]], [[1, 0]], [[0, 0]], [1.0], [1.0], backend="gpu")
    with pytest.raises(ValueError, match="bandwidths"):
        exposure([[0, 0]], [[1, 0]], [[0, 0]], [1.0], [np.nan])


def test_unsorted_piece_segments_are_grouped():
    xy0 = [[0, 0], [100, 0], [50, 0]]
    xy1 = [[10, 0], [110, 0], [60, 0]]
    e, n = exposure(xy0, xy1, [[5, 0], [105, 0], [55, 0]], [1.0, 2.0, 4.0], 2.0, "uniform", piece_segment=[0, 1, 0])
    assert n.tolist() == [2, 1] and e.tolist() == [5.0, 2.0]


# -- properties ---------------------------------------------------------------------------------------------------
coord = st.floats(-50_000, 50_000, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord)
points = st.lists(point, min_size=0, max_size=30)
segs = st.lists(st.tuples(point, point), min_size=1, max_size=8)
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(seg_list, pts, w, h, kernel="quartic", backend="numba"):
    xy0 = np.array([s[0] for s in seg_list], dtype=float).reshape(-1, 2)
    xy1 = np.array([s[1] for s in seg_list], dtype=float).reshape(-1, 2)
    return exposure(xy0, xy1, np.array(pts, dtype=float).reshape(-1, 2), w, h, kernel, backend=backend)


@PROPS
@given(segs, points, st.sampled_from(KERNELS), st.floats(1_000, 20_000))
def test_far_incident_changes_nothing(seg_list, pts, kernel, h):
    w = np.ones(len(pts))
    before = _run(seg_list, pts, w, h, kernel)
    far = (60_000 + KERNEL_SUPPORT[kernel] * h * 1.01, 0.0)  # beyond every segment's reach
    after = _run(seg_list, [*pts, far], np.ones(len(pts) + 1), h, kernel)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


@PROPS
@given(segs, points, st.floats(-3, 3), st.sampled_from(BACKENDS), st.integers(0, 2**32 - 1))
def test_exposure_is_linear_in_weights(seg_list, pts, c, backend, seed):
    rng = np.random.default_rng(seed)
    w1, w2 = rng.uniform(0, 2, len(pts)), rng.uniform(0, 2, len(pts))
    h = rng.uniform(5_000, 30_000, len(pts))
    e1 = _run(seg_list, pts, w1, h, backend=backend)[0]
    e2 = _run(seg_list, pts, w2, h, backend=backend)[0]
    e12 = _run(seg_list, pts, w1 + c * w2, h, backend=backend)[0]
    np.testing.assert_allclose(e12, e1 + c * e2, rtol=1e-9, atol=1e-9)


@PROPS
@given(segs, points, point, st.sampled_from(("quartic", "epanechnikov")))
def test_translation_leaves_exposure_unchanged(seg_list, pts, shift, kernel):
    # kernels continuous at their cutoff, so rounding at the boundary cannot change a sum
    w = np.linspace(0.5, 1.5, len(pts))
    e0 = _run(seg_list, pts, w, 15_000.0, kernel)[0]
    dx, dy = 2_500_000.0 + shift[0], 1_000_000.0 + shift[1]
    moved_segs = [((a[0] + dx, a[1] + dy), (b[0] + dx, b[1] + dy)) for a, b in seg_list]
    moved_pts = [(p[0] + dx, p[1] + dy) for p in pts]
    e1 = _run(moved_segs, moved_pts, w, 15_000.0, kernel)[0]
    np.testing.assert_allclose(e1, e0, rtol=1e-7, atol=1e-7)


@PROPS
@given(segs, st.sampled_from(KERNELS), st.sampled_from(BACKENDS))
def test_no_incidents_gives_zeros(seg_list, kernel, backend):
    e, n = _run(seg_list, [], np.empty(0), np.empty(0), kernel, backend)
    assert not e.any() and not n.any()
