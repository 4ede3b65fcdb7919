"""Network kernel density (routerisk.nkde, module routerisk.netkde) against brute force on tiny graphs."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString

from routerisk import InputError
from routerisk.kernels import get_kernel
from routerisk.netkde import network_exposure, nkde
from routerisk.network import edge_table, route_network

CRS = "EPSG:6372"
X0, Y0 = 2_500_000.0, 1_000_000.0  # in Mexico (metres)

# A tiny graph with junctions of degree 3 and 4, a cycle and long spurs (no dead end within reach of the events).
NODES = {0: (0, 0), 1: (600, 0), 2: (1000, 500), 3: (1000, -400), 4: (1700, 0), 5: (-3000, 0), 6: (5000, 0),
         7: (1000, 4000)}  # fmt: skip
EDGES = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (2, 3), (0, 5), (4, 6), (2, 7)]


def _graph(edges=EDGES, nodes=NODES) -> nx.MultiGraph:
    g = nx.MultiGraph(crs=CRS)
    for n, (x, y) in nodes.items():
        g.add_node(n, x=X0 + x, y=Y0 + y)
    for u, v in edges:
        a, b = nodes[u], nodes[v]
        g.add_edge(u, v, length=math.dist(a, b), geometry=LineString([(X0 + a[0], Y0 + a[1]), (X0 + b[0], Y0 + b[1])]))
    return g


def _k(d, h, kernel):
    k = get_kernel(kernel)
    u = (d / h) ** 2
    return float(k.of_u(np.array([u]))[0]) / float(k.line(h))


def _lixel_points(lx, graph):
    """(edge u, edge v, edge length, offset from u) of every lixel centre, from edge_table's order."""
    _, e = edge_table(graph)
    e = e[e["length"] > 0].reset_index(drop=True)
    off = (lx["start_m"] + lx["end_m"]).to_numpy() / 2
    nodes = list(graph.nodes)
    return [(nodes[e["u"][i]], nodes[e["v"][i]], e["length"][i], o) for i, o in zip(lx["edge"], off, strict=True)]


def _event_on(graph, u, v, t):
    """Coordinates of the point at distance t from u on edge (u, v)."""
    a = np.array([graph.nodes[u]["x"], graph.nodes[u]["y"]])
    b = np.array([graph.nodes[v]["x"], graph.nodes[v]["y"]])
    return a + (b - a) * t / np.linalg.norm(b - a)


# ------------------------------------------------------------------ brute force (independent of the module)
def _simple_brute(graph, ev, x, h, kernel):
    """Shortest distance by enumerating every simple path between the event and the point (both inserted)."""
    (eu, ev_, et), (xu, xv, xl, xs) = ev, x
    g = nx.Graph()
    for u, v, d in graph.edges(data=True):
        if {u, v} == {eu, ev_} and {u, v} == {xu, xv}:
            continue
        if {u, v} in ({eu, ev_}, {xu, xv}):
            continue
        g.add_edge(u, v, w=d["length"])
    el = graph.edges[eu, ev_, 0]["length"]
    if {eu, ev_} == {xu, xv}:
        s = xs if xu == eu else xl - xs
        pts = sorted([(0.0, eu), (et, "E"), (s, "X"), (el, ev_)], key=lambda p: p[0])
        for (d0, a), (d1, b) in itertools.pairwise(pts):
            g.add_edge(a, b, w=d1 - d0)
    else:
        g.add_edge(eu, "E", w=et)
        g.add_edge("E", ev_, w=el - et)
        g.add_edge(xu, "X", w=xs)
        g.add_edge("X", xv, w=xl - xs)
    best = min(nx.path_weight(g, p, "w") for p in nx.all_simple_paths(g, "E", "X"))
    return _k(best, h, kernel)


