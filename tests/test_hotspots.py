"""Network hot spots: adjacency, neighbourhoods, attribution, the exact binomial test, calibration and power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from shapely import LineString

from routerisk.stats import (
    DEFAULT_NEIGHBOUR_STEPS,
    DEFAULT_SNAP_M,
    attribute_incidents,
    binom_two_sided_p,
    network_neighbourhood,
    segment_adjacency,
    segment_hotspots,
)


def dense(A):
    return A.toarray().astype(int)


def test_adjacency_t_junction_crossing_consecutive_and_gap():
    segs = np.array(
        [
            LineString([(0, 0), (1000, 0)]),  # 0: route A, first segment
            LineString([(1000, 0), (2000, 0)]),  # 1: route A, consecutive (shares an endpoint)
            LineString([(500, 0), (500, 1000)]),  # 2: T junction on segment 0's interior
            LineString([(1500, -500), (1500, 500)]),  # 3: crosses segment 1
            LineString([(2000, 0), (3000, 0)]),  # 4: route B starts where route A ends
            LineString([(3060, 0), (4000, 0)]),  # 5: 60 m gap after segment 4 (> 50 m snap)
            LineString([(4030, 0), (5000, 0)]),  # 6: 30 m gap after segment 5 (< 50 m snap)
            None,  # 7: missing geometry
            LineString(),  # 8: empty geometry
        ],
        dtype=object,
    )
    A = segment_adjacency(segs)
    expected = np.zeros((9, 9), dtype=int)
    for i, j in [(0, 1), (0, 2), (1, 3), (1, 4), (5, 6)]:
        expected[i, j] = expected[j, i] = 1
    np.testing.assert_array_equal(dense(A), expected)
    # a larger snap bridges the 60 m gap; snap 0 keeps only exact contact
    assert dense(segment_adjacency(segs, snap_m=100.0))[4, 5] == 1
    assert dense(segment_adjacency(segs, snap_m=0.0))[5, 6] == 0
    assert DEFAULT_SNAP_M == 50.0 and DEFAULT_NEIGHBOUR_STEPS == 1
    with pytest.raises(ValueError, match="snap_m"):
        segment_adjacency(segs, snap_m=-1.0)
    assert segment_adjacency(np.array([], dtype=object)).shape == (0, 0)


def test_k_step_neighbourhoods_on_a_chain_with_a_branch():
    # chain 0-1-2-3-4-5, branch 2-6, island 7
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (2, 6)]
    i, j = np.array(edges).T
    A = sp.csr_matrix((np.ones(12), (np.r_[i, j], np.r_[j, i])), shape=(8, 8))
    np.testing.assert_array_equal(dense(network_neighbourhood(A, 0)), np.eye(8, dtype=int))
    H1 = dense(network_neighbourhood(A, 1))
    assert np.flatnonzero(H1[2]).tolist() == [1, 2, 3, 6]
    assert np.flatnonzero(H1[7]).tolist() == [7]
    H2 = dense(network_neighbourhood(A, 2))
    assert np.flatnonzero(H2[0]).tolist() == [0, 1, 2]
    assert np.flatnonzero(H2[6]).tolist() == [1, 2, 3, 6]
    assert np.flatnonzero(H2[4]).tolist() == [2, 3, 4, 5]
    H3 = network_neighbourhood(A, 3)
    assert H3.data.max() == 1.0 and (dense(H3) == dense(H3).T).all()
    # matches boolean matrix powers computed densely
    B = (A.toarray() + np.eye(8)) > 0
    P = np.eye(8, dtype=bool)
    for _ in range(3):
        P = (P.astype(int) @ B.astype(int)) > 0
    np.testing.assert_array_equal(dense(H3), P.astype(int))
    with pytest.raises(ValueError, match="steps"):
        network_neighbourhood(A, -1)


def test_attribution_nearest_segment_ties_and_reach():
    segs = np.array(
        [
            LineString([(0, 0), (1000, 0)]),
            LineString([(1000, 0), (2000, 0)]),
            None,
            LineString([(0, 500), (2000, 500)]),
        ],
        dtype=object,
    )
    xy = np.array(
        [
            [300, 100],  # 100 m from seg 0, 400 m from seg 3 -> 0
            [1000, 0],  # shared endpoint of 0 and 1 -> tie, lowest index 0
            [1500, 300],  # 300 m from seg 1, 200 m from seg 3 -> 3
            [1500, 250],  # 250 m from both 1 and 3 -> tie, lowest index 1
            [5000, 0],  # 3000 m from seg 1: beyond a 1000 m reach -> -1
            [np.nan, 0],  # no coordinates -> -1
            [2500, 0],  # 500 m from seg 1 (its endpoint)
        ]
    )
    assert attribute_incidents(segs, xy, 1000.0).tolist() == [0, 0, 3, 1, -1, -1, 1]
    # per-point reach: the last point (500 m away) drops out with 499 m, stays with exactly 500 m; NaN reach -> -1
    reach = np.array([150.0, 1.0, 250.0, 250.0, np.inf, 10.0, 499.0])
    assert attribute_incidents(segs, xy, reach).tolist() == [0, 0, 3, 1, 1, -1, -1]
    reach[-1] = 500.0
    reach[0] = np.nan
    assert attribute_incidents(segs, xy, reach).tolist() == [-1, 0, 3, 1, 1, -1, 1]
    assert attribute_incidents(segs, np.empty((0, 2)), 10.0).tolist() == []
    assert attribute_incidents(np.array([None], dtype=object), xy[:2], 10.0).tolist() == [-1, -1]


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 10, 0.3), (3, 20, 0.4), (10, 20, 0.5), (17, 20, 0.4), (49, 1625, 3 / 200), (12, 1600, 3 / 200),
     (24, 1600, 3 / 200), (5, 5, 0.99), (0, 100_000, 1e-4), (40, 100_000, 1e-4), (1, 1, 0.5)],
)
def test_exact_two_sided_p_equals_binomtest(k, n, p):
    assert binom_two_sided_p(k, n, p) == pytest.approx(binomtest(k, n, p).pvalue, rel=1e-9, abs=1e-300)


def test_exact_two_sided_p_vectorised_over_random_cases():
    rng = np.random.default_rng(11)
    n = rng.integers(1, 400, 300)
    p = rng.uniform(0.001, 0.999, 300)
    k = np.clip(np.round(rng.normal(n * p, 3 * np.sqrt(n * p * (1 - p)) + 1)), 0, n).astype(np.int64)
    got = binom_two_sided_p(k, n, p)
    want = np.array([binomtest(int(a), int(b), float(c)).pvalue for a, b, c in zip(k, n, p, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)


def chain(n):
    i = np.arange(n - 1)
    return sp.csr_matrix((np.ones(2 * (n - 1)), (np.r_[i, i + 1], np.r_[i + 1, i])), shape=(n, n))


def test_segment_hotspots_by_hand():
    # 6 segments on a chain, lengths 1,1,2,1,1,4 (shares /10); neighbourhood: self and the touching ones
    counts = np.array([0, 1, 9, 2, 0, 3])
    share = np.array([1, 1, 2, 1, 1, 4], dtype=float)
    H = network_neighbourhood(chain(6), 1)
    out = segment_hotspots(counts, share, H)
    N = 15
    obs = [1, 10, 12, 11, 5, 3]
    P = np.array([2, 4, 4, 4, 6, 5]) / 10
    np.testing.assert_array_equal(out["observed"], obs)
    np.testing.assert_allclose(out["expected"], N * P)
    want = [binomtest(o, N, q).pvalue for o, q in zip(obs, P, strict=True)]
    np.testing.assert_allclose(out["p_raw"], want, rtol=1e-9)
    from scipy.stats import false_discovery_control

    np.testing.assert_allclose(out["p_value"], false_discovery_control(want, method="bh"), rtol=1e-12)
    assert list(out.columns) == ["observed", "expected", "gi_z", "p_raw", "p_value", "hotspot"]


def test_labels_direction_and_levels():
    counts = np.full(100, 5)
    counts[50] = 40  # far more than 3 x 5 expected around 50
    counts[10:13] = 0  # an empty stretch
    counts[20] = 12
    out = segment_hotspots(counts, np.ones(100), network_neighbourhood(chain(100), 1))
    assert out["hotspot"].iloc[49:52].tolist() == ["hot 99%"] * 3
    assert out["hotspot"].iloc[11].startswith("cold")
    hot = out["hotspot"].str.startswith("hot")
    assert (out.loc[hot, "observed"] > out.loc[hot, "expected"]).all()
    cold = out["hotspot"].str.startswith("cold")
    assert (out.loc[cold, "observed"] < out.loc[cold, "expected"]).all()
    assert out["hotspot"].iloc[80] == "not significant"
    # labels follow the BH-adjusted p-value thresholds and the sign of observed - expected
    q = out["p_value"].to_numpy()
    side = np.where(out["observed"] > out["expected"], "hot", "cold")
    want = np.where(q <= 0.01, side + " 99%", np.where(q <= 0.05, side + " 95%", side + " 90%"))
    want = np.where(q <= 0.10, want, "not significant")
    assert out["hotspot"].tolist() == want.tolist()
    assert {"hot 99%", "cold 99%", "not significant"} <= set(want)


def test_untested_segments_and_bad_input():
    H = network_neighbourhood(chain(4), 1)
    out = segment_hotspots([0, 0, 0, 0], [1, 1, 1, 1], H)  # N = 0
    assert (out["hotspot"] == "not tested").all() and out["p_raw"].isna().all()
    # share 0 on an island: P = 0, not tested; a neighbourhood covering every positive share: P = 1, not tested
    A = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    out = segment_hotspots([3, 1, 0], [0.5, 0.5, 0.0], network_neighbourhood(A, 1))
    assert out["hotspot"].tolist() == ["not tested"] * 3
    assert out["expected"].tolist() == [4.0, 4.0, 0.0]
    out = segment_hotspots([30, 1, 0, 1], [0.7, 0.1, 0.1, 0.1], sp.csr_matrix((4, 4)))  # neighbourhood = self
    assert out["hotspot"].iloc[0] != "not tested" and np.isfinite(out["p_raw"]).all()
    with pytest.raises(ValueError, match="share"):
        segment_hotspots([1, 2], [0.0, 0.0], sp.identity(2))
    with pytest.raises(ValueError, match="share"):
        segment_hotspots([1, 2], [-1.0, 2.0], sp.identity(2))
    with pytest.raises(ValueError, match="counts"):
        segment_hotspots([1, -2], [1.0, 1.0], sp.identity(2))
    with pytest.raises(ValueError, match="counts"):
        segment_hotspots([1.5, 2], [1.0, 1.0], sp.identity(2))
    with pytest.raises(ValueError, match="counts"):
        segment_hotspots([1, 2, 3], [1.0, 1.0], sp.identity(2))
    with pytest.raises(ValueError, match="neighbourhood"):
        segment_hotspots([1, 2], [1.0, 1.0], sp.identity(3))


# -- calibration and power on a straight 1,000 km route cut into 200 x 5 km segments ----------------------------------
LINE_SEGS = np.array([LineString([(i * 5000.0, 0), ((i + 1) * 5000.0, 0)]) for i in range(200)], dtype=object)
LINE_H = network_neighbourhood(segment_adjacency(LINE_SEGS), DEFAULT_NEIGHBOUR_STEPS)
CLUSTER_CENTRE = 502_500.0  # the middle of segment 100
NEAR_CLUSTER = slice(98, 103)  # segments whose neighbourhood holds a segment within 3 km of the centre


def line_incidents(seed, cluster=0):
    """About 8 incidents per 5 km segment, uniform along the route with 300 m perpendicular jitter, plus
    ``cluster`` incidents around ``CLUSTER_CENTRE`` (1 km standard deviation along the route)."""
    rng = np.random.default_rng(seed)
    m = rng.poisson(1600)
    xy = np.c_[rng.uniform(0, 1_000_000, m), rng.normal(0, 300, m)]
    c = np.c_[rng.normal(CLUSTER_CENTRE, 1000, cluster), rng.normal(0, 300, cluster)]
    return np.r_[xy, c]


def line_hotspots(seed, cluster=0):
    seg = attribute_incidents(LINE_SEGS, line_incidents(seed, cluster), 15_000.0)
    counts = np.bincount(seg[seg >= 0], minlength=len(LINE_SEGS))
    return segment_hotspots(counts, np.full(len(LINE_SEGS), 5000.0), LINE_H)


def test_calibrated_under_the_null():
    # benchmark (200 seeds): any hot/cold label in 5% of runs at q = 0.10; here 50 seeds with slack
    runs = [line_hotspots(seed) for seed in range(50)]
    flagged = np.mean([out["hotspot"].str.startswith(("hot", "cold")).any() for out in runs])
    assert flagged <= 0.20
    # the unadjusted exact p-values are valid and not trivially conservative: P(p <= 0.05) close to 0.05
    p = np.concatenate([out["p_raw"].to_numpy() for out in runs])
    assert np.isfinite(p).all() and 0.03 <= np.mean(p <= 0.05) <= 0.07
    assert 0.06 <= np.mean(p <= 0.10) <= 0.13


def test_planted_cluster_of_25_is_found():
    # benchmark (200 seeds): found in 99% of runs; here 30 seeds
    found = [line_hotspots(1000 + seed, cluster=25)["hotspot"].iloc[NEAR_CLUSTER].str.startswith("hot").any()
             for seed in range(30)]
    assert np.mean(found) >= 0.85
    out = line_hotspots(7, cluster=25)
    far = np.r_[0:90, 111:200]
    assert not out["hotspot"].iloc[far].str.startswith("hot").any()


# -- gi_z against esda ------------------------------------------------------------------------------------------------
ESDA_SCRIPT = """
import sys, warnings
sys.modules["numba"] = None  # esda then uses its pure-Python fallback instead of compiling for ~20 s
import numpy as np
import esda, libpysal
import scipy.sparse as sp
H = sp.load_npz(sys.argv[1])  # binary neighbourhood, self included
x = np.load(sys.argv[2])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    w = libpysal.weights.WSP(H).to_W(silence_warnings=True)
    g = esda.G_Local(x, w, transform="B", star=True, permutations=9, n_jobs=1, keep_simulations=False, seed=1)
