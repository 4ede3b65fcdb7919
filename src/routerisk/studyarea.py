"""The study area of a run: where incidents can count, and what the rasters and maps cover.

A worldwide export (the IOM Missing Migrants Project publishes every region in one file) holds thousands of rows
that no route segment can see. A run therefore has an explicit study area:

- by default, the routes buffered by the kernel's largest reach (:func:`default_study_area`) at the largest
  bandwidth the run evaluates (:data:`REACH_FACTOR` times ``bandwidth_m``: the bandwidth sensitivity table goes to
  2x): every incident that can contribute to any segment's score, or to the sensitivity table, lies inside it,
  and nothing outside it can (scores are identical with and without the area);
- or a polygon file given by the user (``routerisk score --study-area FILE``, :func:`read_study_area`).

Rows outside the area are excluded from scoring, rasters and maps, and counted by reason
(:func:`split_by_study_area`): the console prints the counts and the manifest records them under
``outside_study_area``. The risk surface's extent is the study area's bounding box (:func:`area_extent`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._budget import _MAX_SIGMA_M, MAX_GRID_CELLS, check_grid
from ._errors import ConfigError, InputError
from .crs import analysis_crs
from .model import KERNEL_SUPPORT
from .schema import WGS84

__all__ = [
    "DISTANCE_BANDS_KM",
    "REACH_FACTOR",
    "area_extent",
    "area_grid",
    "check_area_grid",
    "default_reach_m",
    "default_study_area",
    "describe_outside",
    "describe_precision",
    "precision_counts",
    "read_study_area",
    "split_by_study_area",
]

#: The default area's reach is that of this multiple of the bandwidth: the largest factor of the bandwidth
#: sensitivity table (:data:`routerisk.bandwidth.SENSITIVITY_FACTORS`, checked by a test).
REACH_FACTOR = 2.0
#: A default reach above this (metres) covers a continent: the study area is then the whole world (no row is
#: excluded; a projected buffer that wide is not a valid polygon) and the grid budget falls back to the incidents.
MAX_AREA_REACH_M = 2_000_000.0
#: Distance bands (km from the study area) in which rows outside it are counted.
DISTANCE_BANDS_KM = (100.0, 1000.0)


def _projected(area: gpd.GeoDataFrame, model: Any = None) -> gpd.GeoDataFrame:
    crs = analysis_crs(tuple(area.to_crs(WGS84).total_bounds), getattr(model, "crs", "auto"))
    return area.to_crs(crs)


def default_reach_m(model: Any) -> float:
    """Buffer of the default study area: the kernel's reach at :data:`REACH_FACTOR` times the bandwidth.

    Examples
    --------
    >>> from routerisk import RiskModel
    >>> round(default_reach_m(RiskModel()) / 1000, 1)  # quartic: hypot(2 x 15 km, 15 km)
    33.5
    """
    return float(KERNEL_SUPPORT[model.kernel] * math.hypot(float(model.bandwidth_m) * REACH_FACTOR, _MAX_SIGMA_M))


def default_study_area(routes: gpd.GeoDataFrame, model: Any) -> gpd.GeoDataFrame:
    """The routes buffered by the kernel's largest reach, as one polygon in EPSG:4326.

    The reach is the kernel's support times the bandwidth (at :data:`REACH_FACTOR` times ``bandwidth_m``, the
    largest the run evaluates) widened by the largest location uncertainty
    (:data:`routerisk.schema.LOCATION_SIGMA_M`), so no incident outside the area can weigh on any segment.

    Parameters
    ----------
    routes : GeoDataFrame
        Route lines (any CRS).
    model : RiskModel
        The run's model (bandwidth, kernel, analysis CRS).

    Returns
    -------
    GeoDataFrame
        One row: ``source="routes buffered by <reach> km"``, ``reach_m``.

    Examples
    --------
    >>> from shapely import LineString
    >>> from routerisk import RiskModel
    >>> rt = gpd.GeoDataFrame(geometry=[LineString([(-93, 16), (-94, 16.5)])], crs=4326)
    >>> area = default_study_area(rt, RiskModel())
    >>> bool(area.geometry.iloc[0].contains(shapely.Point(-93.5, 16.3)))
    True
    """
    if routes is None or not len(routes):
        msg = "the routes are empty: no study area can be built from them; pass a study area file"
        raise InputError(msg)
    reach = default_reach_m(model)
    if reach > MAX_AREA_REACH_M:
        return gpd.GeoDataFrame({"source": [f"the whole world (the kernel's reach, {reach / 1000:,.0f} km, spans a "
                                            "continent)"], "reach_m": [reach], "world": [True]},
                                geometry=[shapely.box(-180, -90, 180, 90)], crs=WGS84)  # fmt: skip
    proj = _projected(gpd.GeoDataFrame(geometry=routes.geometry.to_numpy(), crs=routes.crs), model)
    poly = shapely.buffer(shapely.union_all(proj.geometry.to_numpy()), reach, quad_segs=8)
    out = gpd.GeoDataFrame(
        {"source": [f"routes buffered by the kernel's reach ({reach / 1000:.1f} km)"], "reach_m": [reach]},
        geometry=[poly], crs=proj.crs,
    )  # fmt: skip
    out = out.to_crs(WGS84)
    out["geometry"] = shapely.make_valid(out.geometry.to_numpy())
    return out


def _is_world(area: gpd.GeoDataFrame | None) -> bool:
    return area is not None and "world" in area.columns and bool(area["world"].any())


def read_study_area(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a study area: the union of the polygons of a vector file (GeoPackage, GeoJSON, shapefile ...).

    Parameters
    ----------
    path : path
        A vector file holding at least one polygon (a missing CRS is taken as EPSG:4326).

    Returns
    -------
    GeoDataFrame
        One row in EPSG:4326: ``source`` (the file name), ``reach_m`` (NaN).

    Raises
    ------
    InputError
        When the file cannot be read or holds no polygon.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "area.geojson"
    >>> gpd.GeoDataFrame(geometry=[shapely.box(-95, 15, -92, 18)], crs=4326).to_file(p)
    >>> round(read_study_area(p).geometry.iloc[0].area, 1)
    9.0
    """
    try:
        layer = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError with a long text
        msg = f"study area {str(path)!r} could not be read as a vector file ({type(exc).__name__})"
        raise InputError(msg, path=str(path)) from exc
    if layer.crs is None:
        layer = layer.set_crs(WGS84)
    geoms = layer.to_crs(WGS84).geometry.to_numpy()
    polys = geoms[np.isin(shapely.get_type_id(geoms), (3, 6))] if len(geoms) else geoms
    polys = polys[~shapely.is_empty(polys)] if len(polys) else polys
    if not len(polys):
        msg = f"study area {str(path)!r} holds no polygon (a study area must be a Polygon or MultiPolygon layer)"
        raise InputError(msg, path=str(path))
    poly = shapely.make_valid(shapely.union_all(polys))
    return gpd.GeoDataFrame({"source": [os.path.basename(str(path))], "reach_m": [np.nan]}, geometry=[poly],
                            crs=WGS84)  # fmt: skip


