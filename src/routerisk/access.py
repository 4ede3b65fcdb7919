"""Access to protection along the network: distance to the nearest asylum office and shelter, and what lies between.

For every segment, its midpoint node (:func:`routerisk.network.route_network`) is the reference point:

- ``asylum_office_km``: network distance to the nearest asylum office (``kind == "asylum_office"``),
- ``shelter_km``: network distance to the nearest shelter (``kind == "shelter"``),
- ``passes_enforcement``: whether the shortest way to that asylum office touches an active enforcement zone (in
  the model's window, as for the enforcement term) or comes within ``detention_radius_m`` of a detention site,
  the segment's own midpoint and the office's node included.

A facility is attached to its nearest node (ArcGIS Closest Facility's "snap"); the straight-line distance from
the facility to that node is added to its network distances, and a facility farther than ``max_snap_m`` from
every node is left out (counted in ``attrs``). All segments are computed in one multi-source Dijkstra
(``scipy.sparse.csgraph.dijkstra`` from a virtual source joined to every facility by its snap distance); whether a
shortest way passes an enforcement zone is read along the tree of predecessors by pointer jumping (``log2`` of its
depth vectorised steps).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ._errors import InputError
from .model import RiskModel
from .network import edge_table

__all__ = ["ACCESS_COLUMNS", "DEFAULT_DETENTION_RADIUS_M", "NetworkArrays", "access_gaps", "facility_distances",
           "protection_access"]  # fmt: skip

#: Columns added per segment by :func:`protection_access`.
ACCESS_COLUMNS = ("asylum_office_km", "shelter_km", "passes_enforcement")
#: Radius (m) around a detention site within which a way "passes" it.
DEFAULT_DETENTION_RADIUS_M = 5_000.0
#: Facilities farther than this from every node are left out.
MAX_SNAP_M = 25_000.0


class NetworkArrays:
    """A graph as arrays, built once: node coordinates, undirected edges, the shortest edge of each node pair.

    Reading a networkx graph into arrays costs about 1 s per 100,000 edges; build this once and pass it to
    :func:`protection_access` and :func:`facility_distances` in place of the graph to compute many times.

    Examples
    --------
    >>> from shapely import LineString
    >>> from routerisk.network import route_network
    >>> arr = NetworkArrays(route_network(gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10, 0)])], crs=6372)))
    >>> arr.n, arr.mid_segment
    (3, ['0'])
    """

    def __init__(self, graph: Any) -> None:
        self.nodes, self.edges = edge_table(graph)
        self.crs = graph.graph.get("crs")
        data = [graph.nodes[n] for n in self.nodes]
        self.x = np.array([d["x"] for d in data], dtype=float)
        self.y = np.array([d["y"] for d in data], dtype=float)
        e = self.edges.sort_values("length", kind="stable")
        pair = pd.DataFrame({"a": np.minimum(e["u"], e["v"]), "b": np.maximum(e["u"], e["v"])})
        self.best = e[~pair.duplicated().to_numpy()]  # the shortest edge of every node pair
        self.n = len(self.nodes)
        self.mid = np.array([i for i, d in enumerate(data) if d.get("kind") == "mid"], dtype=np.int64)
        self.mid_segment = [data[i]["segment_id"] for i in self.mid]


def _csr(arr: NetworkArrays, extra_u=(), extra_v=(), extra_w=(), size: int | None = None) -> csr_matrix:
    u, v, w = arr.best["u"].to_numpy(), arr.best["v"].to_numpy(), arr.best["length"].to_numpy()
    rows = np.r_[u, v, np.asarray(extra_u, dtype=np.int64)]
    cols = np.r_[v, u, np.asarray(extra_v, dtype=np.int64)]
    data = np.r_[w, w, np.asarray(extra_w, dtype=float)]
    size = size or arr.n
    # a sparse matrix sums duplicate entries (two facilities snapped to one node, parallel links): keep the shortest
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    rows, cols, data = rows[first], cols[first], data[first]
    # csgraph reads a stored zero as "no edge": a zero-length edge becomes the smallest positive double
    return csr_matrix((np.maximum(data, np.finfo(float).tiny), (rows, cols)), shape=(size, size))


def _snap(arr: NetworkArrays, points: gpd.GeoSeries, max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of every point (in the graph's CRS) and the distance to it; NaN offset when too far."""
    if len(points) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    pts = points.to_crs(arr.crs) if arr.crs is not None and points.crs is not None else points
    xy = shapely.get_coordinates(shapely.centroid(pts.to_numpy()))
    dist, near = cKDTree(np.column_stack([arr.x, arr.y])).query(xy)
    return near.astype(np.int64), np.where(dist <= max_snap_m, dist, np.nan)