def _walk_brute(graph, ev, x, h, kernel, method):
    """Sum over all walks from the event to the point of factor x kernel (recursion over edge sequences)."""
    (eu, ev_, et), (xu, xv, xl, xs) = ev, x
    cut = get_kernel(kernel).support * h
    deg = dict(graph.degree())
    total = 0.0
    if {eu, ev_} == {xu, xv}:
        s = xs if xu == eu else xl - xs
        total += _k(abs(s - et), h, kernel)
    el = graph.edges[eu, ev_, 0]["length"]

    def arrive(node, came, d, factor):
        nonlocal total
        n = deg[node]
        if n <= 1 or d >= cut:
            return
        for a, b, key in list(graph.edges(node, keys=True)):
            other = b if a == node else a
            back = (min(node, other), max(node, other), key) == came
            if method == "discontinuous":
                f = 0.0 if back else factor / (n - 1)
            else:
                f = factor * (2 - n) / n if back else factor * 2 / n
            if f == 0.0:
                continue
            length = graph.edges[node, other, key]["length"]
            if {node, other} == {xu, xv}:
                dist = d + (xs if xu == node else xl - xs)
                total += f * _k(dist, h, kernel)
            arrive(other, (min(node, other), max(node, other), key), d + length, f)

    this = (min(eu, ev_), max(eu, ev_), 0)
    arrive(eu, this, et, 1.0)
    arrive(ev_, this, el - et, 1.0)
    return total


@pytest.mark.parametrize("method", ["simple", "discontinuous", "continuous"])
@pytest.mark.parametrize("kernel", ["quartic", "triweight", "gaussian"])
def test_nkde_equals_brute_force_over_paths(method, kernel):
    g = _graph()
    events = [(0, 1, 250.0), (2, 3, 600.0), (3, 4, 100.0)]
    xy = np.array([_event_on(g, u, v, t) for u, v, t in events])
    w = np.array([1.0, 2.0, 0.5])
    h = 500.0 if kernel != "gaussian" else 180.0
    lx = nkde(g, xy, bandwidth_m=h, lixel_m=150.0, method=method, kernel=kernel, weights=w, max_depth=100)
    pts = _lixel_points(lx, g)
    brute = _simple_brute if method == "simple" else (lambda *a: _walk_brute(*a, method))
    expected = np.array([sum(wi * brute(g, ev, p, h, kernel) for ev, wi in zip(events, w, strict=True))
                         for p in pts])  # fmt: skip
    assert np.abs(expected).max() > 1e-4  # the events reach lixels across the junctions
    np.testing.assert_allclose(lx["density"].to_numpy(), expected, rtol=0, atol=1e-9 * expected.max())


@pytest.mark.parametrize("method", ["discontinuous", "continuous"])
def test_event_on_a_junction_starts_with_two_over_degree(method):
    g = _graph()
    node = np.array([[g.nodes[1]["x"], g.nodes[1]["y"]]])  # degree 3
    lx = nkde(g, node, bandwidth_m=300.0, lixel_m=50.0, method=method)
    # each of the three edges at node 1 gets 2/3 of the kernel at its lixel next to node 1 (25 m away)
    near = lx[lx["edge"].isin([_edge_index(g, 1, 2), _edge_index(g, 1, 3)]) & (lx["start_m"] == 0)]
    end01 = lx[lx["edge"] == _edge_index(g, 0, 1)].iloc[-1]
    expected = 2 / 3 * _k(25.0, 300.0, "quartic")
    np.testing.assert_allclose([*near["density"], end01["density"]], expected, rtol=1e-12)
    assert len(near) == 2


def _edge_index(g, u, v):
    nodes, e = edge_table(g)
    pos = {n: i for i, n in enumerate(nodes)}
    hit = np.flatnonzero(((e["u"] == pos[u]) & (e["v"] == pos[v])) | ((e["u"] == pos[v]) & (e["v"] == pos[u])))
    return int(hit[0])


def test_continuous_conserves_mass():
    g = _graph()
    xy = np.array([_event_on(g, 0, 1, 300.0), _event_on(g, 2, 4, 200.0), _event_on(g, 2, 3, 450.0)])
    w = np.array([1.0, 3.0, 0.25])
    masses = []
    for lixel in (2.0, 1.0):
        lx = nkde(g, xy, bandwidth_m=700.0, lixel_m=lixel, method="continuous", weights=w, max_depth=100)
        masses.append(float((lx["density"] * lx["length_m"]).sum()))
    richardson = (4 * masses[1] - masses[0]) / 3  # midpoint rule: error O(lixel^2)
    assert abs(richardson - w.sum()) <= 1e-6 * w.sum()
    assert abs(masses[1] - w.sum()) <= 1e-4 * w.sum()