def _lonlat(inc: Any) -> tuple[np.ndarray, np.ndarray]:
    if "lon" in getattr(inc, "columns", ()) and not isinstance(inc, gpd.GeoDataFrame):
        return inc["lon"].to_numpy(dtype="float64"), inc["lat"].to_numpy(dtype="float64")
    geo = inc.to_crs(WGS84) if inc.crs is not None and not inc.crs.equals(WGS84) else inc
    return shapely.get_x(geo.geometry.to_numpy()), shapely.get_y(geo.geometry.to_numpy())


def _bands(area: gpd.GeoDataFrame, model: Any) -> tuple[Any, Any]:
    """The study area grown by each distance band (metres in the analysis CRS), back in lon/lat, prepared.

    Simplified to 1 % of the band (1 km, 10 km): band counts are for the console, not a measurement.
    """
    proj = _projected(area, model)
    target = shapely.union_all(proj.geometry.to_numpy())
    out = []
    for km in DISTANCE_BANDS_KM:
        grown = shapely.simplify(shapely.buffer(target, km * 1000.0, quad_segs=4), km * 10.0)
        poly = gpd.GeoSeries([grown], crs=proj.crs).to_crs(WGS84).iloc[0]
        poly = shapely.make_valid(poly)
        shapely.prepare(poly)
        out.append(poly)
    return out[0], out[1]


