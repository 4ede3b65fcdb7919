"""Geometry of shelter siting: demand points on the routes, candidate sites, coverage and distance matrices.

Everything here works in the analysis CRS (metres) and is vectorised over demand points: the only Python loops
run over routes or over chosen sites, never over segments.

Distance "along the route" (``measure="route"``) between a candidate ``c`` and a demand point ``i`` on route
``r`` is ``|s_i - s_c,r| + o_c,r``: ``s_i`` is the distance of the segment midpoint from the start of route ``r``
measured along the route, ``s_c,r`` is the same measure at the point of route ``r`` nearest to ``c``
(linear referencing, :func:`shapely.line_locate_point`) and ``o_c,r`` is the straight-line distance from ``c`` to
route ``r`` (the walk from the town to the route). A route is its segments chained in ``seq`` order; a jump
between two consecutive segments counts with its straight-line length.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from .._errors import InputError

#: A candidate closer than this (km, straight line) to an existing shelter is the same site and is not proposed.
SAME_SITE_KM = 2.0


@dataclass
class Demand:
    """Demand points (segment midpoints) with their weights and positions along their route."""

    frame: gpd.GeoDataFrame  # the segments, projected, in input order
    weight: np.ndarray  # demand weight of each segment (>= 0)
    route: np.ndarray  # integer route code of each segment
    order: np.ndarray  # positions sorting the segments by (route, seq)
    start_m: np.ndarray  # along-route position of each segment's start (input order)
    length_m: np.ndarray  # projected length of each segment
    lines: np.ndarray  # one LineString per route code, the segments chained in seq order
    route_ids: np.ndarray  # route_id of each route code

    @property
    def mid_m(self) -> np.ndarray:
        """Along-route position of each segment's midpoint."""
        return self.start_m + self.length_m / 2.0

    @property
    def points(self) -> np.ndarray:
        """Midpoint of each segment (shapely Points)."""
        return shapely.line_interpolate_point(self.frame.geometry.to_numpy(), 0.5, normalized=True)


def build_demand(segments: gpd.GeoDataFrame, weight: np.ndarray) -> Demand:
    """Chain projected segments into routes and place each midpoint along its route."""
    geoms = shapely.line_merge(segments.geometry.to_numpy())
    n = len(geoms)
    if "route_id" in segments.columns:
        route_ids, route = np.unique(segments["route_id"].astype(str).to_numpy(), return_inverse=True)
    else:
        route_ids, route = np.array(["route"]), np.zeros(n, dtype=np.int64)
    seq = segments["seq"].to_numpy(dtype="float64") if "seq" in segments.columns else np.arange(n, dtype="float64")
    order = np.lexsort((np.arange(n), seq, route))
    g = geoms[order]
    length = shapely.length(g)
    coords, idx = shapely.get_coordinates(g, return_index=True)
    first = coords[np.searchsorted(idx, np.arange(n), side="left")]
    last = coords[np.searchsorted(idx, np.arange(n), side="right") - 1]
    r_sorted = route[order]
    same = np.r_[False, r_sorted[1:] == r_sorted[:-1]]
    jump = np.zeros(n)
    jump[1:] = np.hypot(*(first[1:] - last[:-1]).T)
    jump[~same] = 0.0
    step = np.cumsum(length + jump) - length  # start of each segment, counted from the first segment overall
    base = step[np.searchsorted(r_sorted, r_sorted, side="left")]  # start of the route's first segment
    start_sorted = step - base
    start = np.empty(n)
    start[order] = start_sorted
    length_in = np.empty(n)
    length_in[order] = length
    bounds = np.searchsorted(idx, np.searchsorted(r_sorted, np.arange(len(route_ids))))
    pieces = np.split(coords, bounds[1:])
    lines = np.array([shapely.linestrings(p) if len(p) > 1 else shapely.LineString() for p in pieces], dtype=object)
    return Demand(segments, np.asarray(weight, dtype="float64"), route, order, start, length_in, lines, route_ids)


def snap_pairs(demand: Demand, points: np.ndarray, reach_m: float | None) -> tuple[np.ndarray, ...]:
    """(point, route) pairs with the point within ``reach_m`` of the route, its along position and offset."""
    if reach_m is None:
        p_idx = np.repeat(np.arange(len(points)), len(demand.lines))
        r_idx = np.tile(np.arange(len(demand.lines)), len(points))
    else:
        tree = shapely.STRtree(demand.lines)
        p_idx, r_idx = tree.query(points, predicate="dwithin", distance=reach_m)
    offset = shapely.distance(points[p_idx], demand.lines[r_idx])
    along = shapely.line_locate_point(demand.lines[r_idx], points[p_idx])
    return p_idx, r_idx, along, offset


