"""The route network: segments as edges of an osmnx-compatible graph, joined where routes share a place.

:func:`route_network` turns a segments layer (the output of :func:`routerisk.segmentize`, scored or not) into a
``networkx.MultiDiGraph`` shaped like osmnx's projected graphs: graph attribute ``crs`` (a projected CRS, metres),
nodes with ``x``/``y``, each edge present in both directions with ``length`` (metres) and a ``geometry`` drawn
from ``u`` to ``v``. So an OSM network (``osmnx.graph_from_xml`` then ``osmnx.project_graph``) goes through
:mod:`routerisk.access`, :mod:`routerisk.paths` and :mod:`routerisk.netkde` the same way.

Nodes are

- ``end``: the two ends of every segment (consecutive segments of a route share one),
- ``junction``: a vertex shared by two or more routes, where the corridors meet (Arriaga, Medias Aguas,
  Coatzacoalcos, Lechería, Querétaro, Monterrey ...), even in the middle of a segment,
- ``mid``: the midpoint of every segment (by length), the segment's reference point for access distances.

**Snapping tolerance.** Vertices of different routes closer than ``snap_m`` (default 1 m) are one junction, and
ends of segments closer than ``snap_m`` are one node. The embedded corridors pass through a shared locality at the
gazetteer's coordinates, and routes built by :func:`routerisk.build_route` on an OSM network pass through the
same OSM node, so the shared vertex coincides exactly; raise ``snap_m`` only for hand-drawn routes (a large
tolerance chains nearby vertices into one node). Two routes that cross between vertices are not joined.

Every edge carries ``segment_id``, ``route_id``, ``half`` (0 from the segment's start to its midpoint, 1 after)
and the segment columns asked for (``risk`` by default when present).
"""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ._errors import InputError
from .crs import analysis_crs
from .schema import WGS84

__all__ = ["DEFAULT_SNAP_M", "edge_table", "route_network"]

#: Default snapping tolerance (metres) between vertices of different routes and between segment ends.
DEFAULT_SNAP_M = 1.0


def _projected(segments: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    if not isinstance(segments, gpd.GeoDataFrame):
        msg = f"`segments` must be a GeoDataFrame, got {type(segments).__name__}"
        raise TypeError(msg)
    if segments.crs is None:
        msg = "`segments` has no CRS; set one before building the network"
        raise InputError(msg)
    geoms = segments.geometry.to_numpy()
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) & (shapely.length(geoms) > 0)
    if not ok.any():
        msg = "`segments` has no line with a length: no network to build"
        raise InputError(msg)
    segs = segments[ok]
    acrs = analysis_crs(segs.to_crs(WGS84).total_bounds, crs) if segs.crs.is_geographic or crs != "auto" else segs.crs
    return segs.to_crs(acrs)


def _vertex_nodes(xy: np.ndarray, route: np.ndarray, is_end: np.ndarray, snap_m: float):
    """Cluster label of each vertex and whether the vertex is a node (an end, or shared by two routes)."""
    pairs = cKDTree(xy).query_pairs(snap_m, output_type="ndarray")  # distance <= snap_m (0: coincident)
    a, b = pairs[:, 0], pairs[:, 1]
    keep = (is_end[a] & is_end[b]) | (route[a] != route[b])
    a, b = a[keep], b[keep]
    n = len(xy)
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    routes_per = pd.Series(route).groupby(label).nunique().to_numpy()
    has_end = np.bincount(label, weights=is_end.astype(float), minlength=label.max() + 1) > 0
    return label, is_end | (routes_per[label] > 1) | has_end[label], routes_per