def split_by_study_area(
    incidents: Any, area: gpd.GeoDataFrame, model: Any = None
) -> tuple[Any, dict[str, Any]]:
    """The incidents inside the study area, and the counts of those outside it, by reason.

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        Canonical incidents (a lon/lat table or Points).
    area : GeoDataFrame
        The study area (:func:`default_study_area` or :func:`read_study_area`).
    model : RiskModel, optional
        For the analysis CRS in which distances to the area are measured.

    Returns
    -------
    inside : same type as ``incidents``
        The rows inside the area (index reset).
    counts : dict
        ``rows`` (outside), ``kept`` (inside), ``by_reason`` (number of rows per distance band from the area:
        ``"up to 100 km outside"``, ``"100-1000 km outside"``, ``"more than 1000 km outside"``; rows
        without coordinates are not counted here, the readers reject them) and ``area`` (its source).

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"lon": [-93.5, -93.5, 12.0], "lat": [16.0, 16.8, 35.0]})
    >>> area = gpd.GeoDataFrame({"source": ["box"]}, geometry=[shapely.box(-94, 15.5, -93, 16.5)], crs=4326)
    >>> kept, counts = split_by_study_area(inc, area)
    >>> len(kept), counts["rows"], counts["by_reason"]
    (1, 2, {'up to 100 km outside': 1, 'more than 1000 km outside': 1})
    """
    poly = shapely.union_all(area.to_crs(WGS84).geometry.to_numpy())
    x, y = _lonlat(incidents)
    placed = np.isfinite(x) & np.isfinite(y)
    shapely.prepare(poly)
    inside = np.zeros(len(x), dtype=bool)
    inside[placed] = shapely.contains_xy(poly, x[placed], y[placed])
    outside = placed & ~inside
    by_reason: dict[str, int] = {}
    if outside.any():
        lo, hi = DISTANCE_BANDS_KM
        near, mid = _bands(area, model)  # the area grown by each band, in lon/lat: point-in-polygon, no distances
        ox, oy = x[outside], y[outside]
        in_near = shapely.contains_xy(near, ox, oy)
        in_mid = shapely.contains_xy(mid, ox, oy) & ~in_near
        bands = {
            f"up to {lo:g} km outside": int(in_near.sum()),
            f"{lo:g}-{hi:g} km outside": int(in_mid.sum()),
            f"more than {hi:g} km outside": int((~in_near & ~in_mid).sum()),
        }
        by_reason = {k: v for k, v in bands.items() if v}
    keep = inside | ~placed
    kept = incidents.loc[keep].reset_index(drop=True) if isinstance(incidents, pd.DataFrame) else incidents[keep]
    if hasattr(incidents, "attrs"):
        kept.attrs = dict(incidents.attrs)
    counts = {"rows": int(outside.sum()), "kept": int(keep.sum()), "by_reason": by_reason,
              "area": str(area["source"].iloc[0]) if "source" in area.columns else "study area"}  # fmt: skip
    return kept, counts


def area_extent(area: gpd.GeoDataFrame, crs: Any, cell_m: float) -> tuple[float, float, float, float]:
    """Bounding box of the study area in ``crs``, snapped outwards to multiples of ``cell_m``.

    Examples
    --------
    >>> area = gpd.GeoDataFrame(geometry=[shapely.box(-94, 15.5, -93, 16.5)], crs=4326)
    >>> x0, y0, x1, y1 = area_extent(area, "EPSG:6372", 1000.0)
    >>> x0 % 1000 == 0 and 100 < (x1 - x0) / 1000 < 120
    True
    """
    b = area.to_crs(crs).total_bounds
    return (
        float(np.floor(b[0] / cell_m) * cell_m), float(np.floor(b[1] / cell_m) * cell_m),
        float(np.ceil(b[2] / cell_m) * cell_m), float(np.ceil(b[3] / cell_m) * cell_m),
    )  # fmt: skip


def area_grid(area: gpd.GeoDataFrame | None, model: Any, cell_m: float) -> dict[str, Any]:
    """``extent`` and ``crs`` keywords of :func:`routerisk.surface.risk_surface` for a study area ({} for None).

    Examples
    --------
    >>> area = gpd.GeoDataFrame(geometry=[shapely.box(-94, 15.5, -93, 16.5)], crs=4326)
    >>> sorted(area_grid(area, None, 1000.0)), area_grid(None, None, 1000.0)
    (['crs', 'extent'], {})
    """
    if area is None or not len(area) or _is_world(area):
        return {}
    crs = analysis_crs(tuple(area.to_crs(WGS84).total_bounds), getattr(model, "crs", "auto"))
    return {"extent": area_extent(area, crs, cell_m), "crs": crs}


