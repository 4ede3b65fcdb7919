"""Risk surface: agreement with a direct kernel sum, and the GeoTIFF's metadata."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import points

from routerisk import surface
from routerisk._errors import ConfigError, InputError
from routerisk.surface import KERNELS, kernel_2d, risk_surface, write_geotiff

CELL = 500.0
EXTENT = (0.0, 0.0, 20_000.0, 15_000.0)


def _incidents(n: int = 60, seed: int = 3, centred: bool = True) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    col = rng.integers(4, 36, n)
    row = rng.integers(4, 26, n)
    x = col * CELL + (CELL / 2 if centred else rng.uniform(0, CELL, n))
    y = row * CELL + (CELL / 2 if centred else rng.uniform(0, CELL, n))
    return gpd.GeoDataFrame(
        {"severity": rng.uniform(0.2, 2.0, n), "location_precision": rng.choice(["exact", "locality"], n)},
        geometry=points(np.c_[x, y]),
        crs="EPSG:6372",
    )


def _direct(inc, w, h, kernel, transform, shape):
    rows, cols = np.indices(shape)
    cx, cy = transform * (cols + 0.5, rows + 0.5)
    d = np.hypot(cx[..., None] - inc.geometry.x.to_numpy(), cy[..., None] - inc.geometry.y.to_numpy())
    return (w * kernel_2d(d, h, kernel)).sum(axis=-1) * 1e6


@pytest.mark.parametrize("kernel", KERNELS)
def test_matches_direct_sum_at_cell_centres(kernel, monkeypatch):
    monkeypatch.setattr(surface, "_model_params", lambda model: (2000.0, kernel))
    inc = _incidents()
    w = inc["severity"].to_numpy()
    h = np.where(inc["location_precision"] == "exact", 2000.0, 3100.0)
    arr, transform, crs = risk_surface(inc, cell_m=CELL, extent=EXTENT, weights=w, bandwidths_m=h)
    assert arr.shape == (30, 40)
    assert crs.to_epsg() == 6372
    ref = _direct(inc, w, h, kernel, transform, arr.shape)
    np.testing.assert_allclose(arr, ref, rtol=1e-6, atol=1e-9 * ref.max())


def test_binning_error_is_bounded_off_centre():
    inc = _incidents(centred=False)
    w = inc["severity"].to_numpy()
    h = np.full(len(inc), 5000.0)
    arr, transform, _ = risk_surface(inc, cell_m=CELL, extent=EXTENT, weights=w, bandwidths_m=h)
    ref = _direct(inc, w, h, "quartic", transform, arr.shape)
    # documented bound: about cell / bandwidth of the peak
    assert np.abs(arr - ref).max() <= CELL / 5000.0 * ref.max()


def test_model_bandwidths_and_default_extent():
    inc = _incidents(5)
    inc.loc[0, "location_precision"] = "state"  # not placed
    arr, _, _ = risk_surface(inc, cell_m=1000, weights=inc["severity"])
    assert np.isfinite(arr).all() and arr.max() > 0
    # the kernel integrates to the total weight of placed incidents (sampling error aside)
    total = arr.sum() * 1.0  # 1 km² cells
    assert total == pytest.approx(inc["severity"].iloc[1:].sum(), rel=0.02)


def test_min_count_suppresses_sparse_cells():
    inc = _incidents(40)
    arr, _, _ = risk_surface(inc, cell_m=CELL, extent=EXTENT, min_count=5, bandwidths_m=np.full(40, 2000.0))
    full, _, _ = risk_surface(inc, cell_m=CELL, extent=EXTENT, bandwidths_m=np.full(40, 2000.0))
    assert np.isnan(arr).any() and np.isfinite(arr).any()
    np.testing.assert_array_equal(arr[np.isfinite(arr)], full[np.isfinite(arr)])


def test_geographic_input_uses_analysis_crs():
    inc = gpd.GeoDataFrame({"severity": [1.0, 2.0]}, geometry=points([[-99.1, 19.4], [-99.0, 19.5]]), crs=4326)
    _, _, crs = risk_surface(inc, cell_m=2000)
    assert crs.to_epsg() == 6372


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cell_m": 0}, ConfigError, "cell_m"),
        ({"extent": (0, 0, -1, 5)}, ConfigError, "extent"),
        ({"cell_m": 1, "extent": (0, 0, 1e6, 1e6)}, ConfigError, "larger cell"),
        ({"weights": [1.0, 2.0]}, InputError, "one value per incident"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        risk_surface(_incidents(3), **kwargs)


def test_bad_kernel():
    with pytest.raises(ConfigError, match="kernel"):
        kernel_2d(1.0, 1.0, "box")


def test_geotiff_metadata_and_values(tmp_path):
    inc = _incidents(200)
    arr, transform, crs = risk_surface(
        inc, cell_m=25.0, extent=(0, 0, 20_000, 15_000), bandwidths_m=np.full(200, 2000.0), min_count=3
    )
    path = write_geotiff(tmp_path / "s.tif", arr, transform, crs, tags={"privacy": "public"})
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 6372
        assert ds.transform == transform
        assert ds.nodata == -9999.0
        assert ds.overviews(1) == [2, 4, 8, 16]
        assert ds.block_shapes[0] == (512, 512)
        assert ds.compression.name.lower() == "deflate"
        assert ds.descriptions[0].startswith("risk surface")
        assert ds.tags()["privacy"] == "public"
        data = ds.read(1, masked=True)
    np.testing.assert_array_equal(data.mask, np.isnan(arr))
    np.testing.assert_allclose(data.filled(np.nan), arr, rtol=1e-6, atol=1e-6 * np.nanmax(arr))


def test_geotiff_rejects_bad_array(tmp_path):
    with pytest.raises(InputError, match="2-D"):
        write_geotiff(tmp_path / "x.tif", np.ones(3), None, "EPSG:6372")
    assert not list(tmp_path.iterdir())


def test_geotiff_values_match_direct_kernel_sum(tmp_path):
    inc = _incidents()
    w = inc["severity"].to_numpy()
    h = np.full(len(inc), 2500.0)
    arr, transform, crs = risk_surface(inc, cell_m=CELL, extent=EXTENT, weights=w, bandwidths_m=h)
    with rasterio.open(write_geotiff(tmp_path / "d.tif", arr, transform, crs)) as ds:
        stored = ds.read(1).astype("float64")
        ref = _direct(inc, w, h, "quartic", ds.transform, ds.shape)
    np.testing.assert_allclose(stored, ref, rtol=1e-6, atol=1e-9 * ref.max())


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_coarse_location_keeps_a_records_mass(kernel):
    """A municipality-level record integrates to the same weighted count as an exact one (within 2 %)."""
    from routerisk.model import RiskModel

    inc = gpd.GeoDataFrame(
        {"category": ["homicide"] * 2, "victims": [1, 1], "location_precision": ["exact", "municipality"]},
        geometry=points([[2_500_200.0, 1_000_300.0]] * 2), crs="EPSG:6372",
    )
    model = RiskModel(kernel=kernel, half_life_days=0)
    extent = (2_300_000, 800_000, 2_700_000, 1_200_000)
    masses = []
    for i in range(2):
        a, _, _ = risk_surface(inc.iloc[[i]], model=model, cell_m=1000.0, extent=extent, crs="EPSG:6372")
        masses.append(a.sum())  # per km², 1 km² cells: the sum is the record's total weight
    assert masses[0] == pytest.approx(1.0, rel=0.02)
    assert masses[1] == pytest.approx(masses[0], rel=0.02)


@pytest.mark.parametrize("occupied", [1, 7, 40, 400])
def test_direct_sum_equals_the_fft_convolution(occupied):
    """Few occupied cells are summed directly (no FFT buffers): the same grid as scipy's convolution, with the
    same cells cleared; many occupied cells go through the FFT path."""
    from scipy.signal import convolve

    rng = np.random.default_rng(occupied)
    grid = np.zeros((60, 45))
    grid.flat[rng.choice(grid.size, occupied, replace=False)] = rng.uniform(0.1, 3.0, occupied)
    stencil = surface._kernel_stencil(4_000.0, 500.0, "quartic")  # 17 x 17
    ref = convolve(grid, stencil, mode="same", method="direct")
    got = surface._convolve(grid, stencil)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13 * ref.max())
    assert ((got == 0) == (ref < ref.max() * 1e-13)).all()
    direct = occupied * stencil.size <= 2 * grid.size
    assert direct == (occupied < 40)
    if direct:
        np.testing.assert_allclose(surface._scatter(grid, np.flatnonzero(grid), stencil), ref, rtol=1e-12, atol=0)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(3, 70), st.integers(3, 70)),
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    kernel=st.sampled_from(sorted(KERNELS)),
    h_m=st.sampled_from([1_000.0, 2_500.0, 6_000.0]),
)
def test_sum_on_the_touched_cells_equals_the_grid_convolution(shape, n, seed, kernel, h_m):
    """The surface adds each bandwidth group's kernels on the cells they touch only (no grid-sized temporary);
    the result is bit-identical to adding ``_convolve`` of the binned grid (the reference: the grid path,
    itself checked against scipy.signal.convolve above), zero weights and repeated cells included."""
    rng = np.random.default_rng(seed)
    size = shape[0] * shape[1]
    flat = rng.integers(0, size, n)
    w = rng.uniform(0.0, 3.0, n) * (rng.random(n) < 0.9)
    stencil = surface._kernel_stencil(h_m, 1_000.0, kernel)
    base = rng.uniform(0.0, 1.0, shape)
    got = base.copy()
    surface._add_convolved(got, flat, w, stencil)
    binned = np.bincount(flat, weights=w, minlength=size).reshape(shape)
    assert np.array_equal(got, base + surface._convolve(binned, stencil))