#: Nodes within this distance (m) of a facility's nearest node distance are all "nearest" (a tie).
SNAP_TIE_M = 1e-6


def _snap_ties(arr: NetworkArrays, points: gpd.GeoSeries, max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Every node at the nearest distance of each point, within :data:`SNAP_TIE_M` (ties: e.g. the coincident mid
    nodes of two corridors drawn along one road), and that distance; points farther than ``max_snap_m`` from every
    node are left out."""
    near, off = _snap(arr, points, max_snap_m)
    ok = np.flatnonzero(np.isfinite(off))
    if len(ok) == 0:
        return near[ok], off[ok]
    pts = points.to_crs(arr.crs) if arr.crs is not None and points.crs is not None else points
    pxy = shapely.get_coordinates(shapely.centroid(pts.to_numpy()))[ok]
    groups = cKDTree(np.column_stack([arr.x, arr.y])).query_ball_point(pxy, r=off[ok] + SNAP_TIE_M)
    cand = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    which = np.repeat(np.arange(len(ok)), [len(g) for g in groups])
    d = np.hypot(arr.x[cand] - pxy[which, 0], arr.y[cand] - pxy[which, 1])
    tie = d <= off[ok][which] + SNAP_TIE_M
    return cand[tie], d[tie]


def facility_distances(graph: Any, facilities: gpd.GeoDataFrame, *, max_snap_m: float = MAX_SNAP_M):
    """Network distance (m) from every node to the nearest facility, and the predecessor tree of those ways.

    Parameters
    ----------
    graph : networkx graph
        osmnx-style graph (nodes ``x``/``y`` in ``graph.graph["crs"]``, edges with ``length``).
    facilities : geopandas.GeoDataFrame
        Points (any CRS); each is attached to its nearest node, its distance to it added (to every nearest node
        when several tie, e.g. the coincident nodes of two corridors along one road).
    max_snap_m : float
        Facilities farther from every node are left out.

    Returns
    -------
    nodes : list
        Node ids (the order of the arrays).
    dist : numpy.ndarray
        Distance in metres (``inf`` where no facility is reachable).
    pred : numpy.ndarray of int
        Next node towards the nearest facility (``-1`` at a facility's node, ``-9999`` when unreachable).

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> from routerisk.network import route_network
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (4000, 0)])], crs="EPSG:6372")
    >>> fac = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:6372")
    >>> nodes, d, _ = facility_distances(route_network(seg), fac)
    >>> sorted(d.tolist())
    [0.0, 2000.0, 4000.0]
    """
    arr = graph if isinstance(graph, NetworkArrays) else NetworkArrays(graph)
    near, off = _snap_ties(arr, facilities.geometry, max_snap_m)
    src = arr.n
    g = _csr(arr, np.full(len(near), src), near, off, size=arr.n + 1)
    dist, pred = dijkstra(g, directed=True, indices=src, return_predecessors=True)
    dist, pred = dist[: arr.n], pred[: arr.n].copy()
    tiny = np.finfo(float).tiny
    dist = np.where(dist < 1e3 * tiny, 0.0, dist)  # zero snap offsets stored as the smallest double
    pred[pred == src] = -1
    return arr.nodes, dist, pred


def _flags(arr: NetworkArrays, zones: gpd.GeoDataFrame | None, detention: gpd.GeoDataFrame | None, model: RiskModel,
           radius_m: float) -> tuple[np.ndarray, dict[tuple[int, int], bool]]:  # fmt: skip
    """Whether each node lies in a zone, and each node pair's shortest edge touches one."""
    areas = []
    if zones is not None and len(zones):
        z = zones[_active(zones, model)]
        zg = z.geometry.to_crs(arr.crs).to_numpy() if arr.crs is not None else z.geometry.to_numpy()
        if "radius_m" in z:
            r = pd.to_numeric(z["radius_m"], errors="coerce").to_numpy(dtype=float)
            pt = (shapely.get_type_id(zg) == 0) & np.isfinite(r) & (r > 0)
            zg = np.where(pt, shapely.buffer(zg, np.where(pt, r, 0.0), quad_segs=16), zg)
        areas.append(zg)
    if detention is not None and len(detention):
        dg = detention.geometry.to_crs(arr.crs).to_numpy() if arr.crs is not None else detention.geometry.to_numpy()
        areas.append(shapely.buffer(dg, radius_m, quad_segs=16))
    node_flag = np.zeros(arr.n, dtype=bool)
    edge_flag = np.zeros(len(arr.best), dtype=bool)
    if areas:
        allz = np.concatenate(areas)
        allz = allz[~shapely.is_missing(allz) & ~shapely.is_empty(allz)]
        tree = shapely.STRtree(allz)
        hit_n = tree.query(shapely.points(arr.x, arr.y), predicate="intersects")[0]
        node_flag[hit_n] = True
        hit_e = tree.query(np.asarray(arr.best["geometry"].to_numpy(), dtype=object), predicate="intersects")[0]
        edge_flag[hit_e] = True
    return node_flag, edge_flag


