"""The run path's statistics without scipy.stats: binomial pmf/cdf/sf, the exact two-sided search, BH, tau-b, normal.

``import scipy.stats`` costs 0.4-0.5 s and 32-46 MB at start-up (issue 13), so ``routerisk.stats`` calls the compiled
ufuncs behind ``scipy.stats.binom`` and ``scipy.special.ndtr``/``ndtri`` directly and computes Benjamini-Hochberg
and Kendall's tau-b in numpy. Here every replacement is compared with scipy.stats itself (bit for bit where the
arithmetic is the same; tau-b to 1e-12), by hand on small cases and by hypothesis on random ones, and a
subprocess proves that a ``routerisk score`` run never imports scipy.stats.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, false_discovery_control, kendalltau, norm

import routerisk._binomial as rbinom
import routerisk._ranks as rranks
from routerisk.change import rate_ratio
from routerisk.mannkendall import mann_kendall
from routerisk.stats import bh_adjust, binom_two_sided_p, kendall_tau_b

FAST_BINOM = rbinom._binom_pmf is not None  # the private ufuncs exist in this SciPy (else the scipy.stats path)


# -- binomial pmf / cdf / sf ------------------------------------------------------------------------------------------
def test_binomial_functions_are_scipy_stats_binom_bit_for_bit_including_edges():
    rng = np.random.default_rng(3)
    n = np.r_[0, 0, 1, 1, 5, 5, 5, 5, 5, 5, 20, 20, rng.integers(1, 5000, 400)]
    p = np.r_[0.5, 0.0, 0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 0.3, 0.3, 0.5, 1e-300, rng.random(400) ** 3]
    k = np.r_[0, 0, 1, 0, 0, 5, -1, 6, 5, 0, 10, 0, rng.integers(-3, 5003, 400)]
    k[12::7] = np.minimum(k[12::7], n[12::7])
    for ours, theirs in ((rbinom._binom_pmf_array, binom.pmf), (rbinom._binom_cdf_array, binom.cdf),
                         (rbinom._binom_sf_array, binom.sf)):  # fmt: skip
        np.testing.assert_array_equal(ours(k, n, p), theirs(k, n, p))
    # invalid arguments give NaN, as scipy.stats; k may be given as float
    bad_n, bad_p = np.array([-1, 5, 5, 5]), np.array([0.5, 1.5, -0.1, np.nan])
    for f in (rbinom._binom_pmf_array, rbinom._binom_cdf_array, rbinom._binom_sf_array):
        assert np.isnan(f(np.array([1, 1, 1, 1]), bad_n, bad_p)).all()
    np.testing.assert_array_equal(rbinom._binom_cdf_array(np.array([2.0, 2.5]), 5, 0.3), binom.cdf([2.0, 2.5], 5, 0.3))
    # by hand: Binomial(3, 0.5) = 1/8, 3/8, 3/8, 1/8 (to rounding)
    k3 = np.arange(-1, 5)
    np.testing.assert_allclose(rbinom._binom_pmf_array(k3, 3, 0.5), [0, 0.125, 0.375, 0.375, 0.125, 0], rtol=1e-14)
    np.testing.assert_allclose(rbinom._binom_cdf_array(k3, 3, 0.5), [0, 0.125, 0.5, 0.875, 1, 1], rtol=1e-14)
    np.testing.assert_allclose(rbinom._binom_sf_array(k3, 3, 0.5), [1, 0.875, 0.5, 0.125, 0, 0], rtol=1e-14)


def test_without_the_private_ufuncs_scipy_stats_binom_gives_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(8)
    n = rng.integers(1, 500, 200)
    p = rng.random(200)
    k = rng.integers(0, n + 1)
    fast = binom_two_sided_p(k, n, p), rbinom._binom_cdf_array(k - 1, n, p), rbinom._binom_sf_array(k, n, p)
    for name in ("_binom_pmf", "_binom_cdf", "_binom_sf"):
        monkeypatch.setattr(rbinom, name, None)  # a SciPy without them: the scipy.stats.binom path
    slow = binom_two_sided_p(k, n, p), rbinom._binom_cdf_array(k - 1, n, p), rbinom._binom_sf_array(k, n, p)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)


def _minlike_by_scan(k: int, n: int, p: float) -> float:
    """The two-sided p-value from the whole pmf (no search): the other tail's first index by a full scan."""
    j = np.arange(n + 1)
    pm = binom.pmf(j, n, p)
    d = binom.pmf(k, n, p) * (1 + 1e-7)
    mean = n * p
    if k < mean:
        other = j[(j >= np.ceil(mean)) & (pm <= d)]
        first = int(other[0]) if len(other) else n + 1
        return float(np.clip(binom.cdf(k, n, p) + binom.sf(first - 1, n, p), 0, 1))
    if k > mean:
        inside = j[(j <= np.floor(mean)) & (pm > d)]
        first = int(inside[0]) if len(inside) else int(np.floor(mean)) + 1
        return float(np.clip(binom.cdf(first - 1, n, p) + binom.sf(k - 1, n, p), 0, 1))
    return 1.0


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 400),
    p=st.one_of(st.floats(0.0005, 0.9995), st.sampled_from([0.0, 1.0, 0.5, 1e-6, 1 - 1e-6])),
    u=st.floats(0, 1),
)
def test_search_gives_the_full_scan_answer_bit_for_bit(n, p, u):
    k = round(u * n)
    assert binom_two_sided_p(k, n, p) == _minlike_by_scan(k, n, p)


