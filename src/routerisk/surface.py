"""Kernel density risk surface: a severity- and time-weighted heat raster, and its GeoTIFF.

The surface is ``S(c) = sum_i w_i K(|c - x_i|; h_i)`` at every cell centre ``c`` of a regular grid in the analysis
CRS (metres), with the same weights ``w_i`` (severity x time decay) and bandwidths ``h_i`` the scoring engine uses.
``K`` is normalised to integrate to one over the plane, so the surface reads as *weighted incidents per km²*.
Location precision therefore keeps each record's mass here as in the scoring: a record whose kernel is widened to
``h_i`` still integrates to ``w_i`` (the scoring's unnormalised kernel gets the factor ``(bandwidth_m / h_i)**2``
of :func:`routerisk.scoring.precision_factor` for the same reason; the two agree up to the constant
``integral of K(.; bandwidth_m)``).

It is computed by binning, then convolution, never by evaluating every incident at every cell:

1. incidents are grouped by bandwidth (one group per location precision in practice);
2. each group is binned into the grid by its weights (``np.bincount`` on the flat cell index);
3. the binned grid is convolved (``scipy.signal.convolve``: FFT for large grids, direct for small ones) with the
   kernel sampled at the cell-centre offsets.

Binning moves each incident to the centre of its cell, so the result equals the direct sum exactly (to
floating-point rounding) when incidents lie at cell centres, and otherwise differs by at most the kernel's change
over half a cell diagonal (about ``cell_m / bandwidth_m`` of the peak; 5 % at 1 km cells and a 10 km bandwidth,
far less where many incidents average out). Choose ``cell_m`` well below the bandwidth.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from ._atomic import atomic_file
from ._coords import _incident_lonlat, _is_lonlat_table, _projected_point_xy
from ._errors import ConfigError, InputError
from .crs import analysis_crs
from .kernels import Kernel, get_kernel, kernel_names
from .model import RiskModel
from .schema import WGS84
from .scoring import incident_bandwidths, incident_weights

__all__ = ["KERNELS", "kernel_2d", "risk_surface", "write_geotiff"]

#: Kernels (2-D, normalised to integrate to one: ``K / plane(h)`` from :mod:`routerisk.kernels`); the gaussian is
#: truncated at 3 bandwidths and renormalised. The built-in names; any registered kernel is accepted.
KERNELS = kernel_names()
_MAX_CELLS = 60_000_000


def kernel_2d(d_m: Any, h_m: Any, kernel: str = "quartic") -> np.ndarray:
    """Planar kernel density at distance ``d_m`` for bandwidth ``h_m``, per square metre.

    Parameters
    ----------
    d_m : array-like of float
        Distances in metres.
    h_m : float or array-like of float
        Bandwidths in metres (broadcast against ``d_m``).
    kernel : str
        A name of :data:`routerisk.kernels.KERNEL_REGISTRY`; every one integrates to one over the plane.

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> float(kernel_2d(0.0, 1.0, "uniform")) == 1 / np.pi
    True
    """
    kern = _kernel(kernel)
    d = np.asarray(d_m, dtype="float64")
    h = np.asarray(h_m, dtype="float64")
    return kern.of_u((d / h) ** 2) / kern.plane(h)


def _kernel(kernel: str) -> Kernel:
    try:
        return get_kernel(kernel)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _resolve_model(model: Any) -> Any:
    return RiskModel() if model is None else model


def _model_params(model: Any) -> tuple[float, str]:
    model = _resolve_model(model)
    return float(model.bandwidth_m), str(model.kernel)


def _weights_bandwidths(incidents: Any, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-incident weights (severity x time decay) and bandwidths (NaN = not placed), as the scoring uses."""
    model = _resolve_model(model)
    w = np.asarray(incident_weights(incidents, model), dtype="float64")
    h = np.asarray(incident_bandwidths(incidents, model), dtype="float64")
    return w, h