def _pieces(c: np.ndarray, cuts: list[tuple[float, int]]):
    """Split the coordinate chain ``c`` at arc positions ``cuts`` (sorted; each with its node label)."""
    step = np.hypot(*np.diff(c, axis=0).T)
    cum = np.r_[0.0, np.cumsum(step)]
    out = []
    for (s0, n0), (s1, n1) in itertools.pairwise(cuts):
        inner = (cum > s0) & (cum < s1)
        p0 = np.array([np.interp(s0, cum, c[:, 0]), np.interp(s0, cum, c[:, 1])])
        p1 = np.array([np.interp(s1, cum, c[:, 0]), np.interp(s1, cum, c[:, 1])])
        out.append((n0, n1, np.vstack([p0, c[inner], p1]), s0, s1))
    return out


def route_network(
    segments: gpd.GeoDataFrame,
    *,
    snap_m: float = DEFAULT_SNAP_M,
    columns: tuple[str, ...] | None = None,
    crs: str = "auto",
) -> nx.MultiDiGraph:
    """The graph of the routes: segments as edges, joined at the places the routes share.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Segment LineStrings (``segment_id`` and ``route_id`` columns used when present), any CRS.
    snap_m : float, default 1.0
        Snapping tolerance in metres (see the module docstring).
    columns : tuple of str, optional
        Segment columns copied onto the edges; default: ``risk`` and the access columns when present.
    crs : str, default "auto"
        Projected CRS of the graph, see :func:`routerisk.crs.analysis_crs`.

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-compatible: ``graph.graph["crs"]``, nodes with ``x``, ``y``, ``kind`` (``end``, ``junction``,
        ``mid``; a mid node also has ``segment_id``), edges in both directions with ``length``, ``geometry``,
        ``segment_id``, ``route_id``, ``half`` and the copied columns.

    Examples
    --------
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"segment_id": ["a:0", "b:0"], "route_id": ["a", "b"]},
    ...     geometry=[LineString([(0, 0), (1000, 0), (3000, 0)]), LineString([(1000, 0), (1000, 1000)])],
    ...     crs="EPSG:6372")
    >>> g = route_network(seg)
    >>> [d["kind"] for _, d in g.nodes(data=True)].count("junction"), g.number_of_edges() // 2
    (1, 5)
    """
    if not (np.isfinite(snap_m) and snap_m >= 0):
        msg = f"`snap_m` was {snap_m!r} but must be a number of metres >= 0"
        raise InputError(msg)
    segs = _projected(segments, crs)
    ids = segs["segment_id"].astype(str).to_numpy() if "segment_id" in segs else segs.index.astype(str).to_numpy()
    rids = segs["route_id"].astype(str).to_numpy() if "route_id" in segs else ids
    if columns is None:
        columns = tuple(c for c in ("risk", "asylum_office_km", "shelter_km") if c in segs)
    parts, seg_of = shapely.get_parts(segs.geometry.to_numpy(), return_index=True)
    xy, chain = shapely.get_coordinates(parts, return_index=True)
    first = np.r_[True, chain[1:] != chain[:-1]]
    last = np.r_[chain[1:] != chain[:-1], True]
    route = pd.factorize(rids[seg_of[chain]])[0]
    label, is_node, routes_per = _vertex_nodes(xy, route, first | last, float(snap_m))
    graph = nx.MultiDiGraph(crs=segs.crs.to_string(), snap_m=float(snap_m), name="routerisk route network")
    reps = pd.Series(np.arange(len(xy))).groupby(label).first().to_numpy()
    for lab in np.unique(label[is_node]):
        r = reps[lab]
        kind = "junction" if routes_per[lab] > 1 else "end"
        graph.add_node(int(lab), x=float(xy[r, 0]), y=float(xy[r, 1]), kind=kind)
    next_id = int(label.max()) + 1
    values = {c: segs[c].to_numpy() for c in columns}
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(xy)]
    edges = []
    for p, (i0, i1) in enumerate(zip(starts, ends, strict=True)):
        c = xy[i0:i1]
        cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(c, axis=0).T))]
        total = float(cum[-1])
        if total <= 0:
            continue
        mid = next_id
        next_id += 1
        mx, my = np.interp(total / 2, cum, c[:, 0]), np.interp(total / 2, cum, c[:, 1])
        s = seg_of[p]
        graph.add_node(mid, x=float(mx), y=float(my), kind="mid", segment_id=ids[s])
        cuts = [(float(cum[k]), int(label[i0 + k])) for k in range(len(c)) if is_node[i0 + k]]
        cuts.append((total / 2, mid))
        cuts = sorted(set(cuts))
        attrs = {"segment_id": ids[s], "route_id": rids[s], **{col: values[col][s] for col in columns}}
        for n0, n1, pc, s0, s1 in _pieces(c, cuts):
            length, half = s1 - s0, int(s0 >= total / 2)
            if n0 == n1:  # a loop of zero length (a node cut twice at one place)
                continue
            geom = shapely.linestrings(pc)
            edges.append((n0, n1, {**attrs, "length": float(length), "geometry": geom, "half": half}))
            edges.append((n1, n0, {**attrs, "length": float(length), "geometry": shapely.reverse(geom),
                                   "half": half}))  # fmt: skip
    graph.add_edges_from(edges)
    for n, deg in graph.out_degree():
        graph.nodes[n]["street_count"] = int(deg)
    return graph


