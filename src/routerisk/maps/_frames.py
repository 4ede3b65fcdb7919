"""Time frames of the heat layer, the public-mode frame rule, and the surface rendered as PNG images for the map.

Public frames (:func:`public_frames`) are computed from donut-masked points only and suppressed cell by cell so that
no linear combination of published frames isolates fewer than ``min_count`` incidents (the rule is stated in
:func:`public_frames` and in ``docs/threat-model.md``).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from pyproj import Transformer
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject

from .._errors import InputError
from ..privacy import DEFAULT_MIN_COUNT, check_privacy, is_masked, mask_points
from ..surface import _convolve, _kernel_stencil, _model_params, _weights_bandwidths, risk_surface
from ._leaflet import heat_image_layer
from ._legend import HEAT_COLORS

__all__ = ["PUBLIC_CELL_M", "heat_scale_max", "period_index", "public_frames", "public_heat", "surface_png"]

#: Cell of every public surface (GeoTIFF and HTML frames), metres: one grid for all, coarser than internal maps.
PUBLIC_CELL_M = 2000.0
#: Most time frames a public map shows ("auto" steps by year beyond that many months).
PUBLIC_MAX_FRAMES = 12

#: Percentile of the non-empty surface cells drawn with the top heat colour (higher values are clipped to it).
HEAT_PERCENTILE = 99.0


def heat_scale_max(array: np.ndarray) -> float:
    """Top of the fixed heat scale: the 99th percentile of the surface's positive cells (1.0 when none).

    A single sharp peak would otherwise push every other cell into the lowest colours.

    Examples
    --------
    >>> heat_scale_max(np.array([[0.0, 1.0], [2.0, np.nan]]))
    1.99
    """
    a = np.asarray(array, dtype="float64")
    pos = a[np.isfinite(a) & (a > 0)]
    return float(np.percentile(pos, HEAT_PERCENTILE)) if pos.size else 1.0


def period_index(dates: Any, step: str = "auto", *, max_frames: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Assign each date to a time frame; frame 0 is "all", undated records belong to it only.

    Parameters
    ----------
    dates : array-like of datetime
        Incident dates (NaT allowed).
    step : {"auto", "month", "year"}
        ``"auto"`` steps by month when the dates span at most ``max_frames`` months (default 36), else by year.
    max_frames : int, optional
        Most monthly frames ``"auto"`` accepts.

    Returns
    -------
    index : numpy.ndarray of int
        Frame of each record (0 when undated).
    labels : list of str
        ``["all", "2024-01", ...]``.

    Examples
    --------
    >>> period_index(pd.to_datetime(["2024-01-05", None, "2024-03-01"]))[1]
    ['all', '2024-01', '2024-02', '2024-03']
    """
    if step not in ("auto", "month", "year"):
        msg = f"`time_step` was {step!r} but must be one of ('auto', 'month', 'year')"
        raise ValueError(msg)
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    ok = d.notna().to_numpy()
    out = np.zeros(len(d), dtype="int64")
    if not ok.any():
        return out, ["all"]
    months = (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype="float64")
    lo, hi = int(np.nanmin(months)), int(np.nanmax(months))
    limit = 36 if max_frames is None else max_frames
    if step == "month" or (step == "auto" and hi - lo + 1 <= limit):
        out[ok] = months[ok].astype("int64") - lo + 1
        labels = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(lo, hi + 1)]
    else:
        years = d.dt.year.to_numpy(dtype="float64")
        y0, y1 = int(np.nanmin(years)), int(np.nanmax(years))
        out[ok] = years[ok].astype("int64") - y0 + 1
        labels = [str(y) for y in range(y0, y1 + 1)]
    return out, ["all", *labels]


def _palette() -> list[int]:
    # lazy: matplotlib.colors costs 0.07 s at start-up (measured), paid only when a surface image is drawn
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("rr_heat", HEAT_COLORS)
    rgb = (cmap(np.linspace(0, 1, 255))[:, :3] * 255).round().astype(int)
    return [0, 0, 0, *rgb.reshape(-1).tolist()]


