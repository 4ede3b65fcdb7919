"""Gi* (formula by hand), FDR labels, classes (against mapclassify) and Poisson(1) draws.

The network hot-spot test (adjacency, attribution, exact binomial p-values, calibration, Gi* against esda) is
tested in tests/test_hotspots.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from routerisk.stats import (
    classify,
    fdr_hotspot_labels,
    fisher_jenks_bins,
    gi_star,
    quantile_bins,
)


def chain(n):
    i = np.arange(n - 1)
    return sp.csr_matrix((np.ones(2 * (n - 1)), (np.r_[i, i + 1], np.r_[i + 1, i])), shape=(n, n))


def test_gi_star_formula_by_hand():
    # 5 values on a chain: Gi* of the middle one uses x1 + x2 + x3
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    z = gi_star(x, chain(5))
    n, xbar, s = 5, x.mean(), x.std()
    W = 3.0
    expected = (x[1:4].sum() - W * xbar) / (s * np.sqrt((n * W - W**2) / (n - 1)))
    assert z[2] == pytest.approx(expected)
    W = 2.0  # an end of the chain: itself and one neighbour
    assert z[0] == pytest.approx((x[:2].sum() - W * xbar) / (s * np.sqrt((n * W - W**2) / (n - 1))))
    # a given diagonal changes nothing: self is always weighted 1
    np.testing.assert_array_equal(gi_star(x, chain(5) + sp.identity(5)), z)


def test_constant_values_and_islands_are_undefined():
    A = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=float))
    assert np.isnan(gi_star([1.0, 1.0, 1.0, 1.0], A)).all()
    z = gi_star([1.0, 2.0, 3.0, 4.0], A)
    assert np.isnan(z[3]) and np.isfinite(z[:3]).all()
    assert np.isnan(gi_star([1.0, 2.0], chain(2))).all()  # fewer than 3 values


def test_fdr_labels():
    z = np.array([4.0, 3.0, 2.0, -4.0, 0.5, np.nan])
    p = np.array([0.001, 0.02, 0.08, 0.001, 0.9, np.nan])
    labels, q = fdr_hotspot_labels(z, p)
    assert labels.tolist() == ["hot 99%", "hot 95%", "hot 90%", "cold 99%", "not significant", "not tested"]
    # BH by hand over the 5 tested: sorted p 0.001, 0.001, 0.02, 0.08, 0.9 -> 0.0025, 0.0025, 0.0333, 0.1, 0.9
    np.testing.assert_allclose(q[:5], [0.0025, 0.02 * 5 / 3, 0.1, 0.0025, 0.9])
    assert np.isnan(q[5])


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


def test_fixed_is_one_of_the_schemes_and_classify_applies_its_breaks():
    from routerisk.model import CLASSIFIERS
    from routerisk.stats import CLASS_SCHEMES

    assert CLASS_SCHEMES is CLASSIFIERS and "fixed" in CLASS_SCHEMES
    assert classify([0, 19.999, 20, 39.9, 40, 60, 79.9, 80, 100], "fixed").tolist() == [1, 1, 2, 2, 3, 4, 4, 5, 5]
