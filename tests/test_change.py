"""Change around a date: exact conditional rate ratios, the Poisson GLM, coverage, count tables, deployment, CLI."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from shapely import LineString

from routerisk import RiskModel
from routerisk._errors import ConfigError, InputError
from routerisk.change import check_windows, parse_window, rate_ratio, segment_change, state_change, window_days
from routerisk.cli import cli
from routerisk.counts import (
    counts_change,
    deployment_association,
    deployment_did,
    deployment_table,
    read_state_counts,
)

sm = pytest.importorskip("statsmodels.api")

CRS = "EPSG:6372"
X0, Y0 = 2_500_000.0, 2_000_000.0


# -- the rate ratio --------------------------------------------------------------------------------------------------
def glm_rate_ratio(a_rows, b_rows, ta_rows, tb_rows):
    """Poisson GLM y ~ after with offset log(T), several rows per window (no saturated fit)."""
    y = np.r_[b_rows, a_rows]
    X = np.column_stack([np.ones(len(y)), np.r_[np.zeros(len(b_rows)), np.ones(len(a_rows))]])
    off = np.log(np.r_[tb_rows, ta_rows])
    return sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(tol=1e-14, maxiter=200)


@pytest.mark.parametrize("seed", range(6))
def test_rate_ratio_and_wald_interval_equal_a_statsmodels_poisson_glm(seed):
    rng = np.random.default_rng(seed)
    a_rows, b_rows = rng.poisson(6, 4) + 1, rng.poisson(3, 5) + 1
    ta_rows, tb_rows = rng.uniform(20, 40, 4), rng.uniform(20, 40, 5)
    fit = glm_rate_ratio(a_rows, b_rows, ta_rows, tb_rows)
    ours = rate_ratio([a_rows.sum()], [b_rows.sum()], ta_rows.sum(), tb_rows.sum(), level=0.95).iloc[0]
    assert abs(ours["rate_ratio"] - np.exp(fit.params[1])) < 1e-8
    lo, hi = np.exp(fit.conf_int(0.05)[1])
    assert abs(ours["wald_lo"] - lo) < 1e-8 and abs(ours["wald_hi"] - hi) < 1e-8


@settings(max_examples=60, deadline=None)
@given(a=st.integers(0, 200), b=st.integers(0, 200), ta=st.floats(1, 1000), tb=st.floats(1, 1000))
def test_exact_interval_is_clopper_pearson_mapped_to_the_rate_ratio(a, b, ta, tb):
    r = rate_ratio([a], [b], ta, tb, level=0.9).iloc[0]
    if a + b == 0:
        assert np.isnan(r["rate_ratio"]) and np.isnan(r["rr_lo"]) and np.isnan(r["p_value"])
        return
    ci = binomtest(a, a + b, 0.5).proportion_ci(0.9, method="exact")
    to_rr = lambda pi: pi / (1 - pi) * tb / ta if pi < 1 else np.inf  # noqa: E731
    assert r["rr_lo"] == pytest.approx(to_rr(ci.low), rel=1e-7, abs=1e-12)
    assert r["rr_hi"] == pytest.approx(to_rr(ci.high), rel=1e-7)
    assert r["rr_lo"] <= r["rate_ratio"] <= r["rr_hi"]
    assert r["p_value"] == pytest.approx(binomtest(a, a + b, ta / (ta + tb)).pvalue, rel=1e-9, abs=1e-12)


def test_zero_count_rule():
    r = rate_ratio([0, 5, 0], [5, 0, 0], 10.0, 10.0)
    assert r.loc[0, "rate_ratio"] == 0 and r.loc[0, "rr_lo"] == 0 and np.isfinite(r.loc[0, "rr_hi"])
    assert r.loc[1, "rate_ratio"] == np.inf and r.loc[1, "rr_hi"] == np.inf and r.loc[1, "rr_lo"] > 0
    assert r.iloc[2].drop(["wald_lo", "wald_hi"]).isna().all()
    assert r[["wald_lo", "wald_hi"]].iloc[:2].isna().all().all()


def test_exact_interval_covers_at_least_the_nominal_rate():
    rng = np.random.default_rng(7)
    for rr_true, lam in ((1.0, 5.0), (2.0, 3.0), (0.5, 20.0)):
        b = rng.poisson(lam * 100, 4000)
        a = rng.poisson(lam * rr_true * 60, 4000)
        r = rate_ratio(a, b, 60.0, 100.0, level=0.9)
        cover = ((r["rr_lo"] <= rr_true) & (rr_true <= r["rr_hi"])).mean()
        assert 0.895 <= cover <= 0.95  # exact intervals are conservative (discreteness)


def test_windows_parse_and_errors():
    b = parse_window("2019-01-01:2019-06-30")
    assert window_days(b) == 181
    for bad, match in (("2020-13-01:2020-12-31", "not a date"), ("2020-01-01", "START:END"),
                       ("2020-05-01:2020-01-01", "ends before")):  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            parse_window(bad)
    with pytest.raises(ConfigError, match="overlap"):
        check_windows(b, parse_window("2019-06-30:2019-12-31"))


# -- a planted doubling on a 50 km stretch ---------------------------------------------------------------------------
def line_segments(n=60, step=5000.0):
    geoms = [LineString([(X0 + i * step, Y0), (X0 + (i + 1) * step, Y0)]) for i in range(n)]
    return gpd.GeoDataFrame({"segment_id": [f"s{i:03d}" for i in range(n)]}, geometry=geoms, crs=CRS)


BEFORE = parse_window("2019-01-01:2019-12-31")
AFTER = parse_window("2020-01-01:2020-06-30", "--after")
MODEL = RiskModel(bandwidth_m=5000, crs=CRS)


def planted(seed, rate_per_km_day=0.004):
    """Homogeneous records along 300 km; after 2020-01-01 the rate doubles on km 100-150."""
    rng = np.random.default_rng(seed)
    nb = rng.poisson(rate_per_km_day * 300 * window_days(BEFORE))
    na = rng.poisson(rate_per_km_day * 300 * window_days(AFTER))
    n2 = rng.poisson(rate_per_km_day * 50 * window_days(AFTER))  # the extra records on the stretch
    x = np.r_[rng.uniform(0, 300_000, nb + na), rng.uniform(100_000, 150_000, n2)]
    d = np.r_[rng.integers(0, window_days(BEFORE), nb), window_days(BEFORE) + rng.integers(0, window_days(AFTER),
                                                                                         na + n2)]  # fmt: skip
    dates = pd.Timestamp("2019-01-01") + pd.to_timedelta(d, unit="D")
    return gpd.GeoDataFrame({"category": "homicide", "date": dates},
                            geometry=gpd.points_from_xy(X0 + x, Y0 + rng.normal(0, 500, len(x))), crs=CRS)


def test_planted_doubling_is_found_with_nominal_coverage():
    seg = line_segments()
    inside = np.arange(22, 28)  # segments whose reach (5 km) lies inside km 100-150
    outside = np.r_[np.arange(2, 18), np.arange(32, 58)]
    med_in, med_out, cover = [], [], []
    for seed in range(30):
        out = segment_change(seg, planted(seed), BEFORE, AFTER, model=MODEL, level=0.9)
        rr = out["rate_ratio"].replace(np.inf, np.nan)
        med_in.append(np.nanmedian(rr.iloc[inside]))
        med_out.append(np.nanmedian(rr.iloc[outside]))
        truth = np.full(len(seg), np.nan)
        truth[inside], truth[outside] = 2.0, 1.0
        ok = np.isfinite(truth) & out["rr_lo"].notna()
        cover.append(((out["rr_lo"] <= truth) & (truth <= out["rr_hi"]))[ok].mean())
    assert 1.7 <= np.median(med_in) <= 2.4
    assert 0.85 <= np.median(med_out) <= 1.15
    assert 0.88 <= np.mean(cover) <= 0.97  # nominal 90 %, exact intervals slightly conservative


def test_segment_change_counts_equal_windowed_n_incidents():
    from routerisk import score_segments

    seg, inc = line_segments(20), planted(3)
    out = segment_change(seg, inc, BEFORE, AFTER, model=MODEL)
    for win, col in ((BEFORE, "count_before"), (AFTER, "count_after")):
        m = RiskModel.from_dict({**MODEL.to_dict(), "window_start": str(win[0].date()),
                                 "window_end": str(win[1].date())})  # fmt: skip
        np.testing.assert_array_equal(out[col], score_segments(seg, inc, model=m)["n_incidents"])


def test_state_change_lists_every_state():
    inc = planted(1).to_crs("EPSG:4326")
    out = state_change(inc, BEFORE, AFTER)
    assert len(out) == 32 and out["state_code"].is_unique
    assert out["count_before"].sum() + out["count_after"].sum() <= len(inc)


# -- count tables and deployment -------------------------------------------------------------------------------------
def test_read_state_counts_rejects_bad_rows(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("ano,mes,entidad,cve_entidad,presentados\n2019,ene,chiapas,07,120\n2019,xx,chiapas,07,1\n"
                 "2019,feb,,99,3\n2019,mar,oaxaca,,=cmd|' /C calc'!A0\n2019,ene,chiapas,07,5\n2019,abr,oaxaca,,7\n")
    t = read_state_counts(p)
    assert t[["state_code", "value"]].values.tolist() == [["07", 120.0], ["20", 7.0]]
    rows = [(r["row"], r["reason"]) for r in t.attrs["rejected"]]
    assert [r for r, _ in rows] == [3, 4, 5, 6]
    assert "duplicate" in rows[-1][1]
    bad = tmp_path / "b.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a state-month count table"):
        read_state_counts(bad)


def test_real_tables_counts_change_and_deployment(real_data):
    counts = read_state_counts(real_data / "inm_foreigners_presented_by_state_month.csv")
    dep = deployment_table(real_data / "guardia_nacional_deployment_by_state_month.csv")
    assert counts["state_code"].nunique() == 32 and dep["state_code"].nunique() == 32
    ch = counts_change(counts, parse_window("2019-01-01:2019-06-30"), parse_window("2019-07-01:2019-12-31"))
    assert len(ch) == 32 and (ch["days_before"] == 181).all() and ch["caveat"].str.contains("causal").all()
    assoc = deployment_association(counts, dep, lags=(0, 2))
    assert assoc["lag_months"].tolist() == [0, 2]
    assert (assoc["ci_lo"] < assoc["rate_ratio_per_doubling"]).all()
    assert (assoc["rate_ratio_per_doubling"] < assoc["ci_hi"]).all()


def synthetic_panel(seed, effect=0.5):
    """32 states, 24 months; the 16 states with more personnel get ``effect`` x their counts after month 12."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2019-01-01", periods=24, freq="MS")
    codes = [f"{i:02d}" for i in range(1, 33)]
    base = dict(zip(codes, rng.uniform(50, 500, 32), strict=True))
    season = rng.uniform(0.8, 1.2, 24)
    personnel = dict(zip(codes, np.r_[np.full(16, 3000.0), np.full(16, 300.0)], strict=True))
    rows, dep = [], []
    for c in codes:
        for t, m in enumerate(months):
            mu = base[c] * season[t] * (effect if (personnel[c] > 1000 and t >= 12) else 1.0)
            rows.append((c, c, m, float(rng.poisson(mu))))
            dep.append((c, m, personnel[c] * rng.uniform(0.9, 1.1)))
    counts = pd.DataFrame(rows, columns=["state_code", "state_name", "month", "value"])
    return counts, pd.DataFrame(dep, columns=["state_code", "month", "personnel"])