def _grid(extent: Sequence[float], cell_m: float) -> tuple[float, float, int, int]:
    xmin, ymin, xmax, ymax = (float(v) for v in extent)
    if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmax > xmin and ymax > ymin):
        msg = f"`extent` was {tuple(extent)!r} but must be (xmin, ymin, xmax, ymax) with xmax > xmin and ymax > ymin"
        raise ConfigError(msg)
    ncols = int(np.ceil((xmax - xmin) / cell_m - 1e-9))
    nrows = int(np.ceil((ymax - ymin) / cell_m - 1e-9))
    if ncols * nrows > _MAX_CELLS:
        msg = (
            f"`cell_m` was {cell_m!r}, which makes a {nrows} x {ncols} grid over the extent; "
            f"use a larger cell (at most {_MAX_CELLS:,} cells)"
        )
        raise ConfigError(msg)
    return xmin, ymax, nrows, ncols


def risk_surface(
    incidents: Any,
    *,
    model: Any = None,
    cell_m: float = 1000.0,
    extent: Sequence[float] | None = None,
    crs: Any = None,
    weights: Any = None,
    bandwidths_m: Any = None,
    min_count: int | None = None,
) -> tuple[np.ndarray, Any, CRS]:
    """Severity- and time-weighted kernel density of incidents on a regular grid.

    Parameters
    ----------
    incidents : GeoDataFrame or DataFrame
        Canonical incidents (Point geometries, any CRS), or a table of them with float ``lon`` / ``lat`` columns
        in EPSG:4326 instead of a geometry (``read_incidents(..., geometry=False)``).
    model : RiskModel, optional
        Supplies the bandwidth, kernel, severity weights and time decay (through
        :func:`routerisk.scoring.incident_weights` and :func:`routerisk.scoring.incident_bandwidths`);
        the defaults when ``None``.
    cell_m : float, default 1000
        Cell size in metres.
    extent : (xmin, ymin, xmax, ymax), optional
        Grid bounds in ``crs``; by default the incidents' bounds padded by the kernel's reach and snapped to
        multiples of ``cell_m``.
    crs : CRS-like, optional
        The grid's projected CRS; by default the analysis CRS of :func:`routerisk.analysis_crs`.
    weights, bandwidths_m : array-like, optional
        Per-incident weights and bandwidths (metres; NaN = not placed) overriding the model's.
    min_count : int, optional
        Public mode: cells within the kernel reach of fewer than ``min_count`` placed incidents become NaN.

    Returns
    -------
    array : numpy.ndarray of float64, shape (rows, cols)
        Weighted incidents per km², first row north; NaN where suppressed.
    transform : affine.Affine
        Pixel-to-CRS transform of the grid (cell corners).
    crs : pyproj.CRS

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> inc = gpd.GeoDataFrame({"severity": [1.0]}, geometry=[Point(500.0, 500.0)], crs="EPSG:6372")
    >>> a, t, c = risk_surface(inc, cell_m=1000, extent=(-2000, -2000, 3000, 3000), weights=[1.0],
    ...                        bandwidths_m=[2000.0])
    >>> a.shape, round(float(a.max()) * 2000**2 * np.pi / 3 / 1e6, 6)
    ((5, 5), 1.0)
    """
    from rasterio.transform import from_origin  # lazy: rasterio's import costs ~0.3 s, surfaces only

    if not (isinstance(cell_m, (int, float, np.integer, np.floating)) and np.isfinite(cell_m) and cell_m > 0):
        msg = f"`cell_m` was {cell_m!r} but must be a positive number of metres"
        raise ConfigError(msg)
    cell_m = float(cell_m)
    table = _is_lonlat_table(incidents)
    if not table and ("geometry" not in getattr(incidents, "columns", ()) or incidents.crs is None):
        msg = "`incidents` must be a GeoDataFrame of points with a CRS, or a table with `lon` / `lat` columns"
        raise InputError(msg)
    inc_crs = CRS.from_user_input(WGS84) if table else incidents.crs
    _, kernel = _model_params(model)
    _kernel(kernel)

    crs = _surface_crs(incidents, table, inc_crs, crs)
    # points: project the coordinates, not the geometries (a second set of Points would double the memory)
    xy = _projected_point_xy(incidents, inc_crs if inc_crs == crs else crs)
    pts = None if xy is not None else incidents.geometry.to_crs(crs) if inc_crs != crs else incidents.geometry

    if weights is None or bandwidths_m is None:
        w0, h0 = _weights_bandwidths(incidents, model)
        weights = w0 if weights is None else weights
        bandwidths_m = h0 if bandwidths_m is None else bandwidths_m
    w = np.asarray(weights, dtype="float64").reshape(-1)
    h = np.asarray(bandwidths_m, dtype="float64").reshape(-1)
    if len(w) != len(incidents) or len(h) != len(incidents):
        msg = f"`weights` and `bandwidths_m` must have one value per incident ({len(incidents)})"
        raise InputError(msg)
    if xy is not None:
        x, y = xy[0], xy[1]
    else:
        x = pts.x.to_numpy() if len(pts) else np.empty(0)
        y = pts.y.to_numpy() if len(pts) else np.empty(0)
    placed = np.isfinite(x) & np.isfinite(y) & np.isfinite(h) & (h > 0) & np.isfinite(w)
    x, y, w, h = x[placed], y[placed], w[placed], h[placed]

    reach_factor = _kernel(kernel).support
    if extent is None:
        if len(x) == 0:
            msg = "`incidents` holds no placed point to build a surface from; pass `extent`"
            raise InputError(msg)
        pad = reach_factor * float(h.max()) + cell_m
        extent = (
            np.floor((x.min() - pad) / cell_m) * cell_m,
            np.floor((y.min() - pad) / cell_m) * cell_m,
            np.ceil((x.max() + pad) / cell_m) * cell_m,
            np.ceil((y.max() + pad) / cell_m) * cell_m,
        )
    west, north, nrows, ncols = _grid(extent, cell_m)
    transform = from_origin(west, north, cell_m, cell_m)

    col = np.floor((x - west) / cell_m).astype("int64")
    row = np.floor((north - y) / cell_m).astype("int64")
    inside = (col >= 0) & (col < ncols) & (row >= 0) & (row < nrows)
    flat, w, h = (row * ncols + col)[inside], w[inside], h[inside]

    return _accumulate(flat, w, h, (nrows, ncols), cell_m, kernel, min_count), transform, crs