def test_discontinuous_conserves_mass_and_simple_does_not():
    g = _graph()
    xy = np.array([_event_on(g, 1, 2, 100.0)])
    mass = {}
    for method in ("simple", "discontinuous"):
        lx = nkde(g, xy, bandwidth_m=700.0, lixel_m=1.0, method=method, max_depth=100)
        mass[method] = float((lx["density"] * lx["length_m"]).sum())
    assert abs(mass["discontinuous"] - 1.0) < 1e-4
    assert mass["simple"] > 1.2  # the simple kernel grows at junctions


@settings(max_examples=20, deadline=None)
@given(
    pos=st.lists(st.floats(3_000, 17_000), min_size=1, max_size=6),
    h=st.floats(200, 2_500),
    method=st.sampled_from(["simple", "discontinuous", "continuous"]),
)
def test_on_a_straight_route_every_method_is_the_1d_kernel_sum(pos, h, method):
    """A route cut into segments (degree-2 nodes at ends and midpoints): the 1-D sum, events far from the ends."""
    route = gpd.GeoDataFrame({"segment_id": ["a", "b", "c"], "route_id": "r"}, crs=CRS, geometry=[
        LineString([(X0, Y0), (X0 + 7000, Y0)]), LineString([(X0 + 7000, Y0), (X0 + 13000, Y0)]),
        LineString([(X0 + 13000, Y0), (X0 + 20000, Y0)])])  # fmt: skip
    xy = np.column_stack([X0 + np.array(pos), np.full(len(pos), Y0 + 40.0)])
    lx = nkde(route, xy, bandwidth_m=h, lixel_m=333.0, method=method)
    centre = shapely.get_coordinates(shapely.line_interpolate_point(lx.geometry.to_numpy(), 0.5, normalized=True))
    expected = np.array([sum(_k(abs(c - (X0 + p)), h, "quartic") for p in pos) for c in centre[:, 0]])
    np.testing.assert_allclose(lx["density"].to_numpy(), expected, rtol=0, atol=1e-9 / h)


def test_network_exposure_sums_lixels_by_segment_and_attrs():
    route = gpd.GeoDataFrame({"segment_id": ["a", "b"], "route_id": "r"}, crs=CRS, geometry=[
        LineString([(X0, Y0), (X0 + 5000, Y0)]), LineString([(X0 + 5000, Y0), (X0 + 10000, Y0)])])  # fmt: skip
    lx = nkde(route, np.array([[X0 + 2500, Y0], [X0 + 4900, Y0 + 10]]), 1000.0, 10.0, method="continuous")
    ne = network_exposure(lx).set_index("segment_id")["network_exposure"]
    assert ne["a"] == pytest.approx(2.0 - _tail(100.0, 1000.0), abs=1e-4)  # the second event's tail beyond 100 m
    assert ne.sum() == pytest.approx(2.0, abs=1e-4)
    assert lx.attrs["routerisk_nkde"]["n_snapped"] == 2


def _tail(d, h):
    """Share of a 1-D quartic kernel beyond distance ``d`` on one side (= 0.5 - integral from 0 to d)."""
    x = d / h
    return 0.5 - 15 / 16 * (x - 2 * x**3 / 3 + x**5 / 5)


def test_bad_arguments_are_input_errors():
    g = _graph()
    with pytest.raises(InputError, match="method"):
        nkde(g, np.zeros((1, 2)), 100.0, 10.0, method="esd")
    with pytest.raises(InputError, match="lixel_m"):
        nkde(g, np.zeros((1, 2)), 100.0, 0.0)
    with pytest.raises(InputError, match="weights"):
        nkde(g, np.zeros((2, 2)), 100.0, 10.0, weights=[1.0])


def test_route_network_graph_works_as_input():
    seg = gpd.GeoDataFrame({"segment_id": ["a", "b"], "route_id": ["r", "s"]}, crs=CRS, geometry=[
        LineString([(X0, Y0), (X0 + 2000, Y0), (X0 + 4000, Y0)]),
        LineString([(X0 + 2000, Y0), (X0 + 2000, Y0 + 3000)])])  # fmt: skip
    g = route_network(seg)
    lx = nkde(g, np.array([[X0 + 1500, Y0]]), 1000.0, 5.0, method="continuous")
    assert float((lx["density"] * lx["length_m"]).sum()) == pytest.approx(1.0, abs=1e-4)
    assert set(lx["segment_id"]) == {"a", "b"}
