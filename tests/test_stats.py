"""Neighbours, Gi* (checked against esda), FDR labels, planted clusters and spatially random data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import norm

from routerisk.stats import (
    classify,
    distance_band_neighbours,
    fdr_hotspot_labels,
    fisher_jenks_bins,
    gi_star,
    hotspots,
    poisson1_counts,
    quantile_bins,
)


def test_distance_band_neighbours_symmetric_without_self():
    xy = [[0, 0], [0, 1000], [0, 2500], [np.nan, np.nan], [10, 10]]
    A = distance_band_neighbours(xy, 1000.0)
    dense = A.toarray()
    assert (dense == dense.T).all() and not dense.diagonal().any()
    assert dense[0, 1] == 1 and dense[1, 2] == 0 and not dense[3].any()
    assert dense[0, 4] == 1 and dense[1, 4] == 1


def test_gi_star_formula_by_hand():
    # 5 points on a line, neighbours within 1: Gi* of the middle one uses x1 + x2 + x3
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    A = distance_band_neighbours([[i, 0] for i in range(5)], 1.0)
    z, p = gi_star(x, A, permutations=0)
    n, xbar, s = 5, x.mean(), x.std()
    W = 3.0
    expected = (x[1:4].sum() - W * xbar) / (s * np.sqrt((n * W - W**2) / (n - 1)))
    assert z[2] == pytest.approx(expected)
    assert np.isnan(p).all()


def test_constant_values_and_islands_are_not_tested():
    A = distance_band_neighbours([[0, 0], [1, 0], [2, 0], [100, 0]], 1.0)
    z, p = gi_star([1.0, 1.0, 1.0, 1.0], A, permutations=99, seed=0)
    assert np.isnan(z).all() and np.isnan(p).all()
    z, p = gi_star([1.0, 2.0, 3.0, 4.0], A, permutations=99, seed=0)
    assert np.isnan(z[3]) and np.isnan(p[3]) and np.isfinite(p[:3]).all()
    out = hotspots([1.0, 2.0, 3.0, 4.0], [[0, 0], [1, 0], [2, 0], [100, 0]], distance_m=1.0, permutations=99, seed=0)
    assert out["hotspot"].iloc[3] == "not tested"


def test_ties_at_zero_do_not_look_significant():
    # most values zero: a zero segment among zeros must not come out as a cold spot
    x = np.zeros(200)
    x[:5] = 1.0
    A = distance_band_neighbours([[i, 0] for i in range(200)], 2.0)
    _, p = gi_star(x, A, permutations=199, seed=3)
    assert p[100] > 0.5  # esda's folded count would give 1 / (199 + 1) here


def test_shared_permutation_counts_equal_direct_sums():
    from routerisk.stats import _perm_counts

    rng = np.random.default_rng(4)
    n, nperm = 60, 200
    x = rng.gamma(2.0, 1.0, n)
    x[:10] = 0.0  # ties
    k = rng.integers(0, 8, n)
    obs = rng.uniform(0, 12, n)
    obs[5] = 0.0
    rids = np.array([rng.choice(n - 1, 7, replace=False) for _ in range(nperm)])
    ge, le = _perm_counts(x, k, obs, rids)
    for i in range(n):
        y = x[: n - 1].copy()
        if i < n - 1:
            y[i] = x[n - 1]  # the other n - 1 values, x[i] swapped out
        sims = y[rids[:, : k[i]]].sum(axis=1)
        if k[i] == 0:
            assert ge[i] == le[i] == 0
            continue
        assert ge[i] == np.sum(sims >= obs[i] - 1e-9 * (obs[i] + x.max()))
        assert le[i] == np.sum(sims <= obs[i] + 1e-9 * (obs[i] + x.max()))


def test_fdr_labels():
    z = np.array([4.0, 3.0, 2.0, -4.0, 0.5, np.nan])
    p = np.array([0.001, 0.02, 0.08, 0.001, 0.9, np.nan])
    labels, q = fdr_hotspot_labels(z, p)
    assert labels.tolist() == ["hot 99%", "hot 95%", "hot 90%", "cold 99%", "not significant", "not tested"]
    assert q[1] == pytest.approx(0.02 * 5 / 3) or q[1] <= 0.05


def line_with_cluster(seed, n=200, cluster=slice(90, 110), strength=3.0):
    rng = np.random.default_rng(seed)
    xy = np.c_[np.arange(n) * 1000.0, np.zeros(n)]
    x = rng.gamma(2.0, 1.0, n)
    if cluster is not None:
        x[cluster] += strength * x.std() + 2.0
    return xy, x


def test_planted_cluster_is_found():
    xy, x = line_with_cluster(1)
    out = hotspots(x, xy, distance_m=2000.0, permutations=999, seed=2021)
    hot = out["hotspot"].str.startswith("hot").to_numpy()
    assert hot[92:108].all()  # the core of the cluster
    assert not hot[:80].any() and not hot[120:].any()


def test_random_data_finds_nothing_after_fdr_in_most_seeds():
    clean = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        xy = rng.uniform(0, 100_000, (300, 2))
        x = rng.gamma(2.0, 1.0, 300)
        out = hotspots(x, xy, distance_m=10_000.0, permutations=999, seed=seed)
        clean += int(out["hotspot"].isin(["not significant", "not tested"]).all())
    assert clean >= 8


def test_permutations_are_seeded():
    xy, x = line_with_cluster(5)
    a = hotspots(x, xy, distance_m=2000.0, permutations=199, seed=7)
    b = hotspots(x, xy, distance_m=2000.0, permutations=199, seed=7)
    np.testing.assert_array_equal(a["p_sim"], b["p_sim"])


ESDA_SCRIPT = """
import sys, warnings
sys.modules["numba"] = None  # esda then uses its pure-Python fallback instead of compiling for ~20 s
import numpy as np
import esda, libpysal
import scipy.sparse as sp
A = sp.load_npz(sys.argv[1])
x = np.load(sys.argv[2])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    w = libpysal.weights.WSP(A).to_W(silence_warnings=True)
    g = esda.G_Local(x, w, transform="B", star=True, permutations=999, n_jobs=1, keep_simulations=False, seed=1)