def _active(zones: pd.DataFrame, model: RiskModel) -> np.ndarray:
    """Zones active at some time in the model's window (all when no window is set)."""
    ok = np.ones(len(zones), dtype=bool)
    if model.window_end is not None and "start_date" in zones:
        s = pd.to_datetime(zones["start_date"], errors="coerce")
        ok &= (s.isna() | (s <= pd.Timestamp(model.window_end))).to_numpy()
    if model.window_start is not None and "end_date" in zones:
        e = pd.to_datetime(zones["end_date"], errors="coerce")
        ok &= (e.isna() | (e >= pd.Timestamp(model.window_start))).to_numpy()
    return ok


def _passes(arr: NetworkArrays, pred: np.ndarray, node_flag: np.ndarray, edge_flag: np.ndarray) -> np.ndarray:
    """Whether the way from each node along ``pred`` to the root touches a flagged node or edge (pointer jumping)."""
    u, v = arr.best["u"].to_numpy(), arr.best["v"].to_numpy()
    key = np.minimum(u, v) * arr.n + np.maximum(u, v)
    order = np.argsort(key)
    has = pred >= 0
    me = np.flatnonzero(has)
    k = np.minimum(me, pred[me]) * arr.n + np.maximum(me, pred[me])
    flag = node_flag.copy()
    flag[me] |= edge_flag[order[np.searchsorted(key[order], k)]]
    jump = np.where(has, pred, np.arange(arr.n))
    while True:  # after step j, flag covers the first 2**j edges of each way
        flag |= flag[jump]
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            return flag
        jump = nxt


def protection_access(
    graph: Any,
    shelters: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    detention: gpd.GeoDataFrame | None = None,
    model: RiskModel | None = None,
    detention_radius_m: float = DEFAULT_DETENTION_RADIUS_M,
    max_snap_m: float = MAX_SNAP_M,
) -> pd.DataFrame:
    """Per segment: network km to the nearest asylum office and shelter, and whether the way passes enforcement.

    Parameters
    ----------
    graph : networkx.MultiDiGraph or NetworkArrays
        A :func:`routerisk.network.route_network` graph (its ``mid`` nodes name the segments), or its arrays.
    shelters : geopandas.GeoDataFrame
        The shelters layer (``kind``: ``shelter`` or ``asylum_office``).
    zones : geopandas.GeoDataFrame, optional
        Enforcement zones (Polygons, or Points with ``radius_m``); only those active in ``model``'s window count.
    detention : geopandas.GeoDataFrame, optional
        Detention sites (Points), counted within ``detention_radius_m``.
    model : RiskModel, optional
        Gives the window of the active zones.
    detention_radius_m, max_snap_m : float

    Returns
    -------
    pandas.DataFrame
        ``segment_id`` and :data:`ACCESS_COLUMNS` (``inf`` km where none is reachable); ``attrs`` count the
        facilities used and left out.

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> from routerisk.network import route_network
    >>> seg = gpd.GeoDataFrame({"segment_id": ["a", "b"]}, crs="EPSG:6372",
    ...     geometry=[LineString([(0, 0), (4000, 0)]), LineString([(4000, 0), (8000, 0)])])
    >>> sh = gpd.GeoDataFrame({"kind": ["asylum_office", "shelter"]}, crs="EPSG:6372",
    ...     geometry=[Point(0, 0), Point(8000, 0)])
    >>> protection_access(route_network(seg), sh)[["asylum_office_km", "shelter_km"]].values.tolist()
    [[2.0, 6.0], [6.0, 2.0]]
    """
    model = model or RiskModel()
    if "kind" not in shelters:
        msg = "`shelters` needs a `kind` column (shelter | asylum_office)"
        raise InputError(msg)
    arr = graph if isinstance(graph, NetworkArrays) else NetworkArrays(graph)
    mids = arr.mid
    out = pd.DataFrame({"segment_id": arr.mid_segment})
    kind = shelters["kind"].astype(str).to_numpy()
    node_flag, edge_flag = _flags(arr, zones, detention, model, detention_radius_m)
    attrs = {}
    for col, k in (("asylum_office_km", "asylum_office"), ("shelter_km", "shelter")):
        fac = shelters[kind == k]
        _, dist, pred = facility_distances(arr, fac, max_snap_m=max_snap_m)
        out[col] = dist[mids] / 1000.0
        attrs[f"n_{k}"] = len(fac)
        attrs[f"n_{k}_off_network"] = int((~np.isfinite(_snap(arr, fac.geometry, max_snap_m)[1])).sum())
        if k == "asylum_office":
            out["passes_enforcement"] = _passes(arr, pred, node_flag, edge_flag)[mids] & np.isfinite(dist[mids])
    out = out[["segment_id", *ACCESS_COLUMNS]]
    out.attrs["routerisk_access"] = attrs
    return out