def _surface_crs(incidents: Any, table: bool, inc_crs: CRS, crs: Any) -> CRS:
    """The given CRS, else the incidents' projected CRS, else the analysis CRS of their extent."""
    if crs is None:
        if inc_crs.is_projected:
            crs = inc_crs
        elif table:
            x0, y0, _ = _incident_lonlat(incidents)
            ok = ~np.isnan(x0)
            bounds = (x0[ok].min(), y0[ok].min(), x0[ok].max(), y0[ok].max()) if ok.any() else None
            crs = analysis_crs(bounds)
        else:
            bounds = incidents.total_bounds if len(incidents) else None
            crs = analysis_crs(bounds)
    return CRS.from_user_input(crs)


def _accumulate(flat, w, h, shape: tuple[int, int], cell_m: float, kernel: str, min_count) -> np.ndarray:
    """Sum of the weighted kernels, one convolution per distinct bandwidth (to 1 mm); per km², NaN below min_count."""
    nrows, ncols = shape
    out = np.zeros((nrows, ncols))
    counts = np.zeros((nrows, ncols)) if min_count else None
    groups = np.round(h, 3)
    for hg in np.unique(groups):
        sel = groups == hg
        ker = _kernel_stencil(float(hg), cell_m, kernel)
        _add_convolved(out, flat[sel], w[sel], ker)
        if counts is not None:
            _add_convolved(counts, flat[sel], np.ones(int(sel.sum())), (ker > 0).astype("float64"))
    out *= 1e6  # per m² -> per km²
    if counts is not None:
        out[np.rint(counts) < min_count] = np.nan
    return out