def test_difference_in_differences_recovers_a_planted_effect():
    counts, dep = synthetic_panel(1, effect=0.5)
    did = deployment_did(counts, dep, parse_window("2019-01-01:2019-12-31"), parse_window("2020-01-01:2020-12-31"))
    r = did.iloc[0]
    assert r["ci_lo"] < 0.5 < r["ci_hi"] and abs(r["estimate"] - 0.5) < 0.05
    assert r["n_states_more"] == 16 and "causal" in r["caveat"]
    counts0, dep0 = synthetic_panel(2, effect=1.0)
    r0 = deployment_did(counts0, dep0, parse_window("2019-01-01:2019-12-31"),
                        parse_window("2020-01-01:2020-12-31")).iloc[0]  # fmt: skip
    assert r0["ci_lo"] < 1.0 < r0["ci_hi"]


# -- CLI end to end --------------------------------------------------------------------------------------------------
def test_cli_change_on_the_demo(tmp_path):
    out = tmp_path / "c"
    res = CliRunner().invoke(cli, ["change", "--before", "2019-01-01:2019-12-31", "--after", "2020-01-01:2020-12-31",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    ch = pd.read_csv(out / "change.csv")
    assert list(ch.columns[:8]) == ["segment_id", "count_before", "count_after", "rate_ratio", "rr_lo", "rr_hi",
                                    "p_value", "p_adjusted"]  # fmt: skip
    assert (out / "change_by_state.csv").exists() and (out / "change_map.png").exists()
    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["interval"] == "exact" and man["windows"]["before"] == ["2019-01-01", "2019-12-31"]


def test_cli_change_wald_option_and_public_mode(tmp_path):
    out = tmp_path / "w"
    res = CliRunner().invoke(cli, ["change", "--before", "2019-01-01:2019-12-31", "--after", "2020-01-01:2020-12-31",
                                   "--interval", "wald", "--privacy", "public", "--no-maps", "--out", str(out)])
    assert res.exit_code == 0, res.output
    ch = pd.read_csv(out / "change.csv")
    shown = ch[~ch["suppressed"]]
    np.testing.assert_allclose(shown["rr_lo"], shown["wald_lo"])
    assert (shown[["count_before", "count_after"]] >= 5).all().all()
    assert ch.loc[ch["suppressed"], "count_before"].isna().all()


def test_cli_change_on_the_real_tables(tmp_path, real_data):
    out = tmp_path / "real"
    res = CliRunner().invoke(cli, [
        "change", "--incidents", str(real_data / "iom_mmp_mexico_box_2014_2020.csv"),
        "--counts", str(real_data / "inm_foreigners_presented_by_state_month.csv"),
        "--deployments", str(real_data / "guardia_nacional_deployment_by_state_month.csv"),
        "--before", "2019-01-01:2019-06-30", "--after", "2019-07-01:2019-12-31", "--no-maps", "--out", str(out)])
    assert res.exit_code in (0, 1), res.output
    for name in ("change.csv", "change_by_state.csv", "change_by_state_counts.csv", "deployment_did.csv",
                 "deployment_association.csv", "deployment.md", "manifest.json"):  # fmt: skip
        assert (out / name).exists(), name
    assert len(pd.read_csv(out / "change_by_state_counts.csv")) == 32
    assert "not a causal effect" in (out / "deployment.md").read_text()


@pytest.mark.parametrize(("before", "after", "message"), [
    ("2020-13-01:2020-12-31", "2021-01-01:2021-02-01", "not a date"),
    ("2020-01-01:2020-12-31", "2020-06-01:2021-02-01", "overlap"),
    ("2020-01-01", "2021-01-01:2021-02-01", "START:END"),
])
def test_cli_change_bad_windows_are_one_line_exit_3(tmp_path, before, after, message):
    res = CliRunner().invoke(cli, ["change", "--before", before, "--after", after, "--out", str(tmp_path / "o")])
    assert res.exit_code == 3, res.output
    assert message in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_no_statsmodels_warning_leaks():
    counts, dep = synthetic_panel(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deployment_association(counts, dep, lags=(1,))


def test_cli_change_on_a_count_table_alone_keeps_hostile_cells_inert(tmp_path):
    table = tmp_path / "counts.csv"
    rows = ["ano,mes,entidad,cve_entidad,presentados"]
    for m in ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago"):
        rows += [f"2019,{m},chiapas,07,{100 if m < 'jm' else 150}", f"2019,{m},oaxaca,20,40"]
    rows.append("2019,sep,oaxaca,20,=HYPERLINK(\"http://x\")")
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["change", "--counts", str(table), "--before", "2019-01-01:2019-04-30",
                                   "--after", "2019-05-01:2019-08-31", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 1, res.output  # finished, one row rejected
    assert "rejected_count_rows.csv" in res.output
    assert {p.name for p in out.iterdir()} == {"change_by_state.csv", "rejected_count_rows.csv", "manifest.json"}
    by_state = pd.read_csv(out / "change_by_state.csv", dtype={"state_code": str})
    assert by_state["state_code"].tolist() == ["07", "20"]
    assert by_state.loc[1, "rate_ratio"] == pytest.approx((160 / 123) / (160 / 120))
    rejected = (out / "rejected_count_rows.csv").read_text(encoding="utf-8")
    assert "=HYPERLINK" not in rejected.replace("'=HYPERLINK", "")  # written inert by the formula-safe writer