def straight_coverage(demand: Demand, points: np.ndarray, radius_m: float) -> sparse.csr_matrix:
    """Boolean sparse matrix (n_demand x n_points): point ``j`` within ``radius_m`` (straight line) of demand ``i``."""
    n, m = len(demand.weight), len(points)
    if m == 0:
        return sparse.csr_matrix((n, 0), dtype=bool)
    tree = shapely.STRtree(demand.points)
    p_idx, d_idx = tree.query(points, predicate="dwithin", distance=radius_m)
    return sparse.csr_matrix((np.ones(len(d_idx), dtype=bool), (d_idx, p_idx)), shape=(n, m))


def route_coverage(demand: Demand, points: np.ndarray, radius_m: float) -> sparse.csr_matrix:
    """Boolean sparse matrix (n_demand x n_points): point ``j`` within ``radius_m`` of demand ``i`` along the route
    (snap point + offset, see the module docstring)."""
    n, m = len(demand.weight), len(points)
    if m == 0:
        return sparse.csr_matrix((n, 0), dtype=bool)
    p_idx, r_idx, along, offset = snap_pairs(demand, points, radius_m)
    # demand sorted by (route, along); routes made disjoint on one axis so one searchsorted serves them all
    mid_sorted = demand.mid_m[demand.order]
    r_sorted = demand.route[demand.order]
    span = shapely.length(demand.lines)  # >= every position on the route
    shift = np.r_[0.0, np.cumsum(span + 4.0 * radius_m + 1.0)[:-1]]
    key = mid_sorted + shift[r_sorted]
    half = radius_m - offset
    lo = np.searchsorted(key, along - half + shift[r_idx] - 1e-6, side="left")
    hi = np.searchsorted(key, along + half + shift[r_idx] + 1e-6, side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    pos = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    d_idx = demand.order[pos]
    cols = np.repeat(p_idx, counts)
    # exact test against the definition (the 1e-6 slack above only guards the search against rounding)
    dist = np.abs(demand.mid_m[d_idx] - np.repeat(along, counts)) + np.repeat(offset, counts)
    keep = (dist <= radius_m) & (demand.route[d_idx] == np.repeat(r_idx, counts))
    return sparse.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (d_idx[keep], cols[keep])), shape=(n, m))


def straight_distances(demand: Demand, points: np.ndarray) -> np.ndarray:
    """Dense straight-line distances (n_demand x n_points), metres."""
    n, m = len(demand.weight), len(points)
    if m == 0:
        return np.empty((n, 0))
    a = shapely.get_coordinates(demand.points)
    b = shapely.get_coordinates(points)
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def route_distances(demand: Demand, points: np.ndarray) -> np.ndarray:
    """Dense distances along the route (n_demand x n_points), metres."""
    n, m = len(demand.weight), len(points)
    if m == 0:
        return np.empty((n, 0))
    p_idx, r_idx, along, offset = snap_pairs(demand, points, None)
    s = np.empty((len(demand.lines), m))
    o = np.empty((len(demand.lines), m))
    s[r_idx, p_idx] = along
    o[r_idx, p_idx] = offset
    return np.abs(demand.mid_m[:, None] - s[demand.route]) + o[demand.route]


def standardise_sites(sites: gpd.GeoDataFrame, what: str, id_prefix: str) -> gpd.GeoDataFrame:
    """``site_id, locality, state, geometry`` of candidate or existing sites (Points, CRS kept)."""
    if not isinstance(sites, gpd.GeoDataFrame):
        msg = f"`{what}` must be a GeoDataFrame of points, got {type(sites).__name__}"
        raise InputError(msg)
    if sites.crs is None:
        msg = f"`{what}` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`)"
        raise InputError(msg)
    geoms = sites.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms) | (shapely.get_type_id(geoms) != 0)
    if bad.any():
        rows = list(sites.index[bad][:5])
        msg = f"`{what}` must hold non-empty Point geometries; {int(bad.sum())} rows do not (first: {rows})"
        raise InputError(msg)

    def pick(*names: str, default: object = "") -> pd.Series:
        for name in names:
            if name in sites.columns:
                return sites[name].astype(object).where(sites[name].notna(), "").astype(str)
        return pd.Series([default] * len(sites), index=sites.index, dtype=object)

    ids = pick("site_id", "candidate_id", "locality_id", "shelter_id", "geonameid", "id", default=None)
    if ids.isna().all() or (ids == "None").all():
        ids = pd.Series([f"{id_prefix}{i}" for i in range(len(sites))], index=sites.index)
    out = gpd.GeoDataFrame(
        {
            "site_id": ids.to_numpy(),
            "locality": pick("locality", "name").to_numpy(),
            "state": pick("state", "state_name").to_numpy(),
        },
        geometry=np.asarray(geoms),
        crs=sites.crs,
    )
    return out.reset_index(drop=True)
