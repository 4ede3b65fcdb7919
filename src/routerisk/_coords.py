"""Coordinates of the incident and segment layers in the analysis CRS (used by scoring and the surface)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ._engine_numba import chain_pieces
from .crs import PARALLEL_MIN, _pool, _transformer, in_pool, transform_xy_start
from .engine import segment_pieces
from .schema import WGS84

__all__: list[str] = []


def _wgs84_bounds(layer: gpd.GeoDataFrame):
    if len(layer) == 0:
        return None
    if layer.crs is not None and layer.crs.is_geographic:
        return tuple(layer.total_bounds)
    return tuple(layer.geometry.to_crs(WGS84).total_bounds)


def _project(zones, crs):
    if zones is None or len(zones) == 0:
        return zones
    return zones.to_crs(crs)


def _incident_lonlat(incidents) -> tuple[np.ndarray, np.ndarray, object] | None:
    """``(x, y, crs)`` of the incidents: a lon/lat table's columns (EPSG:4326) or the coordinates of Points.

    ``incidents`` is a GeoDataFrame of points or a table with float ``lon`` / ``lat`` columns (as from
    ``read_incidents(..., geometry=False)``). Missing and empty points give NaN. None when some geometry is not
    a Point (the caller then works on the geometries).
    """
    if not _is_lonlat_table(incidents):
        geoms = np.asarray(incidents.geometry.values, dtype=object)
        if len(geoms) < PARALLEL_MIN or in_pool():
            xy = _point_coordinates(geoms)
        else:  # two halves, one on the worker pool (GEOS reads release the GIL)
            half = len(geoms) // 2
            other = _pool().submit(_point_coordinates, geoms[half:])
            first = _point_coordinates(geoms[:half])
            second = other.result()
            xy = None if first is None or second is None else (np.concatenate([first[0], second[0]]),
                                                               np.concatenate([first[1], second[1]]))
        return None if xy is None else (*xy, incidents.crs)
    x = pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    y = pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(x) | np.isnan(y)
    if missing.any():
        x, y = np.where(missing, np.nan, x), np.where(missing, np.nan, y)
    return x, y, CRS.from_user_input(WGS84)


def _point_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x, y)`` of Points, NaN for missing or empty ones; None when some geometry is not a Point."""
    if len(geoms) == 0:
        return np.empty(0), np.empty(0)
    type_id = shapely.get_type_id(geoms)
    if not np.all((type_id == shapely.GeometryType.POINT) | (type_id == shapely.GeometryType.MISSING)):
        return None
    try:  # no empty Point (the usual case): two passes, NaN for a missing geometry
        return shapely.get_x(geoms), shapely.get_y(geoms)
    except shapely.errors.GEOSException:  # GEOS refuses the coordinates of an empty Point
        valid = (type_id == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)
        x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        x[valid], y[valid] = shapely.get_x(geoms[valid]), shapely.get_y(geoms[valid])
        return x, y


def transform_needed(src, dst) -> bool:
    """False when ``src`` and ``dst`` are exactly the same CRS (cached with the Transformer)."""
    return _transformer(src, dst) is not None


def _is_lonlat_table(incidents) -> bool:
    """True for a table of incidents with ``lon`` / ``lat`` columns and no active geometry."""
    if isinstance(incidents, gpd.GeoDataFrame) and incidents._geometry_column_name in incidents.columns:
        return False
    return "lon" in incidents and "lat" in incidents


