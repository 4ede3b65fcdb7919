"""Least-risk paths on the route network: the trade-off between extra kilometres and risk avoided.

The cost of an edge is ``length x (1 + alpha x risk / 100)``: ``risk`` is the segment's score on the fixed 0-100
scale (:func:`routerisk.score_segments`), so ``risk / 100`` is in [0, 1] whatever the other segments, and
``alpha`` is how many extra kilometres a person would walk to avoid one kilometre at risk 100. ``alpha = 0`` is
the shortest path. A path's ``risk_exposure`` is ``sum over its edges of length_km x risk / 100`` ("kilometres
at full risk"). The shortest path is no longer than any path and the least-cost path costs no more than the
shortest, so ``L* + alpha R* <= L + alpha R`` with
``L* >= L`` gives ``R* <= R``: the least-risk path is never riskier and never shorter than the shortest.

Alternatives are the next simple paths by cost (``networkx.shortest_simple_paths``, Yen's algorithm). Places are
resolved with the gazetteer (:func:`routerisk.resolve_locality`) or given as ``(lon, lat)`` and snapped to the
nearest node; the localities passed are the gazetteer's places within ``locality_m`` of the path (population at
least ``min_population``), in the order passed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from ._errors import InputError
from .gazetteer import load_localities, resolve_locality
from .network import edge_table
from .schema import WGS84

__all__ = ["PATH_COLUMNS", "least_risk_paths", "snap_place"]

PATH_COLUMNS = ("path", "alpha", "length_km", "risk_exposure", "extra_km", "risk_avoided", "cost", "localities")
MAX_SNAP_M = 25_000.0


def snap_place(graph: Any, place: str | tuple[float, float], max_snap_m: float = MAX_SNAP_M) -> tuple[Any, str]:
    """The node nearest to a place name (gazetteer) or a ``(lon, lat)`` pair, and the place's label.

    Examples
    --------
    >>> from shapely import LineString
    >>> from routerisk.network import route_network
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(-92.26, 14.9), (-93.9, 16.2)])], crs="EPSG:4326")
    >>> g = route_network(seg)
    >>> snap_place(g, (-92.26, 14.9))[1]
    '(-92.26000, 14.90000)'
    """
    if isinstance(place, str):
        lon, lat, info = resolve_locality(place)
        label = str(info.get("name", place))
    else:
        try:
            lon, lat = (float(v) for v in place)
        except (TypeError, ValueError):
            msg = f"place {place!r} is neither a name nor a (lon, lat) pair"
            raise InputError(msg) from None
        label = f"({lon:.5f}, {lat:.5f})"
    nodes = list(graph.nodes)
    xy = np.array([[graph.nodes[n]["x"], graph.nodes[n]["y"]] for n in nodes], dtype=float)
    px, py = Transformer.from_crs(WGS84, graph.graph.get("crs", WGS84), always_xy=True).transform(lon, lat)
    dist, i = cKDTree(xy).query([px, py])
    if dist > max_snap_m:
        msg = f"{label} is {dist / 1000:.1f} km from the nearest network node (more than {max_snap_m / 1000:.0f} km)"
        raise InputError(msg)
    return nodes[int(i)], label


def _simple_graph(graph: Any, alpha: float, risk: str) -> nx.Graph:
    """Undirected graph with the least-cost edge of every node pair: ``cost``, ``length`` and ``risk``."""
    nodes, e = edge_table(graph)
    r = np.array([float(d.get(risk, 0.0) or 0.0) for d in e["data"]])
    r = np.where(np.isfinite(r), np.clip(r, 0.0, 100.0), 0.0)
    cost = e["length"].to_numpy() * (1.0 + alpha * r / 100.0)
    t = pd.DataFrame({"u": e["u"], "v": e["v"], "cost": cost, "length": e["length"], "risk": r,
                      "i": np.arange(len(e))}).sort_values(["cost", "length"], kind="stable")  # fmt: skip
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for u, v, c, ln, rk, i in t.itertuples(index=False):
        a, b = nodes[u], nodes[v]
        if a != b and not g.has_edge(a, b):
            g.add_edge(a, b, cost=c, length=ln, risk=rk, geometry=e["geometry"].iat[i])
    return g


def _describe(g: nx.Graph, path: list, alpha: float) -> dict:
    length = sum(g.edges[a, b]["length"] for a, b in itertools.pairwise(path))
    risk = sum(g.edges[a, b]["length"] * g.edges[a, b]["risk"] / 100.0 for a, b in itertools.pairwise(path))
    cost = sum(g.edges[a, b]["cost"] for a, b in itertools.pairwise(path))
    return {"alpha": alpha, "length_km": length / 1000.0, "risk_exposure": risk / 1000.0, "cost": cost / 1000.0,
            "nodes": path}  # fmt: skip


def _path_line(g: nx.Graph, path: list) -> shapely.LineString:
    parts = []
    for a, b in itertools.pairwise(path):
        xy = shapely.get_coordinates(g.edges[a, b]["geometry"])
        pa = np.array([g.nodes[a]["x"], g.nodes[a]["y"]]) if "x" in g.nodes[a] else xy[0]
        if np.hypot(*(xy[-1] - pa)) < np.hypot(*(xy[0] - pa)):
            xy = xy[::-1]
        parts.append(xy)
    return shapely.linestrings(np.vstack(parts)) if parts else shapely.LineString()


def _localities(lines: gpd.GeoSeries, locality_m: float, min_population: int) -> list[str]:
    loc = load_localities()
    loc = loc[loc["population"] >= min_population].to_crs(lines.crs)
    out = []
    pts = loc.geometry.to_numpy()
    tree = shapely.STRtree(pts)
    for line in lines.to_numpy():
        if shapely.is_empty(line):
            out.append("")
            continue
        hit = tree.query(line, predicate="dwithin", distance=locality_m)
        at = shapely.line_locate_point(line, pts[hit])
        names = loc["name"].to_numpy()[hit][np.argsort(at, kind="stable")]
        out.append(" > ".join(dict.fromkeys(str(n) for n in names)))
    return out


def least_risk_paths(
    graph: Any,
    source: Any,
    target: Any,
    *,
    alphas: Sequence[float] = (1.0, 5.0, 20.0),
    k: int = 3,
    risk: str = "risk",
    locality_m: float = 5_000.0,
    min_population: int = 20_000,
) -> gpd.GeoDataFrame:
    """The shortest path, the least-risk path for each ``alpha`` and ``k - 1`` alternatives each.

    Parameters
    ----------
    graph : networkx graph
        osmnx-style graph whose edges carry ``length`` and ``risk`` (0-100; missing or empty counts 0, so a
        segment suppressed in a public run counts as risk 0), e.g.
        :func:`routerisk.network.route_network` of scored segments.
    source, target : str, (lon, lat) or node id
        Place names (gazetteer), coordinates, or nodes of ``graph``.
    alphas : sequence of float
        Risk aversions (>= 0); see the module docstring.
    k : int, default 3
        Paths per alpha: the least-cost one and ``k - 1`` alternatives.
    risk : str
        Edge attribute read as the 0-100 risk.
    locality_m, min_population :
        Which gazetteer places count as passed.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`PATH_COLUMNS` (``path`` = ``shortest``, ``least_risk`` or ``alternative_N``; ``extra_km`` and
        ``risk_avoided`` relative to the shortest path), ``nodes`` and the path's line in the graph's CRS.

    Examples
    --------
    >>> from shapely import LineString
    >>> from routerisk.network import route_network
    >>> seg = gpd.GeoDataFrame({"risk": [90.0, 0.0, 0.0]}, crs="EPSG:6372", geometry=[
    ...     LineString([(0, 0), (1000, 0)]), LineString([(0, 0), (500, 800)]), LineString([(500, 800), (1000, 0)])])
    >>> g = route_network(seg)
    >>> nodes = {(round(d["x"]), round(d["y"])): n for n, d in g.nodes(data=True)}
    >>> p = least_risk_paths(g, nodes[0, 0], nodes[1000, 0], alphas=[1.0], k=1)
    >>> p[["path", "length_km", "risk_exposure"]].round(3).values.tolist()
    [['shortest', 1.0, 0.9], ['least_risk', 1.887, 0.0]]
    """
    if k < 1:
        msg = f"`k` was {k!r} but must be >= 1"
        raise InputError(msg)
    if any(not (np.isfinite(a) and a >= 0) for a in alphas):
        msg = f"`alphas` were {list(alphas)!r} but must be numbers >= 0"
        raise InputError(msg)
    (s, s_label), (t, t_label) = (_endpoint(graph, p) for p in (source, target))
    if s == t:
        msg = f"{s_label} and {t_label} snap to the same network node: there is no path to compare"
        raise InputError(msg)
    rows = []
    base = _simple_graph(graph, 0.0, risk)
    try:
        shortest = nx.shortest_path(base, s, t, weight="length")
    except nx.NetworkXNoPath:
        msg = f"no path along the network between {s_label} and {t_label}"
        raise InputError(msg) from None
    rows.append({"path": "shortest", **_describe(base, shortest, 0.0), "line": _path_line(base, shortest)})
    for a in alphas:
        g = _simple_graph(graph, float(a), risk)
        gen = nx.shortest_simple_paths(g, s, t, weight="cost")
        for i, p in enumerate(itertools.islice(gen, k)):
            name = "least_risk" if i == 0 else f"alternative_{i}"
            rows.append({"path": name, **_describe(g, p, float(a)), "line": _path_line(g, p)})
    out = pd.DataFrame(rows)
    out["extra_km"] = out["length_km"] - out["length_km"].iloc[0]
    out["risk_avoided"] = out["risk_exposure"].iloc[0] - out["risk_exposure"]
    lines = gpd.GeoSeries(out.pop("line"), crs=graph.graph.get("crs"))
    out["localities"] = _localities(lines, locality_m, min_population)
    out.attrs["routerisk_path"] = {"from": s_label, "to": t_label}
    return gpd.GeoDataFrame(out[[*PATH_COLUMNS, "nodes"]], geometry=lines.to_numpy(), crs=lines.crs)


def _endpoint(graph: Any, place: Any) -> tuple[Any, str]:
    if not isinstance(place, str | tuple | list) and place in graph:
        return place, str(place)
    return snap_place(graph, place)