def _add_convolved(out: np.ndarray, flat: np.ndarray, weights: np.ndarray, stencil: np.ndarray) -> None:
    """``out += _convolve(binned, stencil)`` with ``binned`` the weights summed per cell (``flat`` indices).

    When the stencils of the occupied cells cover few cells, the sum is formed on those cells only (no grid-sized
    temporary: the demo's 1 km surface of 5.5 million cells took +141 MB and 0.54 s with three such grids); the
    additions happen in the same order as in :func:`_convolve`, so the values are the same to the bit.
    """
    cells, inverse = np.unique(flat, return_inverse=True)
    sums = np.bincount(inverse, weights=weights, minlength=len(cells))  # each cell's additions in input order
    nonzero = sums != 0
    cells, sums = cells[nonzero], sums[nonzero]
    if len(cells) == 0:
        return
    n_terms = len(cells) * int(np.count_nonzero(stencil))
    if n_terms > out.size // 8 or len(cells) * stencil.size > 2 * out.size:  # _convolve's FFT, or a dense sum
        binned = np.zeros(out.size)
        binned[cells] = sums
        out += _convolve(binned.reshape(out.shape), stencil)
        return
    touched, values = _scatter_terms(out.shape, cells, sums, stencil)
    peak = values.max() if len(touched) == out.size else max(values.max(), 0.0)  # the grid's maximum
    values[values < peak * 1e-13] = 0.0  # _convolve's threshold
    out.ravel()[touched] += values


def _scatter_terms(shape: tuple[int, int], cells: np.ndarray, w: np.ndarray, stencil: np.ndarray):
    """The cells :func:`_scatter` touches and their sums (``np.add.at`` order), without the grid."""
    nrows, ncols = shape
    dr, dc, kval = _stencil_offsets(stencil)
    rows, cols = np.divmod(cells, ncols)
    rr, cc = rows[:, None] + dr, cols[:, None] + dc
    ok = (rr >= 0) & (rr < nrows) & (cc >= 0) & (cc < ncols)
    touched, inverse = np.unique((rr * ncols + cc)[ok], return_inverse=True)
    return touched, np.bincount(inverse, weights=(w[:, None] * kval)[ok], minlength=len(touched))


