"""Run-time budgets, checked before the work starts.

A hostile or mistaken option can ask for a run that never ends or exhausts memory: 0.5 m segments over thousands
of kilometres of routes, a kernel reaching every segment from every incident, a map grid of billions of cells.
Each check here estimates the size of one step from cheap facts (lengths, bounding boxes, a coarse histogram) and
raises :class:`ConfigError` (exit 3) naming the option to change, before anything is computed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from ._errors import ConfigError
from .model import KERNEL_SUPPORT

__all__ = ["MAX_GRID_CELLS", "MAX_PAIRS", "MAX_SEGMENTS", "check_grid", "check_pairs", "check_segments",
           "estimate_pairs"]

#: Most segments a run may cut its routes into (the embedded corridors make 1,739 at 5 km).
MAX_SEGMENTS = 1_000_000
#: Most (segment, incident) pairs within the kernel's reach (estimated from above, by up to ~3x): about 10 s of the
#: engine, which evaluates ~5e8 pairs per second (benchmarks/results.md: 403 million pairs in 0.75 s).
MAX_PAIRS = 5_000_000_000
#: Most cells of the map's risk surface (as :func:`routerisk.surface.risk_surface` allows).
MAX_GRID_CELLS = 60_000_000
#: Metres per degree of latitude.
_M_PER_DEG = 111_320.0
#: Largest location uncertainty added to the bandwidth (:data:`routerisk.schema.LOCATION_SIGMA_M`).
_MAX_SIGMA_M = 15_000.0


def check_segments(total_length_m: float, segment_length_m: float) -> int:
    """Number of segments ``total_length_m`` of routes make; :class:`ConfigError` above :data:`MAX_SEGMENTS`.

    Examples
    --------
    >>> check_segments(8_700_000, 5000)
    1740
    >>> check_segments(8_700_000, 0.5)
    Traceback (most recent call last):
    ...
    routerisk._errors.ConfigError: ...
    """
    n = math.ceil(total_length_m / segment_length_m) if total_length_m > 0 else 0
    if n > MAX_SEGMENTS:
        least = math.ceil(total_length_m / MAX_SEGMENTS)
        msg = (
            f"segments of {segment_length_m:g} m over {total_length_m / 1000:,.0f} km of routes make about {n:,} "
            f"segments, more than the budget of {MAX_SEGMENTS:,}; use --param segment_length_m={least} or more"
        )
        raise ConfigError(msg)
    return n


def _reach_m(model: Any) -> float:
    return KERNEL_SUPPORT[model.kernel] * math.hypot(float(model.bandwidth_m), _MAX_SIGMA_M)


def _lonlat(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of a lon/lat table, or of the representative points of a layer (in EPSG:4326)."""
    if "lon" in getattr(layer, "columns", ()) and "lat" in layer.columns and not hasattr(layer, "geometry"):
        return layer["lon"].to_numpy(dtype="float64"), layer["lat"].to_numpy(dtype="float64")
    geo = layer.to_crs(4326) if layer.crs is not None and not layer.crs.equals("EPSG:4326") else layer
    pts = shapely.point_on_surface(geo.geometry.to_numpy()) if len(geo) else np.empty(0, dtype=object)
    return shapely.get_x(pts), shapely.get_y(pts)


def check_pairs(segments: Any, incidents: Any, model: Any) -> float:
    """:func:`estimate_pairs`, or :class:`ConfigError` naming the options to change above :data:`MAX_PAIRS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from routerisk import RiskModel
    >>> seg = pd.DataFrame({"lon": [-92.0, -99.0], "lat": [16.0, 19.0]})
    >>> check_pairs(seg, pd.DataFrame({"lon": [-92.01] * 10, "lat": [16.0] * 10}), RiskModel())
    20.0
    """
    n = float(len(segments)) * float(len(incidents))
    if n <= MAX_PAIRS:
        return n  # every segment with every incident: within the budget whatever the reach
    pairs = estimate_pairs(segments, incidents, model)
    if pairs > MAX_PAIRS:
        reach = _reach_m(model)
        msg = (
            f"about {pairs:,.0f} segment-incident pairs lie within the kernel's reach ({reach / 1000:,.0f} km), more "
            f"than the budget of {MAX_PAIRS:,}; lower --param bandwidth_m (now {model.bandwidth_m:g}), use a longer "
            f"--param segment_length_m (now {model.segment_length_m:g}) or score fewer incidents"
        )
        raise ConfigError(msg)
    return pairs


