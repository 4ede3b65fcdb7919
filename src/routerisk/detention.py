"""Detention: migration stations and checkpoints as a point layer, and the detention exposure of segments.

The embedded list ``data/detention.csv`` places INM migration stations ("estaciones migratorias") and a few
inspection points at **city level** (the locality's gazetteer coordinates, never the facility), from public
reporting, not re-verified (``verified`` is False for every row; checkpoints are ``illustrative``). See
``data/README.md``.

``detention_exposure`` of a segment is ``K(d / h)``: the registry's kernel (``K(0) = 1``) of the Euclidean distance
``d`` from the segment (its nearest point) to the nearest detention site, with bandwidth ``h``
(:data:`DEFAULT_DETENTION_BANDWIDTH_M`, 25 km): 1 for a segment through a station's city, 0 beyond ``h``. It is
reported beside the risk, never added to it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from ._paths import data_path
from .crs import analysis_crs
from .engine import kernel_values
from .gazetteer import resolve_localities
from .schema import WGS84

__all__ = ["DEFAULT_DETENTION_BANDWIDTH_M", "DETENTION_COLUMNS", "DETENTION_FILE", "detention_exposure",
           "load_detention", "read_detention"]  # fmt: skip

DETENTION_FILE = "detention.csv"
DETENTION_COLUMNS = ("site_id", "name", "kind", "agency", "illustrative", "verified")
DEFAULT_DETENTION_BANDWIDTH_M = 25_000.0
_TRUE = ("true", "1", "yes")


def _table_to_layer(table: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    n = len(table)
    if {"lon", "lat"} <= set(table.columns):
        lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy()
        lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy()
        bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        if bad.any():
            rows = "; ".join(f"{source},row {i + 2},lon/lat,not a coordinate" for i in np.flatnonzero(bad)[:10])
            msg = f"{int(bad.sum())} detention rows without valid coordinates: {rows}"
            raise InputError(msg, path=source)
    elif "locality" in table.columns:
        states = table["state"].tolist() if "state" in table.columns else None
        res = resolve_localities(table["locality"].astype(str).tolist(), states)
        lon, lat = res["lon"].to_numpy(), res["lat"].to_numpy()
    else:
        msg = f"{source}: a detention table needs lon and lat columns, or locality (and state)"
        raise InputError(msg, path=source)
    out = pd.DataFrame({
        "site_id": table["site_id"].astype(str) if "site_id" in table else [f"D{i + 1:02d}" for i in range(n)],
        "name": table["name"].astype(str) if "name" in table else "",
        "kind": table["kind"].astype(str) if "kind" in table else "migration_station",
        "agency": table["agency"].astype(str) if "agency" in table else "migration_authority",
        "illustrative": table["illustrative"].astype(str).str.strip().str.lower().isin(_TRUE)
        if "illustrative" in table else False,
        "verified": table["verified"].astype(str).str.strip().str.lower().isin(_TRUE) if "verified" in table else False,
    })  # fmt: skip
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


@functools.cache
def _embedded() -> gpd.GeoDataFrame:
    path = data_path(DETENTION_FILE)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return _table_to_layer(table, DETENTION_FILE)


def load_detention() -> gpd.GeoDataFrame:
    """The embedded detention sites (``data/detention.csv``), city level, EPSG:4326.

    Examples
    --------
    >>> d = load_detention()
    >>> sorted(d["kind"].unique()), bool(d["verified"].any())
    (['checkpoint', 'migration_station'], False)
    """
    return _embedded().copy()


def read_detention(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read detention sites: a CSV with ``lon``/``lat`` (or ``locality``, ``state``) or a vector file of points.

    Malformed coordinates are a readable :class:`routerisk.InputError` naming the file, row and column.

    Examples
    --------
    >>> read_detention("/nonexistent.csv")
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: detention file '/nonexistent.csv' does not exist
    """
    path = Path(path)
    if not path.is_file():
        msg = f"detention file {str(path)!r} does not exist"
        raise InputError(msg, path=str(path))
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            msg = f"detention file {str(path)!r} could not be read as CSV: {exc}"
            raise InputError(msg, path=str(path)) from None
        return _table_to_layer(table, str(path))
    try:
        layer = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises many types
        msg = f"detention file {str(path)!r} could not be read: {exc}"
        raise InputError(msg, path=str(path)) from None
    if layer.crs is None or not (shapely.get_type_id(layer.geometry.to_numpy()) == 0).all():
        msg = f"detention file {str(path)!r} must hold Points with a CRS"
        raise InputError(msg, path=str(path))
    pts = layer.to_crs(WGS84)
    table = pd.DataFrame(pts.drop(columns=pts.geometry.name)).assign(lon=pts.geometry.x, lat=pts.geometry.y)
    return _table_to_layer(table, str(path))


def detention_exposure(
    segments: gpd.GeoDataFrame,
    detention: gpd.GeoDataFrame | None,
    *,
    bandwidth_m: float = DEFAULT_DETENTION_BANDWIDTH_M,
    kernel: str = "quartic",
) -> np.ndarray:
    """``K(d / h)`` of each segment's Euclidean distance to the nearest detention site (0 without sites).

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)]), LineString([(0, 5e4), (1, 5e4)])],
    ...                        crs="EPSG:6372")
    >>> det = gpd.GeoDataFrame(geometry=[Point(500, 12_500)], crs="EPSG:6372")
    >>> detention_exposure(seg, det).tolist()
    [0.5625, 0.0]
    """
    if not (np.isfinite(bandwidth_m) and bandwidth_m > 0):
        msg = f"`bandwidth_m` was {bandwidth_m!r} but must be a positive number of metres"
        raise InputError(msg)
    out = np.zeros(len(segments))
    if detention is None or not len(detention) or not len(segments):
        return out
    crs = segments.crs if segments.crs is not None and segments.crs.is_projected else analysis_crs(
        segments.to_crs(WGS84).total_bounds)  # fmt: skip
    seg = segments.geometry.to_crs(crs).to_numpy()
    det = detention.geometry.to_crs(crs).to_numpy()
    det = det[~shapely.is_missing(det) & ~shapely.is_empty(det)]
    ok = ~shapely.is_missing(seg) & ~shapely.is_empty(seg)
    if not len(det) or not ok.any():
        return out
    (si, _), dist = shapely.STRtree(det).query_nearest(seg[ok], return_distance=True, all_matches=False)
    d = np.full(int(ok.sum()), np.inf)
    d[si] = dist
    out[ok] = kernel_values(d, bandwidth_m, kernel)
    return out