def surface_png(
    array: np.ndarray, transform: Any, crs: Any, *, vmax: float, max_px: int = 1400, web_grid: Any = None
) -> tuple[str, list[list[float]], Any]:
    """Reproject a surface to Web Mercator and encode it as a paletted PNG data URI (transparent where empty).

    Parameters
    ----------
    array, transform, crs
        A surface as returned by :func:`routerisk.risk_surface`.
    vmax : float
        Value drawn with the top colour; the scale is fixed across frames (values above are clipped).
    max_px : int
        Largest image side in pixels.
    web_grid : tuple, optional
        ``(transform, shape)`` of a Web Mercator grid to reuse (so every frame has the same bounds).

    Returns
    -------
    uri : str
    bounds : [[south, west], [north, east]]
    web_grid : tuple
    """
    rows, cols = array.shape
    if web_grid is None:
        west, south, east, north = array_bounds(rows, cols, transform)
        dst_t, w, h = calculate_default_transform(crs, "EPSG:3857", cols, rows, west, south, east, north)
        scale = max(w, h) / max_px
        if scale > 1:
            dst_t, w, h = calculate_default_transform(
                crs, "EPSG:3857", cols, rows, west, south, east, north, dst_width=int(w / scale),
                dst_height=int(h / scale),
            )
        web_grid = (dst_t, (h, w))
    dst_t, (h, w) = web_grid
    dst = np.full((h, w), np.nan, dtype="float64")
    reproject(
        np.asarray(array, dtype="float64"), dst, src_transform=transform, src_crs=crs, dst_transform=dst_t,
        dst_crs="EPSG:3857", resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan,
    )
    idx = np.zeros((h, w), dtype="uint8")
    ok = np.isfinite(dst) & (dst > vmax * 1e-3)
    idx[ok] = 1 + np.clip(dst[ok] / vmax * 254, 0, 254).astype("uint8")
    img = Image.frombytes("P", (w, h), np.ascontiguousarray(idx).tobytes())
    img.putpalette(_palette())
    buf = io.BytesIO()
    # per-entry alpha: index 0 (empty) transparent, low values faint, high values nearly opaque (as the print map)
    alpha = (255 * (0.25 + 0.65 * np.sqrt(np.linspace(0, 1, 255)))).round().astype(int).tolist()
    img.save(buf, format="PNG", optimize=True, transparency=bytes([0, *alpha]))
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    west, south, east, north = array_bounds(h, w, dst_t)
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(west, south)
    lon1, lat1 = to_ll.transform(east, north)
    return uri, [[round(lat0, 6), round(lon0, 6)], [round(lat1, 6), round(lon1, 6)]], web_grid


def _support_counts(
    x: np.ndarray, y: np.ndarray, h: np.ndarray, transform: Any, shape: tuple[int, int], kernel: str
) -> np.ndarray:
    """Per cell, how many of the points have the cell within their kernel's reach (where the kernel is > 0)."""
    rows, cols = shape
    cell = transform.a
    col = np.floor((x - transform.c) / cell).astype("int64")
    row = np.floor((transform.f - y) / cell).astype("int64")
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    flat, hh = (row * cols + col)[inside], np.round(h[inside], 3)
    out = np.zeros(shape)
    for hg in np.unique(hh):
        sel = hh == hg
        binned = np.bincount(flat[sel], minlength=rows * cols).reshape(shape).astype("float64")
        out += _convolve(binned, (_kernel_stencil(float(hg), cell, kernel) > 0).astype("float64"))
    return np.rint(out)