np.savez(sys.argv[3], z=g.Zs, p=g.p_sim, p_norm=g.p_norm)
"""


@pytest.mark.slow
def test_matches_esda_g_local_star(tmp_path):
    # One esda call, in a subprocess that hides numba: esda would otherwise compile for ~20 s.
    pytest.importorskip("esda")
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (200, 2))
    x = rng.gamma(2.0, 1.0, 200)
    A = distance_band_neighbours(xy, 20.0)
    sp.save_npz(tmp_path / "A.npz", A)
    np.save(tmp_path / "x.npy", x)
    files = [str(tmp_path / name) for name in ("A.npz", "x.npy", "g.npz")]
    subprocess.run([sys.executable, "-c", ESDA_SCRIPT, *files], check=True, capture_output=True, timeout=300)
    g = np.load(tmp_path / "g.npz")
    z, p = gi_star(x, A, permutations=999, seed=1)
    np.testing.assert_allclose(z, g["z"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(norm.sf(np.abs(z)), g["p_norm"], rtol=1e-8)  # analytic one-sided p-values
    # different random streams: agree within Monte Carlo error
    assert np.max(np.abs(p - g["p"])) < 0.1
    assert np.corrcoef(p, g["p"])[0, 1] > 0.95


# -- classes ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_bins_match_mapclassify(seed):
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(seed)
    # three well separated groups plus noise: the optimal breaks are not near-ties (mapclassify works in float32)
    y = np.concatenate([rng.normal(10, 1, 150), rng.normal(30, 2, 100), rng.normal(60, 3, 50), rng.uniform(0, 80, 30)])
    for k in (3, 5):
        np.testing.assert_allclose(quantile_bins(y, k), mapclassify.Quantiles(y, k=k).bins, rtol=1e-12)
        np.testing.assert_allclose(fisher_jenks_bins(y, k), mapclassify.FisherJenks(y, k=k).bins, rtol=1e-6)
        expected = mapclassify.FisherJenks(y, k=k).yb + 1
        np.testing.assert_array_equal(classify(y, "fisher_jenks", k), expected)
        np.testing.assert_array_equal(classify(y, "quantiles", k), mapclassify.Quantiles(y, k=k).yb + 1)


def test_classify_ties_constants_and_large_input():
    assert classify([], "quantiles").tolist() == []
    assert classify([2.0, 2.0, 2.0], "fisher_jenks").tolist() == [1, 1, 1]
    assert classify([0.0, 0.0, 0.0, 0.0, 1.0], "quantiles").tolist() == [1, 1, 1, 1, 3]  # bins 0, 0.2, 1
    assert classify([0.0, np.nan, 1.0], "quantiles").tolist() == [1, 1, 5]
    y = np.random.default_rng(0).gamma(2.0, 1.0, 20_000)
    c = classify(y, "fisher_jenks")  # sampled: stays fast
    assert set(c.tolist()) == {1, 2, 3, 4, 5} and c[np.argmax(y)] == 5
    with pytest.raises(ValueError, match="`scheme`"):
        classify([1.0, 2.0], "jenks")


def test_poisson1_counts_distribution_and_addressing():
    c = poisson1_counts(2021, np.arange(50_000), 0, 20)
    freq = np.bincount(c.ravel().astype(np.int64), minlength=6)[:6] / c.size
    pmf = np.exp(-1.0) / np.array([1, 1, 2, 6, 24, 120])
    np.testing.assert_allclose(freq, pmf, atol=0.003)
    assert abs(np.corrcoef(c[:, 0], c[:, 1])[0, 1]) < 0.02
    np.testing.assert_array_equal(poisson1_counts(2021, [10, 5], 3, 7), c[[10, 5], 3:7])
    assert not np.array_equal(poisson1_counts(2022, [10, 5], 3, 7), c[[10, 5], 3:7])
