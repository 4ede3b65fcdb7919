"""Network kernel density estimation (NKDE) on lixels, with the three methods of spNetwork.

The network is cut into *lixels* (pieces of ``lixel_m`` along every edge, the last one of an edge shorter) and
the density is evaluated at each lixel's centre. Events (incidents) are snapped to the nearest point of the
network. With ``k(d) = K(d; h) / line(h)`` the registry's kernel normalised to integrate to 1 along a line
(:mod:`routerisk.kernels`; for the quartic ``15/16 (1 - (d/h)^2)^2 / h``, spNetwork's quartic), an event of weight
``w`` adds to a lixel centre at network position ``x`` (Okabe & Sugihara 2012; Xie & Yan 2008; spNetwork, Gelb
2021, ``nkde(method=...)``):

- ``simple``: ``w k(d)``, ``d`` the shortest network distance. Mass is not conserved: it grows at junctions and
  is lost at dead ends.
- ``discontinuous`` (equal-split discontinuous, spNetwork's ``"discontinuous"``): the kernel follows every walk
  from the event that does not turn back, and at each node of degree ``n`` passed its value is divided by
  ``n - 1`` on each edge leaving it. Mass is conserved, the density jumps at junctions.
- ``continuous`` (equal-split continuous, spNetwork's ``"continuous"``): at each node of degree ``n`` the walk goes
  on along every other edge with factor ``2/n`` and turns back along the edge it came from with factor
  ``(2 - n)/n`` (negative for ``n > 2``); for ``n = 2`` it passes with factor 1. The density is continuous and
  mass is conserved.

As in spNetwork, an event on a node of degree ``n`` starts with ``2/n`` on each edge (discontinuous: 1 when
``n <= 2``), a walk stops at a dead end (degree 1; the mass beyond it is lost) and after passing ``max_depth``
junctions. On a single line with no end within reach the three methods are the 1-D kernel sum.

**As the exposure measure.** ``density x length_m`` of a lixel is the kernel mass of the incidents on it;
:func:`network_exposure` sums it per segment (``segment_id`` of the edges): with the continuous method a
segment's network exposure is the weighted number of incidents whose kernel mass falls on the segment, and the
segments' total equals the total weight reached (all of it when no dead end lies within reach). It replaces the
Euclidean ``incident_exposure`` where incidents near one route should not be credited to another that passes near.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from ._nkde_numba import simple_rows, walk_rows
from ._validate import ValidationReport
from .engine import kernel_values
from .kernels import get_kernel
from .network import edge_table, route_network
from .routes import segmentize

__all__ = ["NKDE_METHODS", "network_exposure", "nkde"]

NKDE_METHODS = ("simple", "discontinuous", "continuous")
_CHUNK = 20_000


class _Net:
    """Edges, incidences (CSR by node) and lixels of a graph as arrays."""

    def __init__(self, graph: Any, lixel_m: float) -> None:
        self.nodes, e = edge_table(graph)
        e = e[e["length"] > 0].reset_index(drop=True)
        self.crs = graph.graph.get("crs")
        self.L = e["length"].to_numpy(dtype=np.float64)
        self.geoms = np.asarray(e["geometry"].to_numpy(), dtype=object)
        self.seg_ids = np.array([d.get("segment_id", "") for d in e["data"]], dtype=object)
        u, v = e["u"].to_numpy(), e["v"].to_numpy()
        self.u, self.v = u, v
        n_e = len(e)
        inc_node = np.r_[u, v]
        inc_edge = np.r_[np.arange(n_e), np.arange(n_e)]
        inc_end = np.r_[np.zeros(n_e, np.int64), np.ones(n_e, np.int64)]
        order = np.argsort(inc_node, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.inc_node, self.inc_edge, self.inc_end = inc_node[order], inc_edge[order], inc_end[order]
        self.opp = rank[np.r_[np.arange(n_e) + n_e, np.arange(n_e)]][order]
        self.edge_inc = np.column_stack([rank[:n_e], rank[n_e:]]).astype(np.int64)
        self.node_ptr = np.searchsorted(self.inc_node, np.arange(len(self.nodes) + 1)).astype(np.int64)
        self._lixels(lixel_m)

    def _lixels(self, lixel_m: float) -> None:
        geom_len = shapely.length(self.geoms)
        lines = gpd.GeoDataFrame({"route_id": np.arange(len(self.L)).astype(str)}, geometry=self.geoms, crs=self.crs)
        lix = segmentize(lines, lixel_m, crs=str(self.crs), report=ValidationReport())
        edge = lix["route_id"].astype(np.int64).to_numpy()
        scale = self.L[edge] / geom_len[edge]  # graph lengths may differ from the drawn ones (osmnx: geodesic)
        self.lix = lix
        self.lix_edge = edge
        self.lix_start = lix["start_m"].to_numpy() * scale
        self.lix_end = lix["end_m"].to_numpy() * scale
        self.lix_off = (self.lix_start + self.lix_end) / 2.0
        self.lix_ptr = np.searchsorted(edge, np.arange(len(self.L) + 1)).astype(np.int64)

    def snap(self, points: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Edge, offset from ``u``, node (``-1`` unless on a node) and snapping distance of every point."""
        pts = shapely.points(points)
        tree = shapely.STRtree(self.geoms)
        (pi, ei), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        edge = np.full(len(pts), -1, np.int64)
        edge[pi] = ei
        snap = np.full(len(pts), np.nan)
        snap[pi] = dist
        frac = shapely.line_locate_point(self.geoms[edge], pts, normalized=True)
        off = frac * self.L[edge]
        node = np.where(off <= tol * self.L[edge], self.u[edge], np.where(off >= (1 - tol) * self.L[edge],
                                                                            self.v[edge], -1))  # fmt: skip
        return edge, off, node.astype(np.int64), snap


