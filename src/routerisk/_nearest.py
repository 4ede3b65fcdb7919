"""The nearest gazetteer locality of each route segment (``nearest_locality`` in ``segments_ranked.csv``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .crs import MEXICO_CRS
from .gazetteer import load_localities

__all__ = ["nearest_locality"]


@functools.lru_cache(maxsize=1)
def _places() -> tuple[np.ndarray, shapely.STRtree, np.ndarray]:
    loc = load_localities().to_crs(MEXICO_CRS)
    labels = (loc["name"].astype(str) + ", " + loc["state_name"].astype(str)).to_numpy(dtype=object)
    pts = loc.geometry.to_numpy()
    return labels, shapely.STRtree(pts), pts


def nearest_locality(segments: Any) -> pd.Series:
    """``"Name, State"`` of the GeoNames locality (population >= 1000) nearest each segment's midpoint.

    Parameters
    ----------
    segments : GeoDataFrame
        Line segments (any CRS).

    Returns
    -------
    Series
        One label per segment (same index); empty text where a segment has no geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(-93.76, 16.10), (-93.74, 16.08)])], crs=4326)
    >>> nearest_locality(seg).tolist()
    ['Tonalá, Chiapas']
    """
    if not len(segments):
        return pd.Series([], index=segments.index, dtype=object)
    labels, tree, _ = _places()
    geoms = segments.geometry.to_crs(MEXICO_CRS).to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = np.full(len(geoms), "", dtype=object)
    if ok.any():
        mid = shapely.line_interpolate_point(geoms[ok], 0.5, normalized=True)
        src, nearest = tree.query_nearest(mid, return_distance=False, all_matches=False)
        out[np.flatnonzero(ok)[src]] = labels[nearest]
    return pd.Series(out, index=segments.index, dtype=object)