def test_search_vectorised_equals_the_scan_on_skewed_and_extreme_cases():
    rng = np.random.default_rng(5)
    n = rng.integers(1, 3000, 400)
    p = rng.random(400) ** rng.integers(1, 8, 400)  # many tiny p: very skewed, the mirror guess is far off
    k = np.clip(np.round(n * p + rng.normal(0, 4, 400) * np.sqrt(n * p + 1)), 0, n).astype(np.int64)
    k[::5] = 0
    k[1::9] = n[1::9]
    got = binom_two_sided_p(k, n, p)
    want = [_minlike_by_scan(int(a), int(b), float(c)) for a, b, c in zip(k, n, p, strict=True)]
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 300),
    answer_frac=st.floats(0, 1),
    guess_frac=st.floats(-0.5, 1.5),
    lo=st.integers(0, 50),
)
def test_first_true_finds_the_change_of_any_monotone_predicate_from_any_guess(size, answer_frac, guess_frac, lo):
    hi = lo + size
    answer = lo + int(answer_frac * size)  # may equal hi: the predicate is never True
    calls = []

    def pred(rows, j):
        calls.append(len(rows))
        assert ((j >= lo) & (j < hi)).all()
        return j >= answer

    got = rbinom._first_true(np.array([lo]), np.array([hi]), np.array([lo + int(guess_frac * size)]), pred)
    assert got.tolist() == [answer]
    assert len(calls) <= 2 * np.log2(size + 1) + 3


def test_edge_counts_and_probabilities():
    np.testing.assert_array_equal(binom_two_sided_p([0, 3, 10, 9], 10, [0.0, 0.0, 1.0, 1.0]), [1.0, 0.0, 1.0, 0.0])
    # by hand: Binomial(4, 0.5), k = 0: P = 1/16 + 1/16 (k = 4 is as likely); k = 1: 1 - 6/16
    np.testing.assert_allclose(binom_two_sided_p([0, 1, 2, 4], 4, 0.5), [0.125, 0.625, 1.0, 0.125], rtol=1e-14)
    assert binom_two_sided_p(np.zeros((2, 0), dtype=int), 5, 0.5).shape == (2, 0)


