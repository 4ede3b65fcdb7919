"""Bandwidth selection by likelihood cross-validation and the sensitivity table (routerisk.bandwidth)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau, multivariate_normal
from shapely import LineString, Point

from routerisk import RiskModel, score_segments
from routerisk._errors import InputError
from routerisk.bandwidth import (
    GAUSSIAN_EQUIVALENT,
    _cv_log_likelihoods,
    bandwidth_sensitivity,
    resolve_bandwidth,
    select_bandwidth,
)

CRS = "EPSG:6372"


def _points(xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(p) for p in np.asarray(xy)], crs=CRS)


def _direct_cv(xy, w, s, loc, sigma) -> float:
    """The criterion written out pair by pair with scipy's bivariate normal density (independent reference)."""
    total = 0.0
    for i in range(len(xy)):
        dens = sum(
            w[j] * multivariate_normal.pdf(xy[i], xy[j], cov=(sigma**2 + s[j] ** 2) * np.eye(2))
            for j in range(len(xy))
            if loc[j] != loc[i]
        )
        total += np.log(dens)
    return total


def test_criterion_equals_pairwise_scipy_reference():
    rng = np.random.default_rng(3)
    xy = rng.normal(0, 20_000, (40, 2))
    xy[5] = xy[4]  # a duplicated location: left out together
    w = rng.uniform(0.3, 1.0, 40)
    s = rng.choice([0.0, 5000.0, 15000.0], 40)
    loc = pd.factorize(pd.MultiIndex.from_arrays([xy[:, 0], xy[:, 1]]))[0]
    sigmas = np.array([3000.0, 12000.0, 40000.0])
    got = _cv_log_likelihoods(xy, w, s, loc, sigmas)
    want = [_direct_cv(xy, w, s, loc, sg) for sg in sigmas]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_isolated_records_keep_a_finite_criterion():
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [5e6, 0.0]])  # the third is 5,000 km away
    got = _cv_log_likelihoods(xy, np.ones(3), np.zeros(3), np.arange(3), np.array([500.0]))
    assert np.isfinite(got).all()


