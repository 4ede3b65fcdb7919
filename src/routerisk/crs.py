"""Coordinate reference systems: the analysis CRS and the check where two layers meet."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from ._errors import ConfigError, CRSMismatchError

__all__ = ["MEXICO_BOUNDS", "MEXICO_CRS", "analysis_crs", "check_same_crs", "transform_xy"]

#: Mexico ITRF2008 / LCC, metres; the default analysis CRS for data inside Mexico's extent.
MEXICO_CRS = "EPSG:6372"
#: Lon/lat box (west, south, east, north) inside which :data:`MEXICO_CRS` is used, with a margin for the US border.
MEXICO_BOUNDS = (-118.6, 14.0, -86.0, 33.5)


def analysis_crs(bounds: Sequence[float] | None = None, crs: str = "auto") -> CRS:
    """Choose the projected CRS, in metres, in which distances are computed.

    Parameters
    ----------
    bounds : sequence of float, optional
        ``(west, south, east, north)`` in degrees (EPSG:4326) of all the data.
    crs : str, default "auto"
        ``"auto"`` chooses EPSG:6372 when ``bounds`` lie inside Mexico's extent and a local azimuthal
        equidistant projection centred on the data otherwise; any other value is used as given and must be
        a projected CRS in metres.

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> analysis_crs((-99.5, 19.0, -98.9, 19.7)).to_epsg()
    6372
    """
    if crs == MEXICO_CRS:
        return _mexico_crs()
    if crs != "auto":
        try:
            out = CRS.from_user_input(crs)
        except Exception as exc:  # pyproj raises its own CRSError with a long text
            msg = f"`crs` was {crs!r}, which is not a coordinate reference system pyproj knows"
            raise ConfigError(msg) from exc
        if not out.is_projected or out.axis_info[0].unit_name not in ("metre", "meter"):
            msg = f"`crs` was {crs!r} but must be a projected CRS in metres (distances are computed in it)"
            raise ConfigError(msg)
        return out
    if bounds is None or not np.all(np.isfinite(bounds)):
        return _mexico_crs()
    w, s, e, n = bounds
    mw, ms, me, mn = MEXICO_BOUNDS
    if w >= mw and s >= ms and e <= me and n <= mn:
        return _mexico_crs()
    lon0, lat0 = (w + e) / 2.0, (s + n) / 2.0
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")


def check_same_crs(*layers: tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]) -> None:
    """Raise :class:`CRSMismatchError` unless every named layer has the same, defined CRS.

    Parameters
    ----------
    *layers : (name, GeoDataFrame) pairs
        The layers that meet, each with the name used in the message.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> a = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:4326")
    >>> check_same_crs(("a", a), ("b", a))
    """
    named = [(name, layer.crs) for name, layer in layers]
    for name, layer_crs in named:
        if layer_crs is None:
            msg = f"layer `{name}` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`) before joining"
            raise CRSMismatchError(msg)
    first_name, first = named[0]
    for name, layer_crs in named[1:]:
        if layer_crs != first:
            msg = (
                f"layers `{first_name}` and `{name}` have different CRSs: {first.to_string()} vs "
                f"{layer_crs.to_string()}; reproject one with `.to_crs(...)`"
            )
            raise CRSMismatchError(msg)


@functools.lru_cache(maxsize=1)
def _mexico_crs() -> CRS:
    """:data:`MEXICO_CRS` as a pyproj CRS, built once (CRS objects are immutable)."""
    return CRS.from_user_input(MEXICO_CRS)


#: Transformers by (source, target) CRS, each built once per process (building one costs milliseconds).
_TRANSFORMERS: dict[tuple[str, str], Transformer | None] = {}
_TRANSFORMERS_MAX = 32
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_POOL_PREFIX = "routerisk-pool"
#: Arrays of at least this many coordinates are transformed in two halves on two threads.
PARALLEL_MIN = 20_000


def _crs_key(crs: CRS) -> str:
    # `srs` is the input the CRS was built from, so equal strings are the same CRS
    return crs.srs or crs.to_wkt()


def _transformer(src, dst) -> Transformer | None:
    """The always-xy Transformer from ``src`` to ``dst`` (cached), or None when the two are exactly the same CRS.

    pyproj >= 3.1 Transformers are thread-safe (each thread gets its own PROJ object), so one cached instance
    serves every thread.
    """
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    key = (_crs_key(src), _crs_key(dst))
    try:
        return _TRANSFORMERS[key]
    except KeyError:
        pass
    tr = None if src.is_exact_same(dst) else Transformer.from_crs(src, dst, always_xy=True)
    if len(_TRANSFORMERS) >= _TRANSFORMERS_MAX:
        _TRANSFORMERS.clear()
    _TRANSFORMERS[key] = tr  # two threads may both build one: either serves
    return tr


def _reset_after_fork() -> None:
    """A forked child has none of the parent's threads: it makes its own pool (and Transformers) on first use."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()
    _TRANSFORMERS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _pool() -> ThreadPoolExecutor:
    global _POOL  # one small pool per process, made on first use
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix=_POOL_PREFIX)
        return _POOL