def access_gaps(segments: pd.DataFrame, max_km: float) -> pd.DataFrame:
    """Stretches of consecutive segments with no asylum office or no shelter within ``max_km`` along the network.

    Parameters
    ----------
    segments : pandas.DataFrame
        ``segment_id``, ``route_id``, ``seq``, ``length_m`` and the access columns.
    max_km : float
        Distance the user considers reachable.

    Returns
    -------
    pandas.DataFrame
        One row per stretch: ``route_id``, ``lacks`` (``asylum_office``, ``shelter`` or ``both``),
        ``first_segment``, ``last_segment``, ``n_segments``, ``length_km``, ``max_asylum_office_km``,
        ``max_shelter_km``.

    Examples
    --------
    >>> t = pd.DataFrame({"segment_id": ["a:0", "a:1", "a:2"], "route_id": "a", "seq": [0, 1, 2],
    ...     "length_m": 5000.0, "asylum_office_km": [10.0, 120.0, 130.0], "shelter_km": [1.0, 2.0, 3.0]})
    >>> access_gaps(t, 100)[["first_segment", "last_segment", "lacks"]].values.tolist()
    [['a:1', 'a:2', 'asylum_office']]
    """
    if not (np.isfinite(max_km) and max_km > 0):
        msg = f"`max_km` was {max_km!r} but must be a positive number of km"
        raise InputError(msg)
    t = pd.DataFrame(segments).sort_values(["route_id", "seq"], kind="stable")
    no_office = (t["asylum_office_km"] > max_km).to_numpy()
    no_shelter = (t["shelter_km"] > max_km).to_numpy()
    lacks = np.where(no_office & no_shelter, "both", np.where(no_office, "asylum_office",
                                                              np.where(no_shelter, "shelter", "")))  # fmt: skip
    rid = t["route_id"].to_numpy()
    brk = np.r_[True, (lacks[1:] != lacks[:-1]) | (rid[1:] != rid[:-1])]
    run = np.cumsum(brk)
    t = t.assign(_lacks=lacks, _run=run)
    t = t[t["_lacks"] != ""]
    cols = ["route_id", "lacks", "first_segment", "last_segment", "n_segments", "length_km", "max_asylum_office_km",
            "max_shelter_km"]  # fmt: skip
    if t.empty:
        return pd.DataFrame(columns=cols)
    g = t.groupby("_run", sort=True)
    out = pd.DataFrame({
        "route_id": g["route_id"].first(), "lacks": g["_lacks"].first(), "first_segment": g["segment_id"].first(),
        "last_segment": g["segment_id"].last(), "n_segments": g.size(), "length_km": g["length_m"].sum() / 1000.0,
        "max_asylum_office_km": g["asylum_office_km"].max(), "max_shelter_km": g["shelter_km"].max(),
    })  # fmt: skip
    return out[cols].sort_values("length_km", ascending=False, kind="stable").reset_index(drop=True)
