"""The kernel registry walk: a kernel added in one place is picked up by the engine, the surface and the scoring.

Two kernels are walked: ``triweight`` (a registry entry in ``routerisk/kernels.py`` plus its compiled formula in
``_engine_numba``) through both engine backends, and a kernel registered by this test alone (``test_triangle``, no
compiled formula) through the numpy engine, the surface and the scoring, while the compiled engine refuses it.
Every result is compared with a brute force (shapely distances and the kernel written out here).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import LineString, Point

from routerisk import kernels
from routerisk._engine_blocks import grid_pass
from routerisk._engine_numba import _kval
from routerisk.bandwidth import GAUSSIAN_EQUIVALENT
from routerisk.engine import exposure, kernel_values, segment_pieces
from routerisk.intervals import kernel_integrals
from routerisk.kernels import Kernel, get_kernel, kernel_by_code, register_kernel
from routerisk.model import KERNEL_SUPPORT, KERNELS, RiskModel
from routerisk.scoring import score_segments
from routerisk.surface import kernel_2d, risk_surface


def _triangle(u):  # K(d; h) = 1 - d/h for d < h
    return 1.0 - np.sqrt(u)


TRIANGLE = Kernel(
    "test_triangle", 99, 1.0, False, _triangle,
    plane=lambda h: math.pi * h * h / 3.0, line=lambda h: 1.0 * h, gaussian_equivalent=math.sqrt(20.0),
)  # fmt: skip


@pytest.fixture
def triangle():
    register_kernel(TRIANGLE)
    try:
        yield TRIANGLE
    finally:
        kernels.KERNEL_REGISTRY.pop(TRIANGLE.name, None)


def _brute(segments, pts, w, h, shape):
    d = shapely.distance(np.asarray(segments, dtype=object)[:, None], shapely.points(pts)[None, :])
    k = np.where(d < h, shape(d / h), 0.0)
    return (k * w[None, :]).sum(axis=1), (d < h).sum(axis=1)


def _case(seed=3, n_seg=60, n_pts=800):
    rng = np.random.default_rng(seed)
    segs = [LineString(rng.uniform(0, 50_000, 2) + np.cumsum(rng.normal(0, 2_000, (int(rng.integers(2, 5)), 2)), 0))
            for _ in range(n_seg)]  # fmt: skip
    pts = rng.uniform(-5_000, 55_000, (n_pts, 2))
    return segs, pts, rng.uniform(0.2, 2.0, n_pts), rng.choice([4_000.0, 7_000.0], n_pts)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_triweight_in_both_engines_equals_brute_force(backend):
    segs, pts, w, h = _case()
    ref_e, ref_n = _brute(segs, pts, w, h[None, :], lambda r: (1 - r * r) ** 3)
    xy0, xy1, ps = segment_pieces(segs)
    e, n = exposure(xy0, xy1, pts, w, h, "triweight", piece_segment=ps, n_segments=len(segs), backend=backend)
    assert ref_n.sum() > 300
    np.testing.assert_allclose(e, ref_e, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(n, ref_n)


def test_triweight_is_read_everywhere_from_the_one_entry():
    k = get_kernel("triweight")
    assert "triweight" in KERNELS and KERNEL_SUPPORT["triweight"] == 1.0
    assert GAUSSIAN_EQUIVALENT["triweight"] == pytest.approx(math.sqrt(10.0))
    # the plane and line integrals by numerical integration of (1 - r^2)^3
    r = np.linspace(0, 1, 200_001)
    f = (1 - r * r) ** 3
    assert k.plane(1.0) == pytest.approx(np.trapezoid(2 * np.pi * r * f, r), rel=1e-8)
    assert k.line(1.0) == pytest.approx(2 * np.trapezoid(f, r), rel=1e-8)
    # E[r^2] of the 2-D kernel is 1/5, so the per-axis variance is 1/10 (sqrt(10) sigma = h)
    assert np.trapezoid(r * r * 2 * np.pi * r * f, r) / k.plane(1.0) == pytest.approx(0.2, rel=1e-6)
    assert kernel_2d(0.0, 2.0, "triweight") == pytest.approx(1.0 / (math.pi * 4.0 / 4.0))


def test_a_kernel_registered_at_run_time_is_picked_up_by_numpy_engine_surface_and_scoring(triangle):
    segs, pts, w, h = _case(seed=5)
    # engine (numpy backend) against the brute force
    ref_e, ref_n = _brute(segs, pts, w, h[None, :], lambda r: 1 - r)
    xy0, xy1, ps = segment_pieces(segs)
    e, n = exposure(xy0, xy1, pts, w, h, "test_triangle", piece_segment=ps, n_segments=len(segs), backend="numpy")
    np.testing.assert_allclose(e, ref_e, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(n, ref_n)
    assert kernel_values([0.0, 250.0, 1000.0], 1000.0, "test_triangle").tolist() == [1.0, 0.75, 0.0]
    # the model accepts it and reads its support; the intervals read its integrals
    model = RiskModel(kernel="test_triangle", bandwidth_m=5_000.0, crs="EPSG:6372", half_life_days=0)
    assert model.cutoff_m == 5_000.0
    assert kernel_integrals("test_triangle", 2.0)[:2] == (pytest.approx(4 * math.pi / 3), pytest.approx(2.0))
    # surface: the 2-D density integrates to one; a single incident's raster equals the kernel at the cell centres
    d = np.linspace(0, 1, 100_001)
    assert np.trapezoid(2 * np.pi * d * kernel_2d(d, 1.0, "test_triangle"), d) == pytest.approx(1.0, rel=1e-6)
    inc = gpd.GeoDataFrame({"category": ["homicide"], "location_precision": ["exact"]},
                           geometry=[Point(10_500.0, 10_500.0)], crs="EPSG:6372")  # fmt: skip
    arr = risk_surface(inc, model=model, cell_m=1000.0, extent=(0, 0, 21_000, 21_000))[0]
    cy, cx = np.unravel_index(np.nanargmax(arr), arr.shape)
    ratio = arr[cy, cx + 2] / arr[cy, cx]  # 2 km from the incident with h = 5 km: K = 1 - 0.4
    assert ratio == pytest.approx(0.6, rel=1e-9)
    # scoring (numpy backend): an exactly placed record on a straight segment
    seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10_000, 0)]), LineString([(0, 3_000), (10_000, 3_000)])],
                           crs="EPSG:6372")  # fmt: skip
    inc = gpd.GeoDataFrame({"category": ["homicide"], "victims": [1], "location_precision": ["exact"]},
                           geometry=[Point(5_000.0, 1_000.0)], crs="EPSG:6372")  # fmt: skip
    out = score_segments(seg, inc, model=model, backend="numpy")
    severity = score_segments(seg, inc, model=RiskModel(kernel="uniform", bandwidth_m=5_000.0, crs="EPSG:6372",
                                                        half_life_days=0), backend="numpy")["incident_exposure"]
    np.testing.assert_allclose(out["incident_exposure"], severity * np.array([1 - 1 / 5, 1 - 2 / 5]), rtol=1e-12)


def test_unknown_codes_raise_and_never_fall_through(triangle):
    segs, pts, w, h = _case(seed=7, n_seg=5, n_pts=50)
    xy0, xy1, ps = segment_pieces(segs)
    with pytest.raises(NotImplementedError, match="no compiled formula"):
        exposure(xy0, xy1, pts, w, h, "test_triangle", piece_segment=ps, backend="numba")
    with pytest.raises(ValueError, match="unknown kernel code 42"):
        kernel_by_code(42)
    piece_ptr = np.arange(len(xy0) + 1, dtype=np.int64)
    with pytest.raises(ValueError, match="unknown kernel code 42"):
        grid_pass(0, 42, xy0, xy1, piece_ptr, pts, w, h, np.zeros(len(xy0)), np.zeros(len(xy0), np.int64), 0, None)
    assert math.isnan(_kval(42, 0.25))  # inside the compiled code, never another kernel's value
    assert _kval(4, 0.25) == pytest.approx(0.75**3) and _kval(3, 0.25) == 1.0
    with pytest.raises(ValueError, match="must be one of"):
        get_kernel("box")
    with pytest.raises(ValueError, match="already"):
        register_kernel(TRIANGLE)
    with pytest.raises(ValueError, match="code 0 is already used"):
        register_kernel(Kernel("other", 0, 1.0, False, _triangle, TRIANGLE.plane, TRIANGLE.line, 1.0))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_triweight_scoring_and_surface_equal_the_brute_force(backend):
    """score_segments (exactly placed, undated records: weight = severity) and the surface, against the formula."""
    rng = np.random.default_rng(11)
    seg = gpd.GeoDataFrame(geometry=[LineString([(i * 2_000.0, 0.0), (i * 2_000.0 + 2_000.0, 0.0)]) for i in range(10)],
                           crs="EPSG:6372")  # fmt: skip
    xy = np.column_stack([rng.uniform(-2_000, 22_000, 40), rng.uniform(-6_000, 6_000, 40)])
    inc = gpd.GeoDataFrame({"category": ["homicide"] * 40, "victims": [1] * 40, "location_precision": ["exact"] * 40},
                           geometry=shapely.points(xy), crs="EPSG:6372")  # fmt: skip
    model = RiskModel(kernel="triweight", bandwidth_m=5_000.0, crs="EPSG:6372", half_life_days=0)
    out = score_segments(seg, inc, model=model, backend=backend)
    ref_e, ref_n = _brute(seg.geometry.to_numpy(), xy, np.ones(40), 5_000.0, lambda r: (1 - r * r) ** 3)
    np.testing.assert_allclose(out["incident_exposure"], ref_e, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(out["n_incidents"], ref_n)
    arr = risk_surface(inc.iloc[:1], model=model, cell_m=500.0,
                       extent=(xy[0, 0] - 10_250, xy[0, 1] - 10_250, xy[0, 0] + 10_250, xy[0, 1] + 10_250))[0]
    d = np.hypot(*np.meshgrid((np.arange(41) - 20) * 500.0, (np.arange(41) - 20) * 500.0))
    expected = np.where(d < 5_000, (1 - (d / 5_000) ** 2) ** 3, 0.0) / (math.pi * 5_000.0**2 / 4) * 1e6
    np.testing.assert_allclose(arr, expected, rtol=1e-9, atol=1e-15)