def transform_xy(src, dst, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``x, y`` (always x = easting/longitude first) transformed from CRS ``src`` to ``dst``.

    The values of ``Transformer.from_crs(src, dst, always_xy=True).transform(x, y)`` (what ``GeoSeries.to_crs``
    gives), bit for bit: the Transformer is built once per pair of CRSs, and an array of at least
    :data:`PARALLEL_MIN` coordinates is transformed in two halves on two threads (PROJ releases the GIL).
    The input arrays are not modified; the same CRS returns float64 copies.

    Parameters
    ----------
    src, dst : pyproj.CRS or anything ``CRS.from_user_input`` accepts
    x, y : array-like of float

    Returns
    -------
    x, y : numpy.ndarray of float64

    Examples
    --------
    >>> x, y = transform_xy("EPSG:4326", "EPSG:3857", [0.0, 180.0], [0.0, 0.0])
    >>> x.round(1).tolist(), y.tolist()
    ([0.0, 20037508.3], [0.0, 0.0])
    """
    x = np.array(x, dtype=np.float64, copy=True).reshape(-1)
    y = np.array(y, dtype=np.float64, copy=True).reshape(-1)
    tr = _transformer(src, dst)
    if tr is None or len(x) == 0:
        return x, y
    if len(x) < PARALLEL_MIN or in_pool():  # a pool thread does not wait on the pool
        tr.transform(x, y, inplace=True)
        return x, y
    half = len(x) // 2
    # in place on the two halves of the copies (views share their memory); each thread its own PROJ context
    other = _pool().submit(tr.transform, x[half:], y[half:], inplace=True)
    tr.transform(x[:half], y[:half], inplace=True)
    other.result()
    return x, y


def transform_xy_start(src, dst, x, y):
    """Start :func:`transform_xy` on the worker pool; return a function that waits and returns ``(x, y)``.

    The caller's thread is free meanwhile (for work that holds the GIL). Small arrays, the same CRS or a call
    from a pool thread are transformed at once.
    """
    x = np.array(x, dtype=np.float64, copy=True).reshape(-1)
    y = np.array(y, dtype=np.float64, copy=True).reshape(-1)
    tr = _transformer(src, dst)
    if tr is None or len(x) == 0 or len(x) < PARALLEL_MIN or in_pool():
        if tr is not None and len(x):
            tr.transform(x, y, inplace=True)
        return lambda: (x, y)
    half = len(x) // 2
    futures = [_pool().submit(tr.transform, x[sl], y[sl], inplace=True) for sl in (slice(0, half), slice(half, None))]

    def wait():
        for f in futures:
            f.result()
        return x, y

    return wait


def in_pool() -> bool:
    """True in a thread of routerisk's small worker pool (which must not wait on the pool itself)."""
    return threading.current_thread().name.startswith(_POOL_PREFIX)