@pytest.mark.parametrize("kernel", sorted(GAUSSIAN_EQUIVALENT))
def test_selection_tracks_the_scale_of_the_clusters(kernel):
    """Tighter clusters give a smaller bandwidth; the kernel's equivalent factor is applied."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 400_000, (6, 2))
    chosen = []
    for spread in (1_000.0, 8_000.0):
        xy = np.concatenate([rng.normal(c, spread, (40, 2)) for c in centres])
        sel = select_bandwidth(_points(xy), model=RiskModel(kernel=kernel, half_life_days=0, crs=CRS))
        assert sel.bandwidth_m == pytest.approx(sel.sigma_m * GAUSSIAN_EQUIVALENT[kernel])
        assert not sel.at_boundary
        assert sel.table["cv_log_likelihood"].idxmax() == int(np.argmin(np.abs(sel.table["sigma_m"] - sel.sigma_m)))
        chosen.append(sel.sigma_m)
    assert chosen[0] < chosen[1]
    # Gaussian KDE theory: the optimal sigma is a fraction of the cluster spread (n^(-1/6) ~ 0.4 for 40 points)
    assert 0.15 * 1000 < chosen[0] < 1.5 * 1000


def test_duplicated_points_do_not_drive_the_bandwidth_to_zero():
    rng = np.random.default_rng(1)
    xy = rng.normal(0, 10_000, (80, 2))
    dup = np.repeat(xy[:1], 40, axis=0)  # 40 records at one placeholder point
    base = select_bandwidth(_points(xy), model=RiskModel(half_life_days=0, crs=CRS))
    with_dup = select_bandwidth(_points(np.r_[xy, dup]), model=RiskModel(half_life_days=0, crs=CRS))
    assert with_dup.sigma_m > 0.25 * base.sigma_m
    assert with_dup.n_locations == 80


def test_weights_and_window_select_the_records():
    xy = np.r_[np.random.default_rng(2).normal(0, 3000, (30, 2)), [[1e5, 1e5], [1e5 + 10, 1e5]]]
    dates = pd.to_datetime(["2020-06-01"] * 30 + ["2010-01-01"] * 2)
    inc = _points(xy, date=dates)
    sel = select_bandwidth(inc, model=RiskModel(half_life_days=0, window_start="2020-01-01", crs=CRS))
    assert sel.n_records == 30


def test_too_few_locations_is_a_clear_error():
    inc = _points([[0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(InputError, match="at least two distinct incident locations"):
        select_bandwidth(inc, model=RiskModel(crs=CRS))


def test_lonlat_table_gives_the_same_answer_as_points():
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-94, -92, 60), rng.uniform(15, 17, 60)
    table = pd.DataFrame({"lon": lon, "lat": lat})
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    a = select_bandwidth(table, model=RiskModel(half_life_days=0))
    b = select_bandwidth(pts, model=RiskModel(half_life_days=0))
    assert a.bandwidth_m == pytest.approx(b.bandwidth_m, rel=1e-12)


def test_resolve_bandwidth_replaces_only_the_bandwidth():
    rng = np.random.default_rng(4)
    inc = _points(rng.normal(0, 5000, (50, 2)))
    model = RiskModel(kernel="epanechnikov", half_life_days=0, crs=CRS)
    resolved, sel = resolve_bandwidth(model, inc, auto=True)
    assert resolved.bandwidth_m == pytest.approx(sel.bandwidth_m, abs=0.05)
    assert resolved.kernel == "epanechnikov" and resolved.crs == CRS
    assert sel.to_dict()["method"].startswith("likelihood cross-validation")


def _line_segments(n: int, length: float = 5000.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"segment_id": [f"r:{i:04d}" for i in range(n)]},
        geometry=[LineString([(i * length, 0), ((i + 1) * length, 0)]) for i in range(n)],
        crs=CRS,
    )


def test_sensitivity_table_against_kendalltau_and_hand_counts():
    seg = _line_segments(40)
    rng = np.random.default_rng(7)
    inc = _points(np.column_stack([rng.uniform(0, 200_000, 120), rng.normal(0, 2000, 120)]))
    model = RiskModel(bandwidth_m=10_000, half_life_days=0, crs=CRS)
    t = bandwidth_sensitivity(seg, inc, model=model, top=10)
    assert t["factor"].tolist() == [0.5, 0.75, 1.0, 1.5, 2.0]
    assert t.loc[t["factor"] == 1.0, "top_overlap"].item() == 1.0
    assert t.loc[t["factor"] == 1.0, "kendall_tau"].item() == pytest.approx(1.0)
    e1 = score_segments(seg, inc, model=dataclasses.replace(model, **_off(model)))["incident_exposure"].to_numpy()
    m2 = dataclasses.replace(model, bandwidth_m=20_000.0, **_off(model))
    e2 = score_segments(seg, inc, model=m2)["incident_exposure"].to_numpy()
    row = t[t["factor"] == 2.0].iloc[0]
    assert row["kendall_tau"] == pytest.approx(kendalltau(e1, e2).statistic, abs=1e-12)
    top1, top2 = set(np.argsort(-e1, kind="stable")[:10]), set(np.argsort(-e2, kind="stable")[:10])
    assert row["top_overlap"] == len(top1 & top2) / 10
    assert t["top_overlap"].min() >= 0 and t["top_overlap"].max() <= 1


def _off(model: RiskModel) -> dict:
    names = {f.name for f in dataclasses.fields(model)}
    return {k: 0 for k in ("bootstrap", "permutations") if k in names}


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.2, 20.0), seed=st.integers(0, 1000))
def test_selection_is_equivariant_under_scaling(scale, seed):
    """Scaling every coordinate (and the candidates) by c scales the selected sigma by c."""
    rng = np.random.default_rng(seed)
    xy = rng.normal(0, 4000, (30, 2))
    cands = np.geomspace(200, 20_000, 9)
    m = RiskModel(kernel="gaussian", half_life_days=0, crs=CRS)
    a = select_bandwidth(_points(xy), model=m, candidates_m=cands)
    b = select_bandwidth(_points(xy * scale), model=m, candidates_m=cands * scale)
    assert b.bandwidth_m == pytest.approx(a.bandwidth_m * scale, rel=1e-9)


# -- end to end: the CLI ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_auto_bandwidth_and_sensitivity_table(tmp_path, real_data):
    """`--param bandwidth_m=auto` selects from the records; every run writes sensitivity.csv and records both."""
    import json

    from click.testing import CliRunner

    from routerisk.cli import cli

    out = tmp_path / "auto"
    iom = real_data / "iom_mmp_mexico_2018_sample.csv"
    res = CliRunner().invoke(cli, ["score", "--incidents", str(iom), "--param", "bandwidth_m=auto", "--out", str(out)])
    assert res.exit_code in (0, 1), res.output  # 1: rows of the real sample are rejected, and reported
    manifest = json.loads((out / "manifest.json").read_text())
    sel = manifest["bandwidth_selection"]
    assert sel["method"].startswith("likelihood cross-validation")
    assert manifest["model"]["bandwidth_m"] == pytest.approx(sel["bandwidth_m"], abs=0.05)
    assert min(sel["candidates_m"]) <= sel["bandwidth_m"] <= max(sel["candidates_m"])
    table = pd.read_csv(out / "sensitivity.csv")
    assert table["factor"].tolist() == [0.5, 0.75, 1.0, 1.5, 2.0]
    assert table["bandwidth_m"].iloc[2] == pytest.approx(manifest["model"]["bandwidth_m"])
    assert [r["kendall_tau"] for r in manifest["sensitivity"]] == pytest.approx(table["kendall_tau"].tolist())

    # the same through a TOML file, and a plain run without selection still has its sensitivity table
    cfg = tmp_path / "model.toml"
    cfg.write_text('[model]\nbandwidth_m = "auto"\nkernel = "gaussian"\n')
    out2 = tmp_path / "auto_toml"
    res = CliRunner().invoke(cli, ["score", "--incidents", str(iom), "--config", str(cfg), "--out", str(out2)])
    assert res.exit_code in (0, 1), res.output
    m2 = json.loads((out2 / "manifest.json").read_text())
    assert m2["model"]["kernel"] == "gaussian"
    assert m2["bandwidth_selection"]["kernel"] == "gaussian"
    # the Gaussian kernel's bandwidth is its sigma (the quartic's is sqrt(8) sigma: GAUSSIAN_EQUIVALENT)
    assert m2["bandwidth_selection"]["bandwidth_m"] == pytest.approx(m2["bandwidth_selection"]["sigma_m"])
    assert sel["bandwidth_m"] == pytest.approx(sel["sigma_m"] * GAUSSIAN_EQUIVALENT["quartic"])


def test_cli_rejects_a_bad_bandwidth_word(tmp_path):
    from click.testing import CliRunner

    from routerisk.cli import cli

    res = CliRunner().invoke(cli, ["score", "--param", "bandwidth_m=automatic", "--out", str(tmp_path / "x")])
    assert res.exit_code == 3, res.output
    assert "bandwidth_m" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    "args",
    [["trends"], ["change", "--before", "2018-01-01:2018-12-31", "--after", "2019-01-01:2019-12-31"]],
    ids=["trends", "change"],
)
def test_time_commands_refuse_auto_bandwidth_clearly(tmp_path, args):
    from click.testing import CliRunner

    from routerisk.cli import cli

    out = tmp_path / "x"
    res = CliRunner().invoke(cli, [*args, "--param", "bandwidth_m=auto", "--out", str(out)])
    assert res.exit_code == 3, res.output
    assert "routerisk score" in res.output and "Traceback" not in res.output
    assert not out.exists()