def estimate_pairs(segments: Any, incidents: Any, model: Any) -> float:
    """(Segment, incident) pairs within the kernel's reach, estimated from above.

    Incidents are counted on a grid of cells at least one reach wide (plus half a segment); each segment's
    midpoint sees the 3 x 3 cells around its own, which hold every incident within reach of any point of the
    segment (an upper bound, by up to ~3x). Costs one histogram, no distance.

    Examples
    --------
    >>> import pandas as pd
    >>> from routerisk import RiskModel
    >>> seg = pd.DataFrame({"lon": [-92.0, -99.0], "lat": [16.0, 19.0]})  # 740 km apart
    >>> estimate_pairs(seg, pd.DataFrame({"lon": [-92.01] * 10, "lat": [16.0] * 10}), RiskModel())
    10.0
    """
    if len(segments) == 0 or len(incidents) == 0:
        return 0.0
    reach = _reach_m(model) + float(model.segment_length_m) / 2  # from a segment's midpoint
    sx, sy = _lonlat(segments)
    ix, iy = _lonlat(incidents)
    ok = np.isfinite(ix) & np.isfinite(iy)
    ix, iy = ix[ok], iy[ok]
    if not len(ix):
        return 0.0
    lat_max = float(np.nanmax(np.abs(np.r_[sy, iy])))
    xmin, xmax = float(min(np.nanmin(sx), ix.min())), float(max(np.nanmax(sx), ix.max()))
    ymin, ymax = float(min(np.nanmin(sy), iy.min())), float(max(np.nanmax(sy), iy.max()))
    # cells at least one reach wide (wider when the extent is large: still an upper bound, fewer cells)
    cy = max(reach / _M_PER_DEG, (ymax - ymin) / 2000, 1e-9)
    cx = max(reach / (_M_PER_DEG * max(math.cos(math.radians(min(lat_max, 89.0))), 1e-3)), (xmax - xmin) / 2000, 1e-9)
    x0, y0 = xmin - cx, ymin - cy
    nx = int((xmax - x0) / cx) + 3
    ny = int((ymax - y0) / cy) + 3
    ci = np.clip(((ix - x0) / cx).astype("int64"), 0, nx - 1)
    cj = np.clip(((iy - y0) / cy).astype("int64"), 0, ny - 1)
    counts = np.bincount(cj * nx + ci, minlength=nx * ny).reshape(ny, nx).astype("float64")
    padded = np.pad(counts, 1)
    block = sum(padded[1 + dj : 1 + dj + ny, 1 + di : 1 + di + nx] for dj in (-1, 0, 1) for di in (-1, 0, 1))
    si = np.clip(((sx - x0) / cx).astype("int64"), 0, nx - 1)
    sj = np.clip(((sy - y0) / cy).astype("int64"), 0, ny - 1)
    return float(block[sj, si].sum())


def check_grid(incidents: Any, model: Any, cell_m: float = 1000.0) -> int:
    """Cells of the map's risk surface at ``cell_m``; :class:`ConfigError` above :data:`MAX_GRID_CELLS`.

    The grid spans the incidents plus the kernel's reach on every side (as :func:`routerisk.surface.risk_surface`).

    Examples
    --------
    >>> import pandas as pd
    >>> from routerisk import RiskModel
    >>> inc = pd.DataFrame({"lon": [-92.0, -91.0], "lat": [16.0, 16.0]})
    >>> check_grid(inc, RiskModel())  # 107 km + 2 x 21 km reach + 2 cells wide, 42 km + 2 cells high
    6840
    """
    if len(incidents) == 0:
        return 0
    x, y = _lonlat(incidents)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return 0
    x, y = x[ok], y[ok]
    reach = _reach_m(model)
    coslat = max(math.cos(math.radians(min(float(np.abs(y).min()), 89.0))), 1e-3)
    width = (float(x.max() - x.min()) * _M_PER_DEG * coslat + 2 * reach + 2 * cell_m) / cell_m
    height = (float(y.max() - y.min()) * _M_PER_DEG + 2 * reach + 2 * cell_m) / cell_m
    cells = int(math.ceil(width) * math.ceil(height))
    if cells > MAX_GRID_CELLS:
        msg = (
            f"the map's risk surface would have about {cells:,} cells of {cell_m:g} m (the incidents' extent plus "
            f"the kernel's reach of {reach / 1000:,.0f} km on each side), more than the budget of "
            f"{MAX_GRID_CELLS:,}; lower --param bandwidth_m (now {model.bandwidth_m:g}) or run without --maps"
        )
        raise ConfigError(msg)
    return cells