def edge_table(graph: Any, weight: str = "length") -> tuple[list, pd.DataFrame]:
    """The undirected edges of an osmnx-style graph as arrays: node order and one row per edge.

    A MultiDiGraph that holds each street in both directions (osmnx, :func:`route_network`) gives one row per
    street: the reverse copy (same end nodes and same length to 1 mm) is dropped.

    Parameters
    ----------
    graph : networkx graph
        Nodes with ``x``, ``y``; edges with ``length`` (or ``weight``) and optional ``geometry``.
    weight : str, default "length"

    Returns
    -------
    nodes : list
        Node ids; row ``i`` of the arrays refers to ``nodes[i]``.
    edges : pandas.DataFrame
        ``u``, ``v`` (positions in ``nodes``), ``length``, ``geometry`` (from ``u`` to ``v``) and ``data`` (the
        edge's attribute dict).

    Examples
    --------
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (2000, 0)])], crs="EPSG:6372")
    >>> nodes, e = edge_table(route_network(seg))
    >>> len(nodes), e["length"].tolist()
    (3, [1000.0, 1000.0])
    """
    nodes = list(graph.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    x = np.array([d["x"] for _, d in graph.nodes(data=True)], dtype=float)
    y = np.array([d["y"] for _, d in graph.nodes(data=True)], dtype=float)
    rows = list(graph.edges(data=True))
    u = np.fromiter((pos[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((pos[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    data = [r[2] for r in rows]
    w = np.array([d.get(weight, np.nan) for d in data], dtype=float)
    w = np.where(np.isnan(w), np.hypot(x[u] - x[v], y[u] - y[v]), w)
    keep = np.ones(len(rows), dtype=bool)
    if graph.is_directed():  # drop the reverse copies: of c edges with the same ends and length, keep ceil(c/2)
        key = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "w": np.round(w * 1000)})
        grp = key.groupby(["a", "b", "w"], sort=False)
        keep = (grp.cumcount().to_numpy() < (grp["a"].transform("size").to_numpy() + 1) // 2)
    idx = np.flatnonzero(keep)
    u, v, length = u[idx], v[idx], w[idx]
    data = [data[i] for i in idx]
    geom = [d.get("geometry") for d in data]
    missing = [i for i, g in enumerate(geom) if g is None]
    if missing:
        m = np.array(missing)
        ends = np.stack([np.column_stack([x[u[m]], y[u[m]]]), np.column_stack([x[v[m]], y[v[m]]])], axis=1)
        lines = shapely.linestrings(ends)
        for i, g in zip(missing, lines, strict=True):
            geom[i] = g
    edges = pd.DataFrame({"u": np.array(u, dtype=np.int64), "v": np.array(v, dtype=np.int64),
                          "length": np.array(length), "geometry": geom, "data": data})  # fmt: skip
    return nodes, edges