def _stencil_offsets(stencil: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column offsets from the centre and values of the stencil's non-zero terms (row-major order)."""
    dr, dc = np.divmod(np.arange(stencil.size), stencil.shape[1])
    kval = stencil.ravel()
    used = kval != 0
    return dr[used] - stencil.shape[0] // 2, dc[used] - stencil.shape[1] // 2, kval[used]


def _kernel_stencil(h_m: float, cell_m: float, kernel: str) -> np.ndarray:
    r = int(np.floor(_kernel(kernel).support * h_m / cell_m))
    off = np.arange(-r, r + 1) * cell_m
    d = np.hypot(off[:, None], off[None, :])
    return kernel_2d(d, h_m, kernel)


def _convolve(grid: np.ndarray, stencil: np.ndarray) -> np.ndarray:
    from scipy.signal import convolve  # lazy: scipy.signal's import costs ~0.3 s, surfaces only

    if not grid.any():
        return np.zeros_like(grid)
    cells = np.flatnonzero(grid)
    if len(cells) * stencil.size <= 2 * grid.size:  # few occupied cells: a direct sum, exact, no FFT buffers
        res = _scatter(grid, cells, stencil)  # (the demo: 0.24 s and +145 MB instead of 1.3 s and +310 MB)
        res[res < res.max() * 1e-13] = 0.0  # the FFT path's threshold, so both give the same cells
        return res
    res = convolve(grid, stencil, mode="same", method="auto")
    # FFT rounding leaves ~1e-16 of the peak where the true value is zero (and tiny negatives); clear it.
    res[res < np.abs(res).max() * 1e-13] = 0.0
    return res


def _scatter(grid: np.ndarray, cells: np.ndarray, stencil: np.ndarray) -> np.ndarray:
    """``convolve(grid, stencil, mode="same")`` as a sum of stencils placed at the occupied ``cells`` (flat
    indices), in blocks of about 2**20 terms so the memory stays bounded."""
    nrows, ncols = grid.shape
    dr, dc, kval = _stencil_offsets(stencil)
    rows, cols = np.divmod(cells, ncols)
    w = grid.ravel()[cells]
    out = np.zeros(grid.size)
    step = max(1, 2**20 // max(len(kval), 1))
    for i in range(0, len(cells), step):  # blocks of cells, not a loop over rows
        rr, cc = rows[i : i + step, None] + dr, cols[i : i + step, None] + dc
        ok = (rr >= 0) & (rr < nrows) & (cc >= 0) & (cc < ncols)
        np.add.at(out, (rr * ncols + cc)[ok], (w[i : i + step, None] * kval)[ok])
    return out.reshape(grid.shape)


#: GDAL block cache (MB) while a surface is written (measured on the demo's 5.5M-cell grid: +69 MB resident after
#: the write with GDAL's default, +25 MB with 8-16 MB; the same file, as fast).
_GDAL_CACHE_MB = 16


def write_geotiff(
    path: str | os.PathLike[str],
    array: np.ndarray,
    transform: Any,
    crs: Any,
    *,
    nodata: float = -9999.0,
    description: str = "risk surface: weighted incidents per km²",
    tags: Mapping[str, Any] | None = None,
    overviews: Sequence[int] = (2, 4, 8, 16),
) -> os.PathLike[str]:
    """Write a surface as a tiled, deflate-compressed, COG-friendly GeoTIFF with overviews, atomically.

    Parameters
    ----------
    path : path
        The ``.tif`` file to write (replaced only when complete).
    array : numpy.ndarray, shape (rows, cols)
        Values; NaN cells are written as ``nodata``.
    transform : affine.Affine
        Pixel-to-CRS transform, as returned by :func:`risk_surface`.
    crs : CRS-like
        The grid's CRS.
    nodata : float, default -9999
        Value marking empty (suppressed) cells.
    description : str
        Band description.
    tags : mapping, optional
        Dataset metadata (e.g. the model's parameters, the privacy mode).
    overviews : sequence of int
        Decimation factors of the internal overviews (those larger than the raster are skipped).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rasterio.transform import from_origin
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.tif"
    >>> write_geotiff(p, np.ones((4, 4)), from_origin(0, 4000, 1000, 1000), "EPSG:6372").name
    's.tif'
    """
    import rasterio  # lazy: rasterio's import costs ~0.3 s, surfaces only
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    arr = np.asarray(array, dtype="float64")
    if arr.ndim != 2 or 0 in arr.shape:
        msg = f"`array` must be a non-empty 2-D array, got shape {arr.shape}"
        raise InputError(msg)
    data = arr.astype("float32")  # one float32 copy (not a float64 one first: the demo's grid is 5.5M cells)
    data[~np.isfinite(arr)] = nodata
    rows, cols = data.shape
    crs_wkt = CRS.from_user_input(crs).to_wkt()
    factors = [int(f) for f in overviews if rows // int(f) >= 1 and cols // int(f) >= 1 and int(f) > 1]
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32",
        "crs": crs_wkt, "transform": transform, "nodata": nodata,
    }
    # a small block cache: GDAL's default (5 % of RAM) kept a second copy of the grid resident after the write
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_MB), MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(data, 1)
            del data
            ds.set_band_description(1, description)
            ds.update_tags(**{str(k): str(v) for k, v in (tags or {}).items()})
            ds.update_tags(1, units="weighted incidents per km2")
            if factors:
                ds.build_overviews(factors, Resampling.average)
                ds.update_tags(ns="rio_overview", resampling="average")
        with mem.open() as src, atomic_file(path) as tmp:
            rio_copy(
                src, str(tmp), driver="GTiff", tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                predictor=3, copy_src_overviews=True, BIGTIFF="IF_SAFER",
            )
    with rasterio.open(path) as check:  # fail loudly rather than leave an unreadable file
        check.read(1, window=((0, 1), (0, 1)))
    return Path(path)
