"""Least-risk paths (routerisk.paths, routerisk path) against networkx, on the corridors and on the OSM fixture."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString

import routerisk
from routerisk import InputError
from routerisk.cli import cli
from routerisk.netrun import path_run
from routerisk.network import route_network
from routerisk.paths import least_risk_paths

CRS = "EPSG:6372"
X0, Y0 = 2_500_000.0, 1_000_000.0


def _node_at(g, x, y):
    return min(g.nodes, key=lambda n: np.hypot(g.nodes[n]["x"] - x, g.nodes[n]["y"] - y))


def test_triangle_hand_computed():
    seg = gpd.GeoDataFrame({"risk": [90.0, 0.0, 0.0]}, crs=CRS, geometry=[
        LineString([(X0, Y0), (X0 + 1000, Y0)]), LineString([(X0, Y0), (X0 + 500, Y0 + 800)]),
        LineString([(X0 + 500, Y0 + 800), (X0 + 1000, Y0)])])  # fmt: skip
    g = route_network(seg)
    a, b = _node_at(g, X0, Y0), _node_at(g, X0 + 1000, Y0)
    p = least_risk_paths(g, a, b, alphas=[0.5, 1.0], k=2).set_index(["path", "alpha"])
    side = np.hypot(500, 800) / 1000
    assert p.loc[("shortest", 0.0), "length_km"] == pytest.approx(1.0, abs=1e-12)
    assert p.loc[("shortest", 0.0), "risk_exposure"] == pytest.approx(0.9, abs=1e-12)
    # alpha 0.5: direct costs 1.45 km < 1.887 km: stays; alpha 1: direct 1.9 > 1.887: detours
    assert p.loc[("least_risk", 0.5), "length_km"] == pytest.approx(1.0, abs=1e-12)
    assert p.loc[("least_risk", 1.0), "length_km"] == pytest.approx(2 * side, abs=1e-12)
    assert p.loc[("least_risk", 1.0), "risk_avoided"] == pytest.approx(0.9, abs=1e-12)
    assert p.loc[("alternative_1", 1.0), "cost"] == pytest.approx(1.9, abs=1e-12)


def _random_network(seed: int) -> nx.MultiDiGraph:
    rng = np.random.default_rng(seed)
    n = 5
    pts = {(i, j): (X0 + 2000 * i + rng.uniform(-300, 300), Y0 + 2000 * j + rng.uniform(-300, 300))
           for i in range(n) for j in range(n)}  # fmt: skip
    lines, risk, ids = [], [], []
    for (i, j), p in pts.items():
        for di, dj in ((1, 0), (0, 1)):
            q = pts.get((i + di, j + dj))
            if q is not None and rng.random() < 0.85:
                lines.append(LineString([p, q]))
                risk.append(float(rng.uniform(0, 100)))
                ids.append(f"r{len(ids)}")
    seg = gpd.GeoDataFrame({"segment_id": ids, "route_id": ids, "risk": risk}, geometry=lines, crs=CRS)
    return route_network(seg)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), alpha=st.floats(0.1, 50), k=st.integers(1, 4))
def test_least_risk_never_riskier_never_shorter_and_costs_equal_networkx(seed, alpha, k):
    g = _random_network(seed)
    comp = max(nx.connected_components(g.to_undirected()), key=len)
    nodes = sorted(comp, key=lambda n: (g.nodes[n]["x"], g.nodes[n]["y"]))
    s, t = nodes[0], nodes[-1]
    p = least_risk_paths(g, s, t, alphas=[alpha], k=k)
    short, best = p.iloc[0], p.iloc[1]
    assert best["path"] == "least_risk"
    assert best["risk_exposure"] <= short["risk_exposure"] + 1e-9
    assert best["length_km"] >= short["length_km"] - 1e-9
    # the costs are networkx's shortest path lengths on the same weights
    ug = nx.Graph()
    for u, v, d in g.edges(data=True):
        c = d["length"] * (1 + alpha * d["risk"] / 100)
        old = ug.edges[u, v] if ug.has_edge(u, v) else {"c": np.inf, "l": np.inf}
        ug.add_edge(u, v, c=min(old["c"], c), l=min(old["l"], d["length"]))
    assert best["cost"] * 1000 == pytest.approx(nx.shortest_path_length(ug, s, t, weight="c"), abs=1e-6)
    assert short["length_km"] * 1000 == pytest.approx(nx.shortest_path_length(ug, s, t, weight="l"), abs=1e-6)
    assert np.all(np.diff(p["cost"].to_numpy()[1:]) >= -1e-9)  # Yen's alternatives by increasing cost
    assert (p["extra_km"] >= -1e-9).all()


def test_bad_arguments():
    g = _random_network(1)
    n = next(iter(g.nodes))
    m = list(g.nodes)[-1]
    with pytest.raises(InputError, match="k"):
        least_risk_paths(g, n, m, k=0)
    with pytest.raises(InputError, match="alphas"):
        least_risk_paths(g, n, m, alphas=[-1.0])
    with pytest.raises(InputError, match="km from the nearest network node"):
        least_risk_paths(g, "Tijuana", n)
    with pytest.raises(InputError, match="same network node"):
        least_risk_paths(g, n, n)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    res = CliRunner().invoke(cli, ["score", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.slow
def test_cli_path_on_the_corridors(demo_run, tmp_path):
    out = tmp_path / "paths"
    res = CliRunner().invoke(cli, ["path", "--run", str(demo_run), "--from", "Tapachula", "--to", "Ciudad Juárez",
                                   "--alpha", "2", "--alpha", "50", "--k", "3", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "paths.csv")
    assert list(t.columns) == ["path", "alpha", "length_km", "risk_exposure", "extra_km", "risk_avoided", "cost",
                               "localities"]  # fmt: skip
    short = t.iloc[0]
    assert short["path"] == "shortest" and short["localities"].startswith("Tapachula")
    assert "Ciudad Juárez" in short["localities"]
    best = t[t["path"] == "least_risk"]
    assert len(best) == 2 and (best["risk_exposure"] <= short["risk_exposure"] + 1e-9).all()
    assert (best["length_km"] >= short["length_km"] - 1e-9).all()
    assert set(t["path"]) == {"shortest", "least_risk", "alternative_1", "alternative_2"}
    assert (out / "paths.png").stat().st_size > 10_000 and (out / "paths.gpkg").exists()


def test_cli_path_errors(demo_run, tmp_path):
    res = CliRunner().invoke(cli, ["path", "--run", str(demo_run), "--from", "Nowhereville", "--to", "Tapachula",
                                   "--out", str(tmp_path / "p")])  # fmt: skip
    assert res.exit_code != 0 and "Nowhereville" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "p").exists()


def test_osm_fixture_offline(tmp_path, test_data):
    """A run whose segments follow the fixture's roads: the northern road risky, the southern one safe."""
    pytest.importorskip("osmnx")  # the [osm] extra; part of the dev install
    osm = test_data / "osm" / "detour.osm"
    north = routerisk.build_route([(-92.0, 15.0), (-91.97, 15.0)], network=osm, route_id="n")
    south = LineString([(-92.0, 15.0), (-91.985, 14.97), (-91.97, 15.0)])
    seg = routerisk.segmentize(pd.concat([north, gpd.GeoDataFrame({"route_id": ["s"]}, geometry=[south],
                                                                   crs="EPSG:4326")]), 50_000)  # fmt: skip
    seg["risk"] = np.where(seg["route_id"] == "n", 90.0, 0.0)
    run = tmp_path / "run"
    run.mkdir()
    seg.to_parquet(run / "segments.parquet")
    paths = path_run(run, tmp_path / "out", source=(-92.0, 15.0), target=(-91.97, 15.0), alphas=(0.5, 10.0), k=1,
                     network=osm)  # fmt: skip
    p = paths.set_index(["path", "alpha"])
    north_km = p.loc[("shortest", 0.0), "length_km"]
    assert p.loc[("shortest", 0.0), "risk_exposure"] == pytest.approx(0.9 * north_km, rel=1e-9)
    assert p.loc[("least_risk", 10.0), "risk_exposure"] == 0.0  # the southern road
    assert p.loc[("least_risk", 10.0), "length_km"] > north_km
    assert p.loc[("least_risk", 0.5), "length_km"] == pytest.approx(north_km)  # not worth the detour
    assert (tmp_path / "out" / "paths.csv").exists()
