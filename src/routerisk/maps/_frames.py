"""Time frames of the heat layer and the surface rendered as PNG images for the map."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

from ._legend import HEAT_COLORS

__all__ = ["heat_scale_max", "period_index", "surface_png"]

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
    from PIL import Image
    from pyproj import Transformer
    from rasterio.transform import array_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject

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