np.save(sys.argv[3], g.Zs)
"""


def grid_network(n_routes=8, n_seg=12, step=5000.0):
    """``n_routes`` east-west and ``n_routes`` north-south routes crossing each other, cut into segments."""
    segs = []
    for r in range(n_routes):
        c = (r + 0.5) * n_seg * step / n_routes
        segs += [LineString([(i * step, c), ((i + 1) * step, c)]) for i in range(n_seg)]
        segs += [LineString([(c, i * step), (c, (i + 1) * step)]) for i in range(n_seg)]
    return np.array(segs, dtype=object)


@pytest.mark.slow
def test_gi_z_equals_esda_g_local_star(tmp_path):
    pytest.importorskip("esda")
    import subprocess
    import sys

    segs = grid_network()
    H = network_neighbourhood(segment_adjacency(segs), 2)
    rng = np.random.default_rng(5)
    counts = rng.poisson(rng.gamma(2.0, 2.0, len(segs)))
    out = segment_hotspots(counts, np.ones(len(segs)), H)
    assert out["gi_z"].notna().all()
    sp.save_npz(tmp_path / "H.npz", sp.csr_matrix(H))
    np.save(tmp_path / "x.npy", counts.astype(float))
    files = [str(tmp_path / name) for name in ("H.npz", "x.npy", "z.npy")]
    subprocess.run([sys.executable, "-c", ESDA_SCRIPT, *files], check=True, capture_output=True, timeout=300)
    np.testing.assert_allclose(out["gi_z"], np.load(tmp_path / "z.npy"), rtol=1e-8, atol=1e-8)


# -- properties -------------------------------------------------------------------------------------------------------
@st.composite
def networks(draw, max_n=30):
    """Random counts, shares (some zero) and a random symmetric adjacency, as a neighbourhood of 0-2 steps."""
    n = draw(st.integers(1, max_n))
    counts = np.array(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5]), min_size=n, max_size=n)))
    assume(share.sum() > 0)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    A = sp.lil_matrix((n, n))
    for i, j in pairs:
        if i != j:
            A[i, j] = A[j, i] = 1.0
    H = network_neighbourhood(A.tocsr(), draw(st.integers(0, 2)))
    return counts, share, H


@settings(max_examples=60, deadline=None)
@given(networks())
def test_p_values_are_probabilities_and_untested_is_consistent(net):
    counts, share, H = net
    out = segment_hotspots(counts, share, H)
    tested = out["p_raw"].notna()
    p, q = out["p_raw"][tested], out["p_value"][tested]
    assert ((p >= 0) & (p <= 1)).all() and ((q >= p - 1e-12) & (q <= 1)).all()
    assert (out.loc[~tested, "hotspot"] == "not tested").all() and (out.loc[tested, "hotspot"] != "not tested").all()
    np.testing.assert_allclose(out["expected"], counts.sum() * (H @ (share / share.sum())), rtol=1e-9, atol=1e-12)
    assert (out["observed"] >= counts).all()


@settings(max_examples=60, deadline=None)
@given(networks(), st.randoms(use_true_random=False))
def test_permuting_segments_permutes_results(net, rnd):
    counts, share, H = net
    perm = np.array(rnd.sample(range(len(counts)), len(counts)))
    a = segment_hotspots(counts, share, H)
    b = segment_hotspots(counts[perm], share[perm], H[perm][:, perm])
    pd.testing.assert_frame_equal(a.iloc[perm].reset_index(drop=True), b, check_exact=False, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(networks(), st.integers(1, 5), st.sampled_from([0.0, 1.0, 5.0]))
def test_far_away_empty_segments_act_only_through_the_shares(net, extra, extra_share):
    """Adding ``extra`` disconnected segments without incidents leaves N and every observed count alone. With
    share 0 they are not tested and nothing else changes; with a positive share they take that share from the
    others: every other P_s shrinks by the factor old total / new total (more "hot", fewer "cold"), and they join
    the Benjamini-Hochberg family. ``gi_z`` (descriptive, against the mean count over all segments) changes too."""
    counts, share, H = net
    n = len(counts)
    base = segment_hotspots(counts, share, H)
    H2 = sp.block_diag([H, sp.identity(extra)], format="csr")
    more = segment_hotspots(np.r_[counts, np.zeros(extra, int)], np.r_[share, np.full(extra, extra_share)], H2)
    old = more.iloc[:n].reset_index(drop=True)
    np.testing.assert_array_equal(old["observed"], base["observed"])
    if extra_share == 0.0:
        pd.testing.assert_frame_equal(old.drop(columns="gi_z"), base.drop(columns="gi_z"))
        assert (more["hotspot"].iloc[n:] == "not tested").all()
        return
    factor = share.sum() / (share.sum() + extra * extra_share)
    covers = np.isclose(base["expected"], counts.sum()) & (counts.sum() > 0)  # P_s was 1: now tested
    np.testing.assert_allclose(old["expected"][~covers], base["expected"][~covers] * factor, rtol=1e-12)
    tested = base["p_raw"].notna().to_numpy()
    P = (old["expected"] / max(counts.sum(), 1)).to_numpy()
    want = binom_two_sided_p(old["observed"][tested], counts.sum(), P[tested])
    np.testing.assert_allclose(old["p_raw"][tested], want, rtol=1e-12)


# -- end to end through routerisk.score_segments ----------------------------------------------------------------------
def score_line(seed, cluster=0):
    """The line scenario scored by ``score_segments`` (default model, EPSG:6372, dated homicides)."""
    import geopandas as gpd
    import shapely

    from routerisk import RiskModel, score_segments

    offset = np.array([2_000_000.0, 1_000_000.0])  # central Mexico in EPSG:6372
    segs = gpd.GeoDataFrame(
        {"segment_id": [f"s{i:03d}" for i in range(len(LINE_SEGS))]},
        geometry=[LineString(np.asarray(g.coords) + offset) for g in LINE_SEGS],
        crs="EPSG:6372",
    )
    xy = line_incidents(seed, cluster) + offset
    inc = gpd.GeoDataFrame(
        {"category": np.full(len(xy), "homicide"), "date": pd.Timestamp("2024-06-01")},
        geometry=shapely.points(xy), crs="EPSG:6372",
    )
    return score_segments(segs, inc, model=RiskModel(crs="EPSG:6372"))


@pytest.mark.slow
def test_score_segments_is_calibrated_and_finds_the_cluster():
    # benchmark (200 seeds): see benchmarks/results_hotspots.md; here 30 null runs and 10 with a cluster
    flagged = [score_line(seed)["hotspot"].str.startswith(("hot", "cold")).any() for seed in range(30)]
    assert np.mean(flagged) <= 0.20
    found = [score_line(1000 + seed, cluster=25)["hotspot"].iloc[NEAR_CLUSTER].str.startswith("hot").any()
             for seed in range(10)]
    assert np.mean(found) >= 0.8
    # the columns come from segment_hotspots on the records attributed within reach
    out = score_line(3, cluster=25)
    assert out["p_value"].notna().all() and out["gi_z"].notna().all()
    assert out["gi_z"].iloc[100] > 3


def test_empty_inputs_and_degenerate_probabilities():
    out = segment_hotspots(np.array([], dtype=int), np.array([]), sp.csr_matrix((0, 0)))
    assert len(out) == 0 and list(out.columns) == ["observed", "expected", "gi_z", "p_raw", "p_value", "hotspot"]
    assert attribute_incidents(np.array([], dtype=object), np.array([[0.0, 0.0]]), 5.0).tolist() == [-1]
    assert network_neighbourhood(sp.csr_matrix((0, 0)), 2).shape == (0, 0)
    # P = 0: only k = 0 is possible; P = 1: only k = n
    np.testing.assert_array_equal(binom_two_sided_p([0, 3, 10, 9], 10, [0.0, 0.0, 1.0, 1.0]), [1.0, 0.0, 1.0, 0.0])


def _strtree_attribution(geoms, xy, reach):
    """The reference: STRtree.query_nearest over all equally near segments, lowest index first."""
    pts = shapely.points(xy)
    (qi, ti), dist = shapely.STRtree(geoms).query_nearest(pts, return_distance=True, all_matches=True)
    out = np.full(len(xy), -1)
    keep = dist <= reach[qi]
    qi, ti = qi[keep], ti[keep]
    order = np.lexsort((ti, qi))
    qi, ti = qi[order], ti[order]
    first = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, bool)
    out[qi[first]] = ti[first]
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 50.0, 400.0]))
def test_compiled_attribution_and_adjacency_equal_the_strtree_bit_for_bit(seed, snap):
    """Random bent routes (shared endpoints, crossings, zero-length pieces) and points on vertices and endpoints."""
    from routerisk.stats import attribute_incidents, segment_adjacency

    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 300, (120, 2)), axis=0)
    walk[10] = walk[9]  # a zero-length piece
    geoms = np.array([shapely.LineString(walk[i : i + 4]) for i in range(0, 117, 3)]
                     + [shapely.LineString(rng.uniform(-3000, 3000, (2, 2))) for _ in range(15)], dtype=object)
    xy = np.r_[rng.uniform(walk.min(0) - 500, walk.max(0) + 500, (300, 2)), walk[::3][:20], walk[1:30]]
    reach = rng.choice([50.0, 300.0, 1500.0], len(xy))
    np.testing.assert_array_equal(attribute_incidents(geoms, xy, reach), _strtree_attribution(geoms, xy, reach))
    # reference: shapely.distance <= snap (GEOS 3.14's dwithin at distance 0 misses some pairs that share an
    # endpoint: distance 0, intersects True, dwithin(0) False; the compiled scan follows the distance)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=snap + 1.0)
    near = shapely.distance(geoms[i], geoms[j]) <= snap
    ref = {(a, b) for a, b in zip(i[near].tolist(), j[near].tolist(), strict=True) if a < b}
    A = segment_adjacency(geoms, snap_m=snap).tocoo()
    assert {(a, b) for a, b in zip(A.row.tolist(), A.col.tolist(), strict=True) if a < b} == ref
