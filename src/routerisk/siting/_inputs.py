"""Checks of the siting inputs and options, and the gazetteer candidates."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from .. import gazetteer
from .._errors import ConfigError, InputError, SolverError
from .._zone_exclusion import excludable_zones
from ..crs import analysis_crs

__all__ = ["check_choice", "check_segments", "exclusions", "gazetteer_candidates", "positive", "shelters_only"]


def shelters_only(table: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The rows of a shelters layer that cover demand: ``kind == "shelter"`` (asylum offices are not shelters);
    a layer without ``kind`` is kept whole.

    Examples
    --------
    >>> from shapely import Point
    >>> s = gpd.GeoDataFrame({"kind": ["shelter", "asylum_office"]}, geometry=[Point(0, 0)] * 2, crs=4326)
    >>> len(shelters_only(s))
    1
    """
    if table is None or "kind" not in table.columns:
        return table
    return table[table["kind"].astype(str) == "shelter"]


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        msg = f"`{name}` was {value!r} but must be one of {tuple(allowed)}"
        raise ConfigError(msg)
    return str(value)


def positive(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0:
        msg = f"`{name}` was {value!r} but must be a positive number"
        raise ConfigError(msg)
    return v


def check_segments(segments: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(segments, gpd.GeoDataFrame):
        msg = f"`segments` must be a GeoDataFrame of LineStrings, got {type(segments).__name__}"
        raise InputError(msg)
    if segments.crs is None:
        msg = "`segments` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`)"
        raise InputError(msg)
    if len(segments) == 0:
        msg = "`segments` is empty: there is no route to site shelters on"
        raise InputError(msg)
    geoms = segments.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), [1, 5])
    if bad.any():
        msg = f"`segments` must hold LineStrings; {int(bad.sum())} rows do not (first: {list(segments.index[bad][:5])})"
        raise InputError(msg)
    return segments


def exclusions(exclude: object) -> tuple[list[gpd.GeoDataFrame], list[str]]:
    if exclude is None:
        return [], []
    if isinstance(exclude, (gpd.GeoDataFrame, gpd.GeoSeries, str)):
        exclude = [exclude]
    zones, names = [], []
    for item in exclude:  # type: ignore[union-attr]
        if isinstance(item, gpd.GeoSeries):
            item = item.to_frame("geometry")
        if isinstance(item, gpd.GeoDataFrame):
            if item.crs is None:
                msg = "`exclude` zones have no CRS; set one (e.g. `.set_crs('EPSG:4326')`)"
                raise InputError(msg)
            zones.append(excludable_zones(item))  # places, not state-wide deployments (routerisk._zone_exclusion)
        elif isinstance(item, str):
            names.extend(n for n in (s.strip() for s in item.split(",")) if n)
        else:
            msg = f"`exclude` items must be zone GeoDataFrames or town names, got {type(item).__name__}"
            raise InputError(msg)
    return zones, names


def gazetteer_candidates(segments: gpd.GeoDataFrame, distance_km: float, crs: str) -> gpd.GeoDataFrame:
    """Shipped GeoNames localities within ``distance_km`` (straight line) of any segment."""
    loc = gazetteer.load_localities()
    if not isinstance(loc, gpd.GeoDataFrame):
        loc = gpd.GeoDataFrame(loc, geometry=gpd.points_from_xy(loc["lon"], loc["lat"]), crs="EPSG:4326")
    if loc.crs is None:
        loc = loc.set_crs("EPSG:4326")
    target = analysis_crs(segments.to_crs("EPSG:4326").total_bounds, crs)
    seg = segments.to_crs(target).geometry.to_numpy()
    pts = loc.to_crs(target).geometry.to_numpy()
    hit, _ = shapely.STRtree(seg).query(pts, predicate="dwithin", distance=distance_km * 1000.0)
    out = loc.iloc[np.unique(hit)].reset_index(drop=True)
    if len(out) == 0:
        msg = f"no candidate within reach: no gazetteer locality lies within {distance_km:g} km of the routes"
        raise SolverError(msg)
    return out
