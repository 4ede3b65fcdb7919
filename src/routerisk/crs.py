"""Coordinate reference systems: the analysis CRS and the check where two layers meet."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from pyproj import CRS

from ._errors import ConfigError, CRSMismatchError

__all__ = ["MEXICO_BOUNDS", "MEXICO_CRS", "analysis_crs", "check_same_crs"]

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
        return CRS.from_user_input(MEXICO_CRS)
    w, s, e, n = bounds
    mw, ms, me, mn = MEXICO_BOUNDS
    if w >= mw and s >= ms and e <= me and n <= mn:
        return CRS.from_user_input(MEXICO_CRS)
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