def _projected_point_xy(incidents, crs) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(x, y, valid)`` of point incidents in ``crs``, or None when some geometry is not a Point.

    The coordinates are projected with a pyproj Transformer (the values ``GeoSeries.to_crs`` gives, bit for bit)
    instead of building a projected copy of every Point; missing and empty points get NaN and ``valid = False``.
    """
    pending = _projected_point_xy_start(incidents, crs)
    return None if pending is None else pending()


def _projected_point_xy_start(incidents, crs):
    """:func:`_projected_point_xy` in two steps: the coordinates are read now and projected on the worker pool;
    the returned function waits and gives ``(x, y, valid)``. None when some geometry is not a Point."""
    lonlat = _incident_lonlat(incidents)
    if lonlat is None:
        return None
    x, y, src = lonlat
    valid = ~np.isnan(x)
    if not (len(x) and src is not None and transform_needed(src, crs)):
        return lambda: (x, y, valid)
    wait = transform_xy_start(src, crs, x, y)

    def finish():
        px, py = wait()
        if not valid.all():
            px, py = np.where(valid, px, np.nan), np.where(valid, py, np.nan)
        return px, py, valid

    return finish


def _point_xy(geoms: np.ndarray) -> np.ndarray:
    """Coordinates of point geometries (centroids of anything else)."""
    if len(geoms) == 0:
        return np.empty((0, 2))
    if np.all(shapely.get_type_id(geoms) == shapely.GeometryType.POINT):
        return shapely.get_coordinates(geoms)
    return shapely.get_coordinates(shapely.centroid(geoms))


def _transform_chained(src, dst, coords: np.ndarray) -> np.ndarray:
    """``coords`` (n x 2) transformed, each run of repeated coordinates once (chained segments share their ends).

    A coordinate equal to the previous one is copied from its projection: the same input gives the same output,
    so the values are those of transforming every row.
    """
    return _transform_chained_start(src, dst, coords)()


def _transform_chained_start(src, dst, coords: np.ndarray):
    """:func:`_transform_chained` started on the worker pool; the returned function waits and gives the array."""
    coords = np.ascontiguousarray(coords, dtype=np.float64)
    bits = coords.view(np.int64)  # compare bit patterns: -0.0 and 0.0 stay apart, as two inputs of PROJ
    repeat = np.zeros(len(coords), dtype=bool)
    if len(coords) > 1:
        repeat[1:] = (bits[1:, 0] == bits[:-1, 0]) & (bits[1:, 1] == bits[:-1, 1])
    if not repeat.any():
        wait = transform_xy_start(src, dst, coords[:, 0], coords[:, 1])
        return lambda: np.column_stack(wait())
    first = np.flatnonzero(~repeat)  # the first row of each run
    wait = transform_xy_start(src, dst, coords[first, 0], coords[first, 1])

    def finish():
        x, y = wait()
        run = np.cumsum(~repeat) - 1  # the run of each row
        return np.column_stack([x[run], y[run]])

    return finish


class ProjectedSegments:
    """Segments in the analysis CRS: their 2-vertex pieces and lengths from ONE transform of their coordinates.

    When every geometry is a 2-D LineString (what :func:`routerisk.segmentize` writes), the coordinates are read
    in one vectorised call, projected with one pyproj transform (the values ``GeoSeries.to_crs`` gives, bit for
    bit) and the lengths are summed piece by piece in order (GEOS's arithmetic); the projected geometries are
    made only when asked for (:attr:`geoms`, e.g. for zones). Anything else goes through ``to_crs`` first.
    """

    def __init__(self, segments, crs) -> None:
        self._begin(segments, crs)
        self._end()

    @classmethod
    def start(cls, segments, crs):
        """Read the coordinates now and project them on routerisk's worker pool; the returned function waits and
        gives the :class:`ProjectedSegments` (the calling thread is free meanwhile)."""
        self = cls.__new__(cls)
        self._begin(segments, crs)

        def finish():
            if self._pending is not None:
                self._end()
            return self

        return finish

    def _begin(self, segments, crs) -> None:
        dst = CRS.from_user_input(crs)
        raw = np.asarray(segments.geometry.values, dtype=object)
        self.n = len(raw)
        self.raw = raw
        self._geoms = None
        self._source = (segments.geometry, dst)
        self._pending = None  # a function giving the projected coordinates; None: through to_crs
        simple = self.n > 0 and bool(np.all(shapely.get_type_id(raw) == shapely.GeometryType.LINESTRING))
        if simple and not shapely.has_z(raw).any() and segments.crs is not None:
            coords, self._coord_of = shapely.get_coordinates(raw, return_index=True)
            if transform_needed(segments.crs, dst):
                self._pending = _transform_chained_start(segments.crs, dst, coords)
            else:
                self._pending = lambda: coords
        else:
            self._pending = False

    def _end(self) -> None:
        pending, self._pending = self._pending, None
        if pending is False:
            self._geoms = self.geoms
            self.xy0, self.xy1, self.piece_segment = segment_pieces(self._geoms)
            self.length = shapely.length(self._geoms)
            return
        coords = np.ascontiguousarray(pending(), dtype=np.float64)
        # one compiled pass: pieces between consecutive coordinates of a geometry, lengths summed in order
        self.xy0, self.xy1, self.piece_segment, self.length = chain_pieces(
            coords, np.ascontiguousarray(self._coord_of, dtype=np.int64), self.n)

    @property
    def pieces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.xy0, self.xy1, self.piece_segment

    @property
    def geoms(self) -> np.ndarray:
        """The projected geometries (``to_crs``, on first use)."""
        if self._geoms is None:
            series, dst = self._source
            self._geoms = np.asarray(series.to_crs(dst).values, dtype=object)
        return self._geoms
