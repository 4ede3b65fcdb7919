"""The incident heat layer for both renderers: client-side heat points or surface images (HTML), the surface
raster with its colour bar (print map).

Public maps draw heat from donut-masked points only, with the frame rule of
:func:`routerisk.maps._frames.public_frames`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from .._errors import InputError
from ..privacy import is_masked, mask_points
from ..surface import _weights_bandwidths, risk_surface
from ._common import PLOT_CRS, Leaflet, MapData
from ._frames import heat_scale_max, period_index, public_heat, surface_png
from ._leaflet import heat_image_layer, heat_points_layer
from ._legend import HEAT_COLORS

__all__ = ["DEFAULT_POINT_HEAT_MAX", "HEAT_UNITS_POINTS", "HEAT_UNITS_SURFACE", "heat_folium", "heat_mpl"]

#: Client-side heat: colour saturates where the weights in one heat cell (``radius / 2`` pixels) reach this.
DEFAULT_POINT_HEAT_MAX = 2.0
HEAT_UNITS_POINTS = "weighted incidents per heat cell (radius/2 px); colour full at the max"
HEAT_UNITS_SURFACE = (
    "weighted incidents per km² (kernel density); colour full at the max, the 99th percentile of non-empty cells"
)
_POINT_RADIUS_PX = 18


def _surface_only(d: MapData) -> Leaflet | None:
    if d.surface is None:
        return None
    arr, transform, crs = d.surface
    vmax = float(d.heat_max) if d.heat_max else heat_scale_max(arr)
    uri, bounds, _ = surface_png(arr, transform, crs, vmax=vmax)
    data, code = heat_image_layer([uri], bounds, ["all"])
    return Leaflet(data, code, periods=["all"], scale=(0.0, vmax, HEAT_UNITS_SURFACE))


def _image_frames(d: MapData, w: np.ndarray, h: np.ndarray, period: np.ndarray, labels: list[str]) -> Leaflet:
    """One surface image per period on a shared Web Mercator grid, with one fixed colour scale."""
    inc = d.incidents
    mc = d.min_count if d.public else None
    if d.surface is not None:
        arr, transform, crs = d.surface
    else:
        arr, transform, crs = risk_surface(inc, model=d.model, cell_m=d.cell_m, weights=w, bandwidths_m=h,
                                           min_count=mc)
    rows, cols = arr.shape
    extent = (transform.c, transform.f + transform.e * rows, transform.c + transform.a * cols, transform.f)
    vmax = float(d.heat_max) if d.heat_max else heat_scale_max(arr)
    uri, bounds, grid = surface_png(arr, transform, crs, vmax=vmax)
    uris = [uri]
    for k in range(1, len(labels)):
        sel = period == k
        if not sel.any():
            frame = np.zeros_like(arr)
        else:
            frame, _, _ = risk_surface(
                inc[sel], model=d.model, cell_m=transform.a, extent=extent, crs=crs, weights=w[sel],
                bandwidths_m=h[sel], min_count=mc,
            )
        uris.append(surface_png(frame, transform, crs, vmax=vmax, web_grid=grid)[0])
    data, code = heat_image_layer(uris, bounds, labels)
    return Leaflet(data, code, periods=labels, scale=(0.0, vmax, HEAT_UNITS_SURFACE))


def heat_folium(d: MapData) -> Leaflet | None:
    """The HTML heat layer: points (internal, at most ``point_limit`` placed), else surface images per period."""
    inc = d.incidents
    if inc is None or len(inc) == 0:
        return _surface_only(d)
    if d.public:  # from masked points, frames suppressed against differencing (maps._frames)
        res = public_heat(inc, model=d.model, min_count=d.min_count, time_step=d.time_step, heat_max=d.heat_max)
        if res is None:
            return None
        data, code, labels, vmin, vmax = res
        return Leaflet(data, code, periods=labels, scale=(vmin, vmax, HEAT_UNITS_SURFACE))
    w, h = _weights_bandwidths(inc, d.model)
    placed = np.isfinite(w) & np.isfinite(h) & ~inc.geometry.is_empty.to_numpy() & inc.geometry.notna().to_numpy()
    if not placed.any() and d.surface is None:
        return None  # e.g. only state-level records: nothing to draw as heat
    use_points = int(placed.sum()) <= d.point_limit and d.surface is None
    dates = inc["date"] if "date" in inc else pd.Series(pd.NaT, index=inc.index)
    period, labels = period_index(dates, d.time_step, max_frames=None if use_points else 12)
    if not use_points:
        return _image_frames(d, w, h, period, labels)
    ll = inc.geometry.to_crs(4326)
    hm = float(d.heat_max) if d.heat_max else DEFAULT_POINT_HEAT_MAX
    data, code = heat_points_layer(
        ll.y.to_numpy()[placed], ll.x.to_numpy()[placed], w[placed], period[placed], labels,
        heat_max=hm, radius=_POINT_RADIUS_PX,
    )
    return Leaflet(data, code, periods=labels, scale=(0.0, hm, HEAT_UNITS_POINTS))


def _print_surface(d: MapData) -> tuple[np.ndarray, Any, Any] | None:
    """The surface of the print map: given, or computed from the incidents (masked in public mode)."""
    if d.surface is not None:
        return d.surface
    inc = d.incidents
    if inc is None or not len(inc):
        return None
    if d.public and not is_masked(inc):  # public heat from masked positions only (docs/threat-model.md)
        inc = mask_points(inc, crs=getattr(d.model, "crs", "auto"))
    try:
        return risk_surface(inc, model=d.model, cell_m=2000.0, crs=PLOT_CRS,
                            min_count=d.min_count if d.public else None)
    except InputError:
        return None


def _heat_cmap() -> Any:
    # lazy: matplotlib.colors costs 0.07 s at start-up (measured), paid only when a print map is drawn
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    # viridis with opacity rising from faint to solid, so the basemap shows through low values
    ramp = np.linspace(0.0, 1.0, 256)
    rgba = LinearSegmentedColormap.from_list("rr_heat", HEAT_COLORS)(ramp)
    rgba[:, 3] = 0.25 + 0.7 * np.sqrt(ramp)
    return ListedColormap(rgba)


def heat_mpl(ax: Any, d: MapData) -> list[Any]:
    """The print map's heat: the surface reprojected to :data:`PLOT_CRS`, with its colour bar; no legend key."""
    # lazy: matplotlib costs 0.4 s at start-up (measured, with matplotlib.figure), paid only when a print map is drawn
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    surface = _print_surface(d)
    if surface is None:
        return []
    arr, transform, crs = surface
    arr = np.asarray(arr, dtype="float64")
    if str(crs) != PLOT_CRS:
        x0, x1, y0, y1 = d.extent
        cell = abs(transform.a)
        nx, ny = int((x1 - x0) / cell) + 1, int((y1 - y0) / cell) + 1
        dst_t = from_origin(x0, y1, cell, cell)
        dst = np.full((ny, nx), np.nan)
        reproject(arr, dst, src_transform=transform, src_crs=crs, dst_transform=dst_t, dst_crs=PLOT_CRS,
                  resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
        arr, transform = dst, dst_t
    vmax = float(d.heat_max) if d.heat_max else heat_scale_max(arr)
    norm, cmap = Normalize(0.0, vmax), _heat_cmap()
    shown = np.ma.masked_where(~np.isfinite(arr) | (arr <= vmax * 1e-3), arr.astype("float32"))
    rows, cols = arr.shape
    img_extent = (transform.c, transform.c + transform.a * cols, transform.f + transform.e * rows, transform.f)
    # nearest cells coloured after resampling ("data" stage): matplotlib's default for such images resamples RGBA
    # floats, 1.2 GB and 2.4 s for the demo's 300 dpi PNG instead of 0.65 GB and 0.5 s (same pixels but 5 of 6.8M)
    ax.imshow(shown, extent=img_extent, cmap=cmap, norm=norm, zorder=2, interpolation="nearest",
              interpolation_stage="data")
    fig = ax.figure
    cax = fig.add_axes((0.79, 0.2, 0.17, 0.02))
    cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    cb.set_label("incident heat: weighted incidents\nper km² (top: 99th percentile)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    return []