# -- Benjamini-Hochberg -----------------------------------------------------------------------------------------------
def test_bh_by_hand_and_nan_is_not_tested():
    # sorted 0.01, 0.02, 0.02, 0.5: x m / i = 0.04, 0.04, 0.02667, 0.5 -> running minimum from the top
    q = bh_adjust([0.5, 0.02, 0.01, np.nan, 0.02])
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.5, 0.08 / 3, 0.08 / 3, 0.08 / 3], rtol=1e-15)
    assert np.isnan(q[3])
    assert bh_adjust([]).tolist() == [] and bh_adjust([0.3]).tolist() == [0.3] and np.isnan(bh_adjust([np.nan])[0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        bh_adjust([0.1, 1.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        bh_adjust([0.1, np.inf])
    with pytest.raises(ValueError, match="one-dimensional"):
        bh_adjust([[0.1, 0.2]])


@settings(max_examples=200, deadline=None)
@given(
    p=st.lists(st.one_of(st.sampled_from([0.0, 1.0, 0.05, 0.05, 0.5]), st.floats(0, 1)), min_size=0, max_size=80),
    nan_at=st.lists(st.integers(0, 79), max_size=10),
)
def test_bh_equals_false_discovery_control_bit_for_bit(p, nan_at):
    p = np.array(p, dtype=np.float64)
    got = bh_adjust(p)
    if len(p):
        np.testing.assert_array_equal(got, false_discovery_control(p, method="bh"))
    with_nan = p.copy()
    idx = [i for i in nan_at if i < len(p)]
    with_nan[idx] = np.nan
    ok = ~np.isnan(with_nan)
    q = bh_adjust(with_nan)
    assert np.isnan(q[~ok]).all()
    if ok.any():
        np.testing.assert_array_equal(q[ok], false_discovery_control(with_nan[ok], method="bh"))


# -- Kendall's tau-b --------------------------------------------------------------------------------------------------
def test_tau_b_by_hand():
    # pairs of (12,1) (2,4) (1,7) (12,1) (2,0): 2 concordant, 6 discordant, 2 tied in x, 1 in y, 1 in both
    assert kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) == pytest.approx(-4 / np.sqrt(8) / np.sqrt(9), rel=1e-15)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0 and kendall_tau_b([1, 2, 3], [1, 2, 3]) == 1.0
    assert kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)  # 5 concordant, 1 discordant
    for x, y in (([], []), ([1.0], [2.0]), ([1, 1, 1], [1, 2, 3]), ([1, 2, 3], [5, 5, 5]), ([1, np.nan, 3], [1, 2, 3])):
        assert np.isnan(kendall_tau_b(x, y))
    with pytest.raises(ValueError, match="values"):
        kendall_tau_b([1, 2], [1, 2, 3])


def test_strict_inversions_by_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(300):
        v = rng.integers(0, rng.integers(1, 70), rng.integers(0, 60))
        brute = sum(int(a > b) for i, a in enumerate(v) for b in v[i + 1 :])
        assert rranks._strict_inversions(v) == brute


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 200),
    levels=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    link=st.sampled_from(["independent", "increasing", "decreasing"]),
)
def test_tau_b_equals_scipy_kendalltau_on_tie_heavy_data(n, levels, seed, link):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, n).astype(np.float64)
    noise = rng.integers(0, levels, n)
    y = {"independent": noise, "increasing": x + noise // 3, "decreasing": -x + noise // 3}[link].astype(np.float64)
    want = kendalltau(x, y).statistic
    got = kendall_tau_b(x, y)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert abs(got - want) <= 1e-12


def test_tau_b_large_continuous_input():
    rng = np.random.default_rng(4)
    x = rng.gamma(1.0, 1.0, 30_000)
    y = x + rng.normal(0, 0.5, 30_000)
    y[::5] = 0.0  # a big tie group
    assert abs(kendall_tau_b(x, y) - kendalltau(x, y).statistic) <= 1e-12


# -- the normal distribution (trends, change) -------------------------------------------------------------------------
def test_ndtr_and_ndtri_are_scipy_stats_norm():
    z = np.r_[-40.0, -8.0, np.linspace(-5, 5, 101), 8.0, 40.0]
    np.testing.assert_array_equal(scipy.special.ndtr(z), norm.cdf(z))
    q = np.r_[1e-300, np.linspace(0.001, 0.999, 99), 0.975, 0.995]
    np.testing.assert_array_equal(scipy.special.ndtri(q), norm.ppf(q))
    x = np.array([[1.0, 2.0, 2.0, 4.0, 5.0, 3.0], [5.0, 4.0, 4.0, 1.0, 0.0, 2.0]])
    mk = mann_kendall(x)
    np.testing.assert_array_equal(mk["p"], 2 * (1 - norm.cdf(np.abs(mk["z"].to_numpy()))))
    rr = rate_ratio([4, 10], [9, 3], 30.0, 60.0, level=0.9)
    se = np.sqrt(1 / np.array([4.0, 10.0]) + 1 / np.array([9.0, 3.0]))
    np.testing.assert_array_equal(rr["wald_lo"], np.exp(np.log(rr["rate_ratio"].to_numpy()) - norm.ppf(0.95) * se))


# -- the run path never imports scipy.stats ---------------------------------------------------------------------------
NO_SCIPY_STATS = """
import sys
from routerisk.cli import main
sys.argv = ["routerisk", *sys.argv[2:], "--out", sys.argv[1]]
try:
    main()
except SystemExit as e:
    assert e.code in (0, None), e.code
print(sorted(m for m in sys.modules if m == "scipy.stats" or m.startswith("scipy.stats.")))
"""


@pytest.mark.slow
@pytest.mark.skipif(not FAST_BINOM, reason="this SciPy has no scipy.special._ufuncs._binom_*: scipy.stats is used")
@pytest.mark.parametrize(
    ("args", "table"),
    [
        (["score", "--param", "bandwidth_m=auto"], "sensitivity.csv"),  # hot spots, selection, sensitivity table
        (["trends", "--period", "year"], "trends.csv"),  # exact test per period, BH, Mann-Kendall (normal cdf)
        (["change", "--before", "2019-01-01:2019-12-31", "--after", "2020-01-01:2020-12-31"], "change.csv"),
    ],
)
def test_runs_do_not_import_scipy_stats(tmp_path, args, table):
    """A whole run on the embedded data in a fresh interpreter loads no scipy.stats module and writes its table."""
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", NO_SCIPY_STATS, str(out), *args], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert (out / table).is_file()
