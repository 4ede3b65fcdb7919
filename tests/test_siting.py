"""Shelter siting: optimality against brute force and PySAL spopt (the independent reference), behaviour, outputs
and bad input."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shapely import LineString, Point, box

from routerisk import ConfigError, InputError, SolverError, gazetteer
from routerisk.siting import SAME_SITE_KM, ShelterSiting, sites_layers, write_sites
from routerisk.siting import _models as models

# EPSG:6372 coordinates inside Mexico (near Puebla): the analysis CRS is EPSG:6372 itself, so distances are exact
X0, Y0 = 2_800_000.0, 800_000.0
CRS = "EPSG:6372"
ROUTE_Y = (0.0, 20_000.0)  # two parallel east-west routes, 20 km apart
SEG_M = 5_000.0


def make_segments(risk: np.ndarray, n_seg: int = 10) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for r, y in enumerate(ROUTE_Y):
        for i in range(n_seg):
            geoms.append(LineString([(X0 + i * SEG_M, Y0 + y), (X0 + (i + 1) * SEG_M, Y0 + y)]))
            rows.append({"segment_id": f"r{r}-{i}", "route_id": f"r{r}", "seq": i, "length_m": SEG_M})
    segs = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    segs["risk"] = risk
    segs["risk_class"] = np.clip(np.ceil(segs["risk"] / 20), 1, 5).astype(int)
    return segs


def make_instance(seed: int, n_cand: int = 12, n_seg: int = 10):
    rng = np.random.default_rng(seed)
    segs = make_segments(rng.uniform(0, 100, 2 * n_seg), n_seg)
    cx = rng.uniform(0, n_seg * SEG_M, n_cand)
    cy = rng.uniform(-4_000, 24_000, n_cand)
    cands = gpd.GeoDataFrame(
        {"name": [f"Town {i}" for i in range(n_cand)], "state_name": "Puebla"},
        geometry=[Point(X0 + x, Y0 + y) for x, y in zip(cx, cy, strict=True)],
        crs=CRS,
    )
    return segs, cands


def route_distance_km(segs: gpd.GeoDataFrame, pts: gpd.GeoDataFrame) -> np.ndarray:
    """Along-route distance on the two straight routes, computed by hand: |x_i - x_c| + |y_c - y_route|."""
    mid_x = np.array([g.centroid.x for g in segs.geometry])
    route_y = np.array([g.centroid.y for g in segs.geometry])
    px, py = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    return (np.abs(mid_x[:, None] - px[None, :]) + np.abs(route_y[:, None] - py[None, :])) / 1000.0


def weights(segs: gpd.GeoDataFrame) -> np.ndarray:
    return segs["risk"].to_numpy() * segs["length_m"].to_numpy() / 1000.0


def brute_mclp(cover: np.ndarray, w: np.ndarray, k: int) -> float:
    return max(w[cover[:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(cover.shape[1]), k))


@pytest.mark.parametrize(("seed", "k"), [(0, 2), (1, 3), (2, 4)])
def test_mclp_equals_brute_force(seed, k):
    segs, cands = make_instance(seed)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=12)
    res = siting.solve("mclp", k=k, solver="cbc")
    cover = route_distance_km(segs, cands) <= 12
    best = brute_mclp(cover, weights(segs), k)
    assert res.optimal and res.solver == "cbc"
    assert res.objective == pytest.approx(best)
    assert res.share_covered == pytest.approx(best / weights(segs).sum())
    chosen = cands.index[cands["name"].isin(res.sites["locality"])]
    assert weights(segs)[cover[:, chosen].any(axis=1)].sum() == pytest.approx(best)


@pytest.mark.parametrize(("seed", "k", "with_existing"), [(3, 2, False), (4, 3, False), (5, 2, True)])
def test_pmedian_equals_brute_force(seed, k, with_existing):
    segs, cands = make_instance(seed, n_cand=11, n_seg=6)
    existing = None
    if with_existing:
        existing = gpd.GeoDataFrame({"name": ["Old"]}, geometry=[Point(X0 + 1_000, Y0 + 500)], crs=CRS)
    siting = ShelterSiting.from_segments(segs, candidates=cands, existing=existing, radius_km=10)
    res = siting.solve("pmedian", k=k, solver="cbc")
    kept = cands[cands["name"].isin(siting.candidates["locality"])]
    d = route_distance_km(segs, kept)
    if existing is not None:
        d = np.minimum(d, route_distance_km(segs, existing).min(axis=1)[:, None])
    w = weights(segs)
    best = min((w * d[:, list(c)].min(axis=1)).sum() for c in itertools.combinations(range(d.shape[1]), k))
    assert res.optimal
    assert res.objective == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 6, 7])
def test_greedy_within_reported_gap(seed):
    segs, cands = make_instance(seed, n_cand=14)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=8)
    cover = route_distance_km(segs, cands) <= 8
    for k in (2, 3):
        res = siting.solve("mclp", k=k, solver="greedy")
        best = brute_mclp(cover, weights(segs), k)
        assert res.solver == "greedy" and res.bound_method.startswith("LP relaxation")
        assert res.bound >= best - 1e-6  # a valid upper bound
        assert res.objective >= (1 - res.gap) * res.bound - 1e-6
        assert res.objective >= (1 - res.gap) * best - 1e-6


def test_greedy_pmedian_gap_is_a_valid_bound():
    segs, cands = make_instance(8, n_cand=10, n_seg=6)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    greedy = siting.solve("pmedian", k=2, solver="greedy")
    exact = siting.solve("pmedian", k=2, solver="cbc")
    assert greedy.bound <= exact.objective + 1e-6 <= greedy.objective + 2e-6
    assert exact.objective >= (1 - greedy.gap) * greedy.objective - 1e-6


@pytest.mark.parametrize("coverage", [0.5, 0.7, 1.0])
def test_lscp_fewest_sites(coverage):
    segs, cands = make_instance(9, n_cand=12)
    # the far side of each route is always reachable by adding towns on the routes every 10 km
    extra = gpd.GeoDataFrame(
        {"name": [f"Road {i}" for i in range(5)]},
        geometry=[Point(X0 + 5_000 + 10_000 * i, Y0 + 10_000) for i in range(5)],
        crs=CRS,
    )
    cands = pd.concat([cands, extra], ignore_index=True)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=16)
    res = siting.solve("lscp", coverage=coverage, solver="cbc")
    cover = route_distance_km(segs, cands) <= 16
    w = weights(segs)
    k_min = next(
        k for k in range(1, len(cands) + 1) if brute_mclp(cover, w, k) >= coverage * w.sum() * (1 - 1e-9)
    )
    assert len(res.sites) == k_min
    assert res.share_covered >= coverage - 1e-9


def test_existing_shelter_removes_site_and_lowers_neighbours():
    segs, cands = make_instance(10)
    radius = 12
    free = ShelterSiting.from_segments(segs, candidates=cands, radius_km=radius)
    top = free.solve("mclp", k=2, solver="cbc").sites.iloc[0]
    site = cands[cands["name"] == top["locality"]]
    existing = gpd.GeoDataFrame({"name": ["Casa"]}, geometry=site.geometry.to_numpy(), crs=CRS)
    held = ShelterSiting.from_segments(segs, candidates=cands, existing=existing, radius_km=radius)
    res = held.solve("mclp", k=2, solver="cbc")
    assert top["locality"] not in res.sites["locality"].tolist()
    assert top["locality"] in held.excluded["locality"].tolist()
    assert res.existing_share > 0
    before = free.marginal_risk().set_axis(free.candidates["locality"])
    after = held.marginal_risk().set_axis(held.candidates["locality"])
    before = before[after.index]
    assert (after <= before + 1e-9).all()
    d = np.hypot(*(np.c_[held.candidates.geometry.x, held.candidates.geometry.y] - site.geometry.iloc[0].coords[0]).T)
    neighbours = d / 1000 < 2 * radius
    assert (after[neighbours] < before[neighbours] - 1e-9).any()
    assert res.sites["nearest_existing_km"].notna().all()


def test_candidate_near_existing_is_the_same_site():
    segs, cands = make_instance(11)
    p = cands.geometry.iloc[0]
    existing = gpd.GeoDataFrame(geometry=[Point(p.x + 0.9 * SAME_SITE_KM * 1000, p.y)], crs=CRS)
    siting = ShelterSiting.from_segments(segs, candidates=cands, existing=existing, radius_km=10)
    assert cands["name"].iloc[0] not in siting.candidates["locality"].tolist()


def test_excluded_zone_and_unsafe_towns_never_proposed():
    segs, cands = make_instance(12)
    free = ShelterSiting.from_segments(segs, candidates=cands, radius_km=12).solve("mclp", k=3, solver="cbc")
    first, second = free.sites["locality"].iloc[:2]
    p = cands.loc[cands["name"] == first].geometry.iloc[0]
    zone = gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[box(p.x - 500, p.y - 500, p.x + 500, p.y + 500)], crs=CRS)
    zone = zone.to_crs("EPSG:4326")  # a different CRS is reprojected, not mixed
    unsafe = second.upper().replace("TOWN", "TÓWN")  # case and accents ignored
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=12, exclude=[zone, unsafe])
    for model in ("mclp", "pmedian"):
        res = siting.solve(model, k=3, solver="cbc")
        assert first not in res.sites["locality"].tolist()
        assert second not in res.sites["locality"].tolist()
    reasons = dict(zip(siting.excluded["locality"], siting.excluded["reason"], strict=True))
    assert reasons == {first: "inside an excluded zone", second: "listed as unsafe"}


@pytest.mark.parametrize("solver", ["cbc", "greedy"])
def test_coverage_share_monotone_in_k(solver):
    segs, cands = make_instance(13)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=8)
    curve = siting.coverage_curve(6, solver=solver)
    assert curve["k"].tolist() == list(range(7))
    assert (np.diff(curve["share_covered"]) >= -1e-12).all()
    assert curve["share_covered"].iloc[0] == 0.0
    if solver == "cbc":
        cover = route_distance_km(segs, cands) <= 8
        w = weights(segs)
        assert curve["risk_covered"].iloc[3] == pytest.approx(brute_mclp(cover, w, 3))


def test_route_measure_differs_from_straight_on_a_u_turn():
    # east 40 km, north 8 km, west 40 km; a town 2 km from the start is 8 km (straight) but 86 km (route)
    # from the return leg
    pts = [(0, 0), (40_000, 0), (40_000, 8_000), (0, 8_000)]
    geoms = [LineString([(X0 + a[0], Y0 + a[1]), (X0 + b[0], Y0 + b[1])]) for a, b in itertools.pairwise(pts)]
    segs = gpd.GeoDataFrame({"route_id": "u", "seq": [0, 1, 2], "risk": 50.0}, geometry=geoms, crs=CRS)
    town = gpd.GeoDataFrame({"name": ["Near start"]}, geometry=[Point(X0 + 2_000, Y0 + 2_000)], crs=CRS)
    kw = {"candidates": town, "radius_km": 25}
    along = ShelterSiting.from_segments(segs, measure="route", **kw).solve(k=1)
    straight = ShelterSiting.from_segments(segs, measure="straight", **kw).solve(k=1)
    # midpoints: leg 0 at 20 km along (route: 18 + 2 = 20 km), leg 1 at 44 km, leg 2 at 68 km
    assert along.segments["covered_new"].tolist() == [True, False, False]
    # straight: leg 0 midpoint ~18.1 km, leg 1 ~38.0 km, leg 2 ~18.9 km
    assert straight.segments["covered_new"].tolist() == [True, False, True]


def test_ranked_sites_table_and_layers():
    segs, cands = make_instance(14)
    existing = gpd.GeoDataFrame({"name": ["Casa"]}, geometry=[Point(X0, Y0 - 1_000)], crs=CRS)
    res = ShelterSiting.from_segments(segs, candidates=cands, existing=existing, radius_km=10).solve(k=3)
    cols = ["rank", "site_id", "locality", "state", "lon", "lat", "marginal_risk_covered", "cum_share_covered",
            "nearest_existing_km"]
    assert list(res.sites.columns[: len(cols)]) == cols
    assert res.sites.crs.to_epsg() == 4326
    assert res.sites["rank"].tolist() == [1, 2, 3]
    assert (np.diff(res.sites["marginal_risk_covered"]) <= 1e-9).all()  # greedy ranking within the chosen set
    share = res.existing_share + res.sites["marginal_risk_covered"].cumsum() / res.total_risk
    np.testing.assert_allclose(res.sites["cum_share_covered"], share)
    assert res.sites["cum_share_covered"].iloc[-1] == pytest.approx(res.share_covered)
    assert res.sites["state"].eq("Puebla").all()
    layers = sites_layers(res)
    assert set(layers) == {"sites", "coverage", "gaps", "existing"}
    assert all(g.crs.to_epsg() == 4326 for g in layers.values())
    assert len(layers["coverage"]) == 3 and (layers["coverage"]["covered_km"] > 0).all()
    assert "Casa" in layers["existing"]["locality"].tolist()
    assert res.curve["share_covered"].iloc[-1] == pytest.approx(res.share_covered)


def test_protection_gaps_by_hand():
    risk = np.array([10, 90, 90, 90, 10, 90, 90, 10, 10, 10] + [10] * 10, dtype=float)
    segs = make_segments(risk)
    # one town on route r0 at 37.5 km covers 35-40 km only (radius 3 km); nothing else
    town = gpd.GeoDataFrame({"name": ["T"]}, geometry=[Point(X0 + 37_500, Y0)], crs=CRS)
    res = ShelterSiting.from_segments(segs, candidates=town, radius_km=3).solve(k=1)
    gaps = res.gaps
    assert gaps[["route_id", "from_km", "to_km", "length_km"]].values.tolist() == [
        ["r0", 5.0, 20.0, 15.0],
        ["r0", 25.0, 35.0, 10.0],
    ]
    assert gaps["mean_risk"].tolist() == pytest.approx([90.0, 90.0])
    assert gaps["rank"].tolist() == [1, 2]
    # an existing shelter at 30 km closes the second gap (it covers 27.5-32.5 km: midpoints 27.5 and 32.5 km)
    existing = gpd.GeoDataFrame(geometry=[Point(X0 + 30_000, Y0 + 2_000)], crs=CRS)
    closed = ShelterSiting.from_segments(segs, candidates=town, existing=existing, radius_km=5).solve(k=1)
    assert closed.gaps[["from_km", "to_km"]].values.tolist() == [[5.0, 20.0]]
    assert res.params["gap_rule"] == "risk_class >= 4"


def test_public_mode_missing_risk_counts_as_zero():
    segs, cands = make_instance(15)
    segs.loc[:9, "risk"] = np.nan  # route r0 suppressed
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    assert siting.total_demand == pytest.approx(weights(segs.fillna({"risk": 0.0})).sum())
    res = siting.solve(k=2)
    assert not res.segments.loc[:9, "demand"].any()


def test_demand_column_is_used():
    segs, cands = make_instance(16)
    segs["flow"] = 0.0
    segs.loc[segs["route_id"] == "r1", "flow"] = 1.0
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10, demand_column="flow")
    assert siting.total_demand == 10.0


def test_gazetteer_candidates_within_reach(monkeypatch):
    segs, _ = make_instance(17)
    seg4326 = segs.to_crs("EPSG:4326")
    lon0, lat0 = seg4326.geometry.iloc[0].coords[0]
    table = pd.DataFrame({
        "locality_id": [1, 2, 3],
        "name": ["Cerca", "Lejos", "Zona"],
        "state_code": ["21", "21", "21"],
        "state_name": ["Puebla"] * 3,
        "population": [1000, 1000, 1000],
        "lon": [lon0 + 0.05, lon0, lon0 + 0.1],
        "lat": [lat0 + 0.02, lat0 + 1.0, lat0],
    })
    monkeypatch.setattr(gazetteer, "load_localities", lambda: table.copy())
    siting = ShelterSiting.from_segments(segs, candidate_distance_km=10, radius_km=20)
    assert sorted(siting.candidates["locality"]) == ["Cerca", "Zona"]
    assert siting.params["candidates"].startswith("gazetteer")
    siting = ShelterSiting.from_segments(segs, radius_km=20, exclude="Zona")
    assert siting.solve(k=1).sites["locality"].tolist() == ["Cerca"]
    with pytest.raises(SolverError, match=r"no gazetteer locality lies within 0\.1 km"):
        ShelterSiting.from_segments(segs, candidate_distance_km=0.1)


def test_auto_falls_back_to_greedy_with_a_message(monkeypatch):
    segs, cands = make_instance(18)
    monkeypatch.setattr(models, "CBC_MAX_NONZEROS", 0)
    res = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10).solve(k=3, solver="auto")
    assert res.solver == "greedy"
    assert any("used the greedy heuristic" in n for n in res.notes)
    assert 0.0 <= res.gap < 1.0
    assert "greedy" in res.summary()


def test_write_sites(tmp_path):
    segs, cands = make_instance(19)
    seg_file = tmp_path / "segments.gpkg"
    segs.to_file(seg_file, layer="segments")
    res = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10).solve(k=2)
    out = write_sites(res, tmp_path / "out", inputs={"segments": seg_file}, command="test")
    names = {p.name for p in out.iterdir()}
    assert names == {"sites.gpkg", "sites.csv", "coverage_curve.csv", "coverage_curve.png", "gaps.csv",
                     "manifest.json"}
    layers = dict(pyogrio.list_layers(out / "sites.gpkg"))
    assert set(layers) == {"sites", "coverage", "gaps", "layer_styles"}
    assert len(pd.read_csv(out / "sites.csv")) == 2
    man = json.loads((out / "manifest.json").read_text())
    assert man["inputs"]["segments"]["sha256"]
    assert man["parameters"]["radius_km"] == 10 and man["parameters"]["model"] == "mclp"
    assert set(man["outputs"]) == names - {"manifest.json"}
    assert (out / "coverage_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_write_sites_without_gaps(tmp_path):
    segs = make_segments(np.full(20, 10.0))  # nothing high-risk: an empty gaps layer
    town = gpd.GeoDataFrame({"name": ["T"]}, geometry=[Point(X0, Y0)], crs=CRS)
    res = ShelterSiting.from_segments(segs, candidates=town, radius_km=5).solve(k=1)
    assert res.gaps.empty
    out = write_sites(res, tmp_path / "out")
    assert len(gpd.read_file(out / "sites.gpkg", layer="gaps")) == 0


@pytest.mark.parametrize("radius", [0, -5, float("nan")])
def test_bad_radius(radius):
    segs, cands = make_instance(20)
    with pytest.raises(ConfigError, match=r"`radius_km` was .* must be a positive number"):
        ShelterSiting.from_segments(segs, candidates=cands, radius_km=radius)


def test_k_larger_than_candidates():
    segs, cands = make_instance(21, n_cand=4)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    with pytest.raises(ConfigError, match="`k` was 5 but only 4 candidate site"):
        siting.solve(k=5)
    with pytest.raises(ConfigError, match="whole number"):
        siting.solve(k=0)


def test_no_candidate_within_reach():
    segs, _ = make_instance(22)
    far = gpd.GeoDataFrame({"name": ["Far"]}, geometry=[Point(X0, Y0 + 200_000)], crs=CRS)
    siting = ShelterSiting.from_segments(segs, candidates=far, radius_km=30)
    with pytest.raises(SolverError, match="no candidate within reach"):
        siting.solve(k=1)


def test_every_candidate_excluded():
    segs, cands = make_instance(23, n_cand=2)
    with pytest.raises(SolverError, match="no candidate sites left"):
        ShelterSiting.from_segments(segs, candidates=cands, radius_km=10, exclude=list(cands["name"]))


def test_unreachable_coverage_target():
    segs, _ = make_instance(24)
    town = gpd.GeoDataFrame({"name": ["T"]}, geometry=[Point(X0, Y0)], crs=CRS)
    siting = ShelterSiting.from_segments(segs, candidates=town, radius_km=5)
    with pytest.raises(SolverError, match="cannot be reached"):
        siting.solve("lscp", coverage=0.9)
    with pytest.raises(ConfigError, match="`coverage`"):
        siting.solve("lscp", coverage=1.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"measure": "euclid"}, ConfigError, "`measure` was 'euclid'"),
        ({"candidates": "somewhere"}, ConfigError, "`candidates` was 'somewhere'"),
        ({"demand_column": "flow"}, InputError, "`demand_column` 'flow'"),
    ],
)
def test_bad_options(kwargs, error, match):
    segs, cands = make_instance(25)
    kwargs = {"candidates": cands, **kwargs}
    with pytest.raises(error, match=match):
        ShelterSiting.from_segments(segs, **kwargs)


def test_bad_inputs():
    segs, cands = make_instance(26)
    with pytest.raises(InputError, match="no risk to cover"):
        ShelterSiting.from_segments(segs.assign(risk=np.nan), candidates=cands)
    with pytest.raises(InputError, match="no `risk` column"):
        ShelterSiting.from_segments(segs.drop(columns="risk"), candidates=cands)
    with pytest.raises(InputError, match="Point geometries"):
        ShelterSiting.from_segments(segs, candidates=segs)
    with pytest.raises(InputError, match="`segments` is empty"):
        ShelterSiting.from_segments(segs.iloc[:0], candidates=cands)
    siting = ShelterSiting.from_segments(segs, candidates=cands)
    with pytest.raises(ConfigError, match="`model` was 'center'"):
        siting.solve("center")


@pytest.mark.parametrize("seed", [27, 28])
def test_covering_models_match_brute_force_on_routes(seed):
    segs, cands = make_instance(seed)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    res = siting.solve("mclp", k=3, solver="cbc")
    best = brute_mclp(route_distance_km(segs, cands) <= 10, weights(segs), 3)
    assert res.objective == pytest.approx(best) and res.optimal
    lscp = siting.solve("lscp", coverage=0.5, solver="cbc")
    assert lscp.share_covered >= 0.5


# spopt (PySAL) is the independent reference here: routerisk builds the MCLP, LSCP and p-median models itself
# (routerisk.siting._solvers) and never imports spopt; both are solved by the same CBC, so the optima must agree.
_CBC_REF = {"msg": False}


def _spopt_mclp(cover: np.ndarray, w: np.ndarray, k: int) -> float:
    import pulp
    from spopt.locate import MCLP

    model = MCLP.from_cost_matrix(np.where(cover, 0.0, 2.0), w, service_radius=1.0, p_facilities=k)
    model.solve(pulp.PULP_CBC_CMD(**_CBC_REF))
    return float(pulp.value(model.problem.objective) or 0.0)


def _spopt_lscp(cover: np.ndarray) -> int:
    import pulp
    from spopt.locate import LSCP

    model = LSCP.from_cost_matrix(np.where(cover, 0.0, 2.0), service_radius=1.0)
    model.solve(pulp.PULP_CBC_CMD(**_CBC_REF))
    return round(pulp.value(model.problem.objective))


def _spopt_pmedian(cost: np.ndarray, w: np.ndarray, k: int) -> float:
    import pulp
    from spopt.locate import PMedian

    model = PMedian.from_cost_matrix(cost, w, p_facilities=k)  # every row, the weight-0 ones included
    model.solve(pulp.PULP_CBC_CMD(**_CBC_REF))
    return float(pulp.value(model.problem.objective))


@st.composite
def covering_instances(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(2, 7))
    cover = draw(hnp.arrays(bool, (n, m), elements=st.booleans(), fill=st.just(False)))  # sparse and dense
    w = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 7.0])))
    k = draw(st.integers(1, m))
    return cover, w, k


@settings(max_examples=40, deadline=None)
@given(covering_instances())
def test_mclp_optimum_equals_spopt_and_brute_force(instance):
    from scipy import sparse

    from routerisk.siting._solvers import covered_weight, mclp_cbc

    cover, w, k = instance
    sol = mclp_cbc(sparse.csr_matrix(cover), w, k, 30)
    assert sol.optimal and len(sol.chosen) <= k and len(set(sol.chosen.tolist())) == len(sol.chosen)
    assert sol.objective == pytest.approx(covered_weight(sparse.csr_matrix(cover), w, sol.chosen))
    assert sol.objective == pytest.approx(_spopt_mclp(cover, w, k), abs=1e-9)
    assert sol.objective == pytest.approx(brute_mclp(cover, w, k), abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(covering_instances())
def test_lscp_optimum_equals_spopt(instance):
    from scipy import sparse

    from routerisk.siting._solvers import lscp_cbc

    cover = instance[0]
    cover = cover[cover.any(axis=1)]  # LSCP covers every row: keep the coverable ones (spopt is infeasible otherwise)
    if not len(cover):
        return
    sol = lscp_cbc(sparse.csr_matrix(cover), np.ones(len(cover)), 30)
    assert sol.optimal and cover[:, sol.chosen].any(axis=1).all()
    assert sol.objective == len(sol.chosen) == _spopt_lscp(cover)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 10).flatmap(lambda n: st.tuples(
        hnp.arrays(np.float64, (n, 5), elements=st.integers(1, 40).map(float)),  # > 0: spopt fails on a zero objective
        hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 2.5, 4.0])),
        st.integers(1, 5),
    ))
)
def test_pmedian_optimum_equals_spopt_and_brute_force(instance):
    from routerisk.siting._solvers import pmedian_cbc, pmedian_cost

    cost, w, k = instance
    if not (w > 0).any():
        w = w + 1.0
    sol = pmedian_cbc(cost, w, k, 30)
    assert sol.optimal and len(sol.chosen) == k
    brute = min(pmedian_cost(cost, w, np.array(c)) for c in itertools.combinations(range(cost.shape[1]), k))
    assert sol.objective == pytest.approx(brute, abs=1e-9)
    assert sol.objective == pytest.approx(_spopt_pmedian(cost, w, k), abs=1e-9)


def test_siting_never_imports_spopt():
    """Solving every model (CBC) leaves spopt, libpysal and scikit-learn unimported: spopt is a test reference only."""
    code = (
        "import sys\n"
        "import geopandas as gpd\n"
        "from shapely import LineString, Point\n"
        "from routerisk.siting import ShelterSiting\n"
        "segs = gpd.GeoDataFrame({'route_id': ['a'] * 4, 'seq': range(4)}, geometry=[LineString([(i * 10_000, 0), "
        "((i + 1) * 10_000, 0)]) for i in range(4)], crs='EPSG:6372')\n"
        "towns = gpd.GeoDataFrame(geometry=[Point(5_000, 0), Point(20_000, 0), Point(35_000, 0)], crs='EPSG:6372')\n"
        "s = ShelterSiting(segs, towns, weights=[4.0, 1.0, 1.0, 4.0], radius_km=6)\n"
        "r = [s.solve(m, k=2, coverage=1.0, solver='cbc') for m in ('mclp', 'pmedian', 'lscp')]\n"
        "print([x.solver for x in r], [x.optimal for x in r], round(r[0].objective, 6))\n"
        "print(sorted(m for m in ('spopt', 'libpysal', 'pointpats', 'sklearn') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['cbc', 'cbc', 'cbc'] [True, True, True] 8.0", "[]"]  # A and C cover 4 + 4


def test_no_spopt_in_the_package_source():
    from pathlib import Path

    import routerisk

    root = Path(routerisk.__file__).parent
    hits = [str(f.relative_to(root)) for f in root.rglob("*.py")
            if re.search(r"^\s*(import|from)\s+spopt\b", f.read_text(encoding="utf-8"), re.M)]
    assert hits == []


def test_undominated_columns_keep_the_optimum():
    from scipy import sparse

    from routerisk.siting._solvers import undominated

    A = sparse.csr_matrix(np.array([[1, 1, 0, 1], [1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=bool))
    # column 1 is inside column 0, column 3 equals column 0 (the lower index is kept)
    assert undominated(A).tolist() == [0, 2]


def test_cbc_time_out_falls_back_or_is_flagged(monkeypatch):
    from routerisk.siting import _solvers

    real = _solvers.mclp_cbc

    def timed_out(A, w, k, time_limit_s):
        sol = real(A, w, k, time_limit_s)
        sol.optimal = False  # as when CBC stops at its time limit with an incumbent
        return sol

    monkeypatch.setattr(_solvers, "mclp_cbc", timed_out)
    segs, cands = make_instance(29)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    auto = siting.solve(k=3, solver="auto", time_limit_s=5)
    assert auto.solver == "greedy" and any("time limit" in n for n in auto.notes)
    assert auto.bound_method.startswith("LP relaxation") and 0 <= auto.gap < 1
    cbc = siting.solve(k=3, solver="cbc", time_limit_s=5)
    assert cbc.solver == "cbc" and not cbc.optimal and np.isnan(cbc.gap)
    assert any("not proven optimal" in n for n in cbc.notes)
    curve = siting.coverage_curve(4, solver="auto")
    assert curve["method"].tolist() == ["existing", "best found", "greedy", "greedy", "greedy"]
    assert (np.diff(curve["share_covered"]) >= 0).all()


def test_shipped_corridor_and_gazetteer():
    from routerisk.datasets import load_corridors
    from routerisk.routes import segmentize

    corridor = load_corridors().iloc[:1]
    segs = segmentize(corridor, 10_000.0)
    segs["risk"] = np.linspace(0, 100, len(segs))
    siting = ShelterSiting.from_segments(segs, radius_km=25)
    assert len(siting.candidates) > 10 and (siting.candidates["state"] != "").all()
    res = siting.solve(k=3)
    assert len(res.sites) == 3 and res.sites["locality"].is_unique
    assert res.share_covered > 0


@pytest.mark.parametrize("measure", ["route", "straight"])
def test_sparse_coverage_matches_dense_distances(measure):
    from routerisk.siting import MEASURES
    from routerisk.siting._geometry import build_demand

    rng = np.random.default_rng(30)
    geoms, rows = [], []
    for r in range(3):  # three wiggly routes, one with a long last segment
        xy = np.cumsum(rng.uniform(-4_000, 9_000, (16, 2)), axis=0) + np.array([X0, Y0 + r * 15_000])
        xy[-1] += [60_000, 0]
        for i in range(15):
            geoms.append(LineString([xy[i], xy[i + 1]]))
            rows.append({"route_id": f"r{r}", "seq": i})
    segs = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    demand = build_demand(segs, np.ones(len(segs)))
    pts = np.array([Point(x, y) for x, y in rng.uniform([X0, Y0 - 10_000], [X0 + 150_000, Y0 + 60_000], (40, 2))])
    for radius in (5_000.0, 20_000.0):
        A = MEASURES[measure].coverage(demand, pts, radius).toarray()
        dist = MEASURES[measure].distances(demand, pts)
        within = dist <= radius
        np.testing.assert_array_equal(A, within)
    # along-route positions: each route starts at 0 and chains its segments
    start = pd.Series(demand.start_m).groupby(segs["route_id"]).min()
    assert (start == 0).all()


def test_greedy_guarantee_bound_when_the_lp_is_too_large(monkeypatch):
    segs, cands = make_instance(31, n_cand=13)
    monkeypatch.setattr(models, "LP_MAX_NNZ", 0)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=9)
    res = siting.solve("mclp", k=3, solver="greedy")
    best = brute_mclp(route_distance_km(segs, cands) <= 9, weights(segs), 3)
    assert res.bound_method == "greedy guarantee 1-(1-1/k)^k"
    assert res.bound == pytest.approx(res.objective / (1 - (2 / 3) ** 3))
    assert res.bound >= best - 1e-6 and res.objective >= (1 - res.gap) * best - 1e-6


def test_auto_without_cbc_and_long_curves(monkeypatch):
    from routerisk.siting import _solvers

    segs, cands = make_instance(32)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=8)
    monkeypatch.setattr(models, "CURVE_CBC_MAX_K", 2)
    curve = siting.coverage_curve(5, solver="auto")
    assert curve["method"].tolist() == ["existing", "optimal", "optimal", "greedy", "greedy", "greedy"]
    assert (np.diff(curve["share_covered"]) >= 0).all()
    monkeypatch.setattr(_solvers, "cbc_available", lambda: False)
    res = siting.solve(k=2, solver="auto")
    assert res.solver == "greedy" and any("CBC solver is not available" in n for n in res.notes)


@pytest.mark.parametrize("seed", [33, 34, 35])
def test_greedy_pmedian_lagrangian_bound(monkeypatch, seed):
    segs, cands = make_instance(seed, n_cand=12, n_seg=8)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10)
    exact = siting.solve("pmedian", k=3, solver="cbc")
    monkeypatch.setattr(models, "PMEDIAN_MAX_CELLS", 0)  # no LP: the Lagrangian bound
    greedy = siting.solve("pmedian", k=3, solver="greedy")
    assert greedy.bound_method.startswith("Lagrangian")
    assert greedy.bound <= exact.objective * (1 + 1e-9)
    assert exact.objective >= (1 - greedy.gap) * greedy.objective - 1e-6
    assert greedy.gap < 0.25


def test_point_zones_with_radius_exclude_around_them():
    segs, cands = make_instance(36)
    p = cands.geometry.iloc[0]
    zone = gpd.GeoDataFrame({"radius_m": [3_000.0]}, geometry=[Point(p.x + 2_000, p.y)], crs=CRS)
    siting = ShelterSiting.from_segments(segs, candidates=cands, radius_km=10, exclude=zone)
    assert siting.excluded["locality"].tolist() == [cands["name"].iloc[0]]


def test_one_radius_default_everywhere():
    import inspect

    from routerisk import pipeline
    from routerisk.siting import DEFAULT_RADIUS_KM, ShelterSiting

    defaults = [
        inspect.signature(ShelterSiting).parameters["radius_km"].default,
        inspect.signature(ShelterSiting.from_segments).parameters["radius_km"].default,
        inspect.signature(pipeline.run).parameters["sites_radius_km"].default,
    ]
    assert defaults == [DEFAULT_RADIUS_KM] * 3


def test_unknown_model_lists_the_registry():
    from routerisk.siting import model_names

    segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(X0, Y0), (X0 + 1000, Y0)])], crs=CRS)
    town = gpd.GeoDataFrame(geometry=[Point(X0 + 500, Y0)], crs=CRS)
    siting = ShelterSiting(segs, town, weights=[1.0], radius_km=1)
    with pytest.raises(ConfigError, match=re.escape(str(model_names()))):
        siting.solve("maxcover", k=1)


def test_the_docs_list_every_registered_model():
    from pathlib import Path

    from routerisk.siting import MODELS

    text = (Path(__file__).resolve().parents[1] / "docs" / "siting.md").read_text(encoding="utf-8")
    for name, model in MODELS.items():
        assert f"`{name}`" in text and f"`{model.spopt}`" in text