def check_area_grid(area: gpd.GeoDataFrame, model: Any, cell_m: float, incidents: Any = None) -> int:
    """Cells of the risk surface over the study area at ``cell_m``; :class:`ConfigError` above the budget.

    The budget is :data:`routerisk._budget.MAX_GRID_CELLS`; checked before any work. A whole-world area (a reach
    above :data:`MAX_AREA_REACH_M`) is checked as the incidents' extent plus the reach
    (:func:`routerisk._budget.check_grid`).

    Examples
    --------
    >>> from routerisk import RiskModel
    >>> area = gpd.GeoDataFrame(geometry=[shapely.box(-94, 15.5, -93, 16.5)], crs=4326)
    >>> 100 * 100 < check_area_grid(area, RiskModel(), 1000.0) < 120 * 120
    True
    """
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise ConfigError(f"--cell-m was {cell_m!r} but must be a positive number of metres")
    if _is_world(area):
        return check_grid(incidents if incidents is not None else pd.DataFrame({"lon": [], "lat": []}), model,
                          cell_m=cell_m)  # fmt: skip
    crs = analysis_crs(tuple(area.to_crs(WGS84).total_bounds), getattr(model, "crs", "auto"))
    x0, y0, x1, y1 = area_extent(area, crs, cell_m)
    cells = int(round((x1 - x0) / cell_m) * round((y1 - y0) / cell_m))
    if cells > MAX_GRID_CELLS:
        least = int(np.ceil(cell_m * np.sqrt(cells / MAX_GRID_CELLS)))
        msg = (
            f"the risk surface over the study area would have about {cells:,} cells of {cell_m:g} m, more than the "
            f"budget of {MAX_GRID_CELLS:,}; use --cell-m {least} or more, a smaller --study-area, a lower "
            f"--param bandwidth_m (now {getattr(model, 'bandwidth_m', float('nan')):g}; the default study area is "
            f"the routes buffered by the kernel's reach), or run without --maps"
        )
        raise ConfigError(msg)
    return cells


def describe_outside(counts: dict[str, Any] | None) -> str:
    """One console line for the rows outside the study area ('' when none).

    Examples
    --------
    >>> describe_outside({"rows": 3, "kept": 5, "by_reason": {"more than 1000 km outside": 3}, "area": "a.gpkg"})[-42:]
    'maps: 3 more than 1000 km outside; 5 kept.'
    """
    if not counts or not counts.get("rows"):
        return ""
    reasons = ", ".join(f"{v:,} {k}" for k, v in counts.get("by_reason", {}).items())
    return (
        f"{counts['rows']:,} incident rows lie outside the study area ({counts.get('area', 'study area')}) and were "
        f"excluded from scores and maps: {reasons}; {counts.get('kept', 0):,} kept."
    )


def precision_counts(incidents: Any) -> dict[str, int]:
    """Number of incidents per location precision class, in :data:`routerisk.schema.LOCATION_PRECISIONS` order.

    Examples
    --------
    >>> precision_counts(pd.DataFrame({"location_precision": ["exact", "state", "exact"]}))
    {'exact': 2, 'locality': 0, 'municipality': 0, 'state': 1, 'unknown': 0}
    """
    from .schema import LOCATION_PRECISIONS

    if "location_precision" not in getattr(incidents, "columns", ()):
        return {}
    vc = pd.Series(incidents["location_precision"]).astype(str).value_counts()
    return {p: int(vc.get(p, 0)) for p in LOCATION_PRECISIONS}


def describe_precision(counts: dict[str, int] | None) -> str:
    """One console line with the incidents per location precision ('' when there are none).

    Examples
    --------
    >>> print(describe_precision({"exact": 2, "locality": 0, "municipality": 5, "state": 1, "unknown": 0}))
    Location precision of the 8 incidents scored: exact 2, municipality 5, state 1 (state: not placed on segments).
    """
    if not counts or not sum(counts.values()):
        return ""
    parts = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
    tail = " (state: not placed on segments)" if counts.get("state") else ""
    return f"Location precision of the {sum(counts.values()):,} incidents scored: {parts}{tail}."