def _event_xy(incidents: Any, crs: Any) -> np.ndarray:
    if isinstance(incidents, gpd.GeoDataFrame | gpd.GeoSeries):
        g = incidents.geometry if isinstance(incidents, gpd.GeoDataFrame) else incidents
        if crs is not None and g.crs is not None:
            g = g.to_crs(crs)
        return shapely.get_coordinates(g.to_numpy())
    xy = np.asarray(incidents, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = "`incidents` must be a GeoDataFrame of points or an (n, 2) array of coordinates in the graph's CRS"
        raise InputError(msg)
    return xy


def nkde(
    network_or_routes: Any,
    incidents: Any,
    bandwidth_m: float,
    lixel_m: float,
    *,
    method: str = "simple",
    kernel: str = "quartic",
    weights: Any = None,
    max_depth: int = 15,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Network kernel density of incidents on lixels (spNetwork's simple, discontinuous and continuous NKDE).

    Parameters
    ----------
    network_or_routes : networkx graph or geopandas.GeoDataFrame
        An osmnx-style graph (projected: ``graph.graph["crs"]`` in metres, edges with ``length``), or route or
        segment lines (turned into a graph by :func:`routerisk.network.route_network`).
    incidents : geopandas.GeoDataFrame or array of shape (n, 2)
        Points (any CRS), or coordinates in the graph's CRS.
    bandwidth_m, lixel_m : float
        Kernel bandwidth and lixel length (metres).
    method : {"simple", "discontinuous", "continuous"}
    kernel : str
        A kernel of the registry (:mod:`routerisk.kernels`).
    weights : array-like, optional
        Weight of each incident (default 1).
    max_depth : int, default 15
        Junctions (degree > 2) a walk may pass (the two walk methods).
    max_snap_m : float, optional
        Incidents farther from the network are left out (default: none is).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per lixel: ``lixel_id``, ``edge`` (position in :func:`routerisk.network.edge_table`),
        ``segment_id`` (of the edge, when the graph has one), ``start_m``, ``end_m``, ``length_m`` (along the
        edge), ``density`` (weight per metre) and the lixel's line in the graph's CRS. ``attrs["routerisk_nkde"]``
        holds the parameters and the counts of incidents snapped and left out.

    Examples
    --------
    >>> from shapely import LineString
    >>> line = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10_000, 0)])], crs="EPSG:6372")
    >>> lx = nkde(line, np.array([[5_000.0, 30.0]]), bandwidth_m=1_000, lixel_m=50, method="continuous")
    >>> round(float((lx["density"] * lx["length_m"]).sum()), 6), round(float(lx["density"].max()), 6)
    (1.0, 0.000936)
    """
    if method not in NKDE_METHODS:
        msg = f"`method` was {method!r} but must be one of {NKDE_METHODS}"
        raise InputError(msg)
    for name, val in (("bandwidth_m", bandwidth_m), ("lixel_m", lixel_m)):
        if not (np.isfinite(val) and val > 0):
            msg = f"`{name}` was {val!r} but must be a positive number of metres"
            raise InputError(msg)
    k = get_kernel(kernel)
    graph = network_or_routes
    if isinstance(graph, gpd.GeoDataFrame | gpd.GeoSeries):
        graph = route_network(gpd.GeoDataFrame(geometry=graph.geometry) if isinstance(graph, gpd.GeoSeries)
                              else graph)  # fmt: skip
    net = _Net(graph, float(lixel_m))
    xy = _event_xy(incidents, net.crs)
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != len(xy):
        msg = f"`weights` has {len(w)} values for {len(xy)} incidents"
        raise InputError(msg)
    ok = np.all(np.isfinite(xy), axis=1) & np.isfinite(w) & (w != 0)
    edge, off, node, snap = net.snap(xy[ok]) if ok.any() else (np.empty(0, np.int64),) * 4
    keep = np.ones(len(edge), dtype=bool) if max_snap_m is None else snap <= max_snap_m
    edge, off, node, wk = edge[keep], off[keep], node[keep], w[ok][keep]
    density = _density(net, method, edge, off, node, wk, float(bandwidth_m), k, int(max_depth))
    out = _lixel_table(net, density)
    out.attrs["routerisk_nkde"] = {"method": method, "kernel": kernel, "bandwidth_m": float(bandwidth_m),
                                   "lixel_m": float(lixel_m), "max_depth": int(max_depth),
                                   "n_incidents": len(xy), "n_snapped": int(keep.sum()),
                                   "n_left_out": int(len(xy) - keep.sum())}  # fmt: skip
    return out


def _density(net: _Net, method: str, edge, off, node, w, h: float, k, max_depth: int) -> np.ndarray:
    cut = k.support * h
    density = np.zeros(len(net.lix_off))
    norm = float(k.line(h))
    for a in range(0, len(edge), _CHUNK):
        sl = slice(a, a + _CHUNK)
        if method == "simple":
            ri, rf = simple_rows(edge[sl], off[sl], node[sl], net.node_ptr, net.inc_node, net.inc_edge, net.opp,
                                 net.edge_inc, net.L, net.lix_ptr, net.lix_off, cut)  # fmt: skip
        else:
            ri, rf = walk_rows(1 if method == "discontinuous" else 2, edge[sl], off[sl], node[sl], net.node_ptr,
                               net.inc_node, net.inc_edge, net.inc_end, net.opp, net.edge_inc, net.L, net.lix_ptr,
                               net.lix_off, cut, max_depth)  # fmt: skip
        if len(ri):
            val = kernel_values(rf[:, 0], h, k.name) * rf[:, 1] * w[sl][ri[:, 0]]
            density += np.bincount(ri[:, 1], weights=val, minlength=len(density))
    return density / norm


def _lixel_table(net: _Net, density: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "lixel_id": np.arange(len(density), dtype=np.int64),
            "edge": net.lix_edge,
            "segment_id": net.seg_ids[net.lix_edge] if len(net.seg_ids) else np.empty(0, dtype=object),
            "start_m": net.lix_start,
            "end_m": net.lix_end,
            "length_m": net.lix_end - net.lix_start,
            "density": density,
        },
        geometry=net.lix.geometry.to_numpy(),
        crs=net.crs,
    )


def network_exposure(lixels: pd.DataFrame) -> pd.DataFrame:
    """Kernel mass per segment: ``sum of density x length_m`` over the lixels of each ``segment_id``.

    Examples
    --------
    >>> t = pd.DataFrame({"segment_id": ["a", "a", "b"], "density": [0.001, 0.002, 0.0], "length_m": 100.0})
    >>> network_exposure(t)["network_exposure"].round(6).tolist()
    [0.3, 0.0]
    """
    mass = pd.Series(lixels["density"].to_numpy() * lixels["length_m"].to_numpy())
    out = mass.groupby(lixels["segment_id"].to_numpy()).sum()
    return pd.DataFrame({"segment_id": out.index.to_numpy(), "network_exposure": out.to_numpy()})