def public_frames(
    incidents: Any,
    *,
    model: Any = None,
    min_count: int = DEFAULT_MIN_COUNT,
    time_step: str = "auto",
    cell_m: float = PUBLIC_CELL_M,
    max_frames: int = PUBLIC_MAX_FRAMES,
) -> tuple[list[np.ndarray], list[str], Any, Any]:
    """The heat frames a public map may publish: "all" plus one per period, from masked points, suppressed.

    Incidents not yet masked are donut-masked here from OS entropy (:func:`routerisk.privacy.mask_points`,
    default radii); a run passes the points it masked once for all its outputs. Each frame ``k`` (0 = all
    periods, undated records included; 1.. = one month or year each) has values ``V_k`` (the kernel surface of
    its points) and, per cell, the support ``N_k``: how many of its points have the cell within kernel reach.
    The rule, per cell:

    1. a frame is published at a cell only where ``N_k >= min_count`` (as the all-period surface);
    2. the periods published at the cell are removed one by one (smallest support first) while the residual
       ``R = N_0 - sum of N_k over the published periods`` (what "all" minus the published periods leaves:
       suppressed periods and undated records) is between 1 and ``min_count - 1``.

    At every published cell, every published quantity, and every difference or sum of them, is then the sum of
    the kernels of 0 or at least ``min_count`` incidents: the published periods each hold ``>= min_count``, the
    residual 0 or ``>= min_count``, and any linear combination of published frames is a combination of those.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents (points), masked or not.
    model : RiskModel, optional
        Bandwidth, kernel, weights and decay.
    min_count : int
        Smallest support published (at least :data:`routerisk.privacy.PUBLIC_MIN_COUNT_FLOOR`).
    time_step : {"auto", "month", "year"}
        Step of the periods (labels are months ``YYYY-MM`` or years, never days).
    cell_m : float
        Cell of the grid (:data:`PUBLIC_CELL_M`).
    max_frames : int
        Most monthly frames ``"auto"`` accepts before stepping by year.

    Returns
    -------
    frames : list of numpy.ndarray
        One array per label, NaN where suppressed; ``frames[0]`` is the all-period surface.
    labels : list of str
    transform : affine.Affine
    crs : pyproj.CRS

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> inc = gpd.GeoDataFrame({"category": "homicide", "date": pd.to_datetime(["2024-01-10"] * 6 + ["2024-02-03"]),
    ...                         "location_precision": "exact"},
    ...                        geometry=gpd.points_from_xy([-94.0] * 6 + [-94.05], [17.0] * 7), crs=4326)
    >>> frames, labels, _, _ = public_frames(inc, min_count=5)
    >>> jan = np.isfinite(frames[1])  # January is published only where "all" minus January is empty
    >>> labels, bool(jan.any()), bool(np.allclose(frames[0][jan], frames[1][jan])), bool(np.isfinite(frames[2]).any())
    (['all', '2024-01', '2024-02'], True, True, False)
    """
    check_privacy("public", min_count)
    inc = incidents if is_masked(incidents) else mask_points(incidents, crs=getattr(model, "crs", "auto"))
    w, h = _weights_bandwidths(inc, model)
    _, kernel = _model_params(model)
    dates = inc["date"] if "date" in inc else pd.Series(pd.NaT, index=inc.index)
    period, labels = period_index(dates, time_step, max_frames=max_frames)
    arr, transform, crs = risk_surface(inc, model=model, cell_m=cell_m, weights=w, bandwidths_m=h)
    rows, cols = arr.shape
    extent = (transform.c, transform.f + transform.e * rows, transform.c + transform.a * cols, transform.f)
    geo = inc.geometry.to_crs(crs)
    placed = (geo.notna() & ~geo.is_empty).to_numpy() & np.isfinite(w) & np.isfinite(h) & (h > 0)
    x = np.where(placed, geo.x.to_numpy(), np.nan) if len(geo) else np.empty(0)
    y = np.where(placed, geo.y.to_numpy(), np.nan) if len(geo) else np.empty(0)
    values, support = [arr], [_support_counts(x[placed], y[placed], h[placed], transform, arr.shape, kernel)]
    for k in range(1, len(labels)):
        sel = period == k
        if not (sel & placed).any():
            values.append(np.zeros_like(arr))
            support.append(np.zeros_like(arr))
            continue
        frame, _, _ = risk_surface(
            inc[sel], model=model, cell_m=cell_m, extent=extent, crs=crs, weights=w[sel], bandwidths_m=h[sel]
        )
        values.append(frame)
        ps = sel & placed
        support.append(_support_counts(x[ps], y[ps], h[ps], transform, arr.shape, kernel))
    published = [n >= min_count for n in support]
    if len(labels) > 1:
        n_periods = np.stack(support[1:])
        pub = np.stack(published[1:]) & published[0]
        residual = support[0] - (n_periods * pub).sum(axis=0)
        for _ in range(len(labels) - 1):
            bad = published[0] & (residual > 0) & (residual < min_count)
            if not bad.any():
                break
            smallest = np.argmin(np.where(pub, n_periods, np.inf), axis=0)  # period to withdraw at each cell
            r, c = np.nonzero(bad)
            k = smallest[r, c]
            pub[k, r, c] = False
            residual[r, c] += n_periods[k, r, c]
        published[1:] = list(pub)
    frames = [np.where(ok, v, np.nan) for v, ok in zip(values, published, strict=True)]
    return frames, labels, transform, crs


def public_heat(
    incidents: Any,
    *,
    model: Any = None,
    min_count: int = DEFAULT_MIN_COUNT,
    time_step: str = "auto",
    heat_max: float | None = None,
) -> tuple[dict, str, list[str], float, float] | None:
    """The heat layer of a public map: :func:`public_frames` as PNG images on one Web Mercator grid.

    Returns
    -------
    tuple or None
        ``(data, code, labels, vmin, vmax)``: the Leaflet layer (:func:`routerisk.maps._leaflet.heat_image_layer`),
        the frame labels and the fixed colour scale; None when no incident is placed.
    """
    try:
        frames, labels, transform, crs = public_frames(
            incidents, model=model, min_count=min_count, time_step=time_step
        )
    except InputError:  # no placed point: nothing to draw
        return None
    vmax = float(heat_max) if heat_max else heat_scale_max(frames[0])
    uri, bounds, grid = surface_png(frames[0], transform, crs, vmax=vmax)
    uris = [uri] + [surface_png(f, transform, crs, vmax=vmax, web_grid=grid)[0] for f in frames[1:]]
    data, code = heat_image_layer(uris, bounds, labels)
    return data, code, labels, 0.0, vmax
