"""Emerging hot spots: Mann-Kendall against pymannkendall, the ArcGIS pattern rules, calibration and power, CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString

import routerisk
from routerisk import RiskModel
from routerisk._errors import ConfigError
from routerisk.cli import cli
from routerisk.mannkendall import mann_kendall
from routerisk.spacetime import spacetime_exposure
from routerisk.trends import PATTERNS, classify_patterns, emerging_hotspots, hot_cold_states, trend_table

pmk = pytest.importorskip("pymannkendall")

CRS = "EPSG:6372"
X0, Y0 = 2_500_000.0, 2_000_000.0


# -- Mann-Kendall --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 4, 7, 12, 30])
def test_mann_kendall_equals_pymannkendall_with_ties(n):
    rng = np.random.default_rng(n)
    X = np.vstack([rng.integers(0, 4, size=(60, n)).astype(float), rng.normal(size=(20, n)).round(1),
                   np.ones((1, n)), np.arange(n, dtype=float)[None, :]])  # fmt: skip
    ours = mann_kendall(X)
    for i, x in enumerate(X):
        ref = pmk.original_test(x)
        assert abs(ref.s - ours["S"][i]) < 1e-10
        assert abs(ref.Tau - ours["tau"][i]) < 1e-10
        assert abs(ref.var_s - ours["var_S"][i]) < 1e-10
        assert abs(ref.z - ours["z"][i]) < 1e-10
        assert abs(ref.p - ours["p"][i]) < 1e-10


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=3, max_size=25))
def test_mann_kendall_property_equals_pymannkendall(values):
    x = np.asarray(values, dtype=float)
    ours = mann_kendall(x).iloc[0]
    ref = pmk.original_test(x)
    assert abs(ref.s - ours["S"]) < 1e-10 and abs(ref.p - ours["p"]) < 1e-10 and abs(ref.Tau - ours["tau"]) < 1e-10


def test_mann_kendall_by_hand_and_errors():
    r = mann_kendall([1.0, 2.0, 3.0]).iloc[0]
    assert r["S"] == 3 and r["tau"] == 1.0 and r["var_S"] == pytest.approx(3 * 2 * 11 / 18)
    with pytest.raises(ValueError, match="finite"):
        mann_kendall([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="2 time steps"):
        mann_kendall([[1.0]])


# -- the pattern rules -----------------------------------------------------------------------------------------------
Z = [0] * 10
CUBE = [  # (state over 10 periods, tau, trend significant, expected pattern)
    ([0] * 9 + [1], 0.1, False, "new hot spot"),
    ([0] * 7 + [1, 1, 1], 0.5, False, "consecutive hot spot"),
    ([1] * 10, 0.6, True, "intensifying hot spot"),
    ([1] * 10, 0.6, False, "persistent hot spot"),
    ([0] + [1] * 9, 0.0, False, "persistent hot spot"),  # 9 of 10 = 90 %
    ([1] * 10, -0.6, True, "diminishing hot spot"),
    ([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], 0.0, False, "sporadic hot spot"),
    ([-1, 0, 1, 0, 0, 0, 0, 0, 0, 1], 0.0, False, "oscillating hot spot"),
    ([1] * 9 + [0], 0.0, False, "historical hot spot"),
    ([0] * 9 + [-1], -0.1, False, "new cold spot"),
    ([0] * 8 + [-1, -1], -0.5, False, "consecutive cold spot"),
    ([-1] * 10, -0.6, True, "intensifying cold spot"),
    ([-1] * 10, 0.0, False, "persistent cold spot"),
    ([-1] * 10, 0.6, True, "diminishing cold spot"),
    ([0, -1, 0, -1, 0, 0, 0, 0, 0, -1], 0.0, False, "sporadic cold spot"),
    ([1, -1, 0, 0, 0, 0, 0, 0, 0, -1], 0.0, False, "oscillating cold spot"),
    ([-1] * 9 + [0], 0.0, False, "historical cold spot"),
    ([1] + [0] * 9, 0.0, False, "no pattern detected"),
    (Z, 0.0, False, "no pattern detected"),
    ([1] * 9 + [-1], 0.0, False, "new cold spot"),  # the final period's side comes before "historical"
    ([1, 1, 0, 0, 0, 0, 0, 0, 1, 1], 0.0, False, "sporadic hot spot"),  # hot before the final run
    ([-1, -1, 0, 0, 0, 0, 0, 0, 1, 1], 0.0, False, "consecutive hot spot"),  # cold history, new run of hot
]


def test_pattern_rules_reproduce_a_hand_built_cube_with_every_category():
    state = np.array([c[0] for c in CUBE])
    out = classify_patterns(state, [c[1] for c in CUBE], [c[2] for c in CUBE])
    assert out.tolist() == [c[3] for c in CUBE]
    assert set(out) == set(PATTERNS)  # all 17 categories appear


def test_ninety_percent_rule_counts_periods():
    # 20 periods: 18 hot (90 %) with the final one is persistent; 17 hot with a gap is sporadic
    s18 = [0, 0] + [1] * 18
    s17 = [0, 0, 1, 0] + [1] * 16
    assert sum(s18) == 18 and sum(s17) == 17 and len(s17) == 20
    out = classify_patterns(np.array([s18, s17]), [0, 0], [False, False]).tolist()
    assert out == ["persistent hot spot", "sporadic hot spot"]


def test_hot_cold_states_and_too_few_periods():
    s = hot_cold_states([[0.05, 0.11, 0.01], [np.nan, 0.1, 0.2]], [[1.0, 5.0, -2.0], [3.0, -1.0, 1.0]], 0.10)
    assert s.tolist() == [[1, 0, -1], [0, -1, 0]]
    from types import SimpleNamespace

    cube = SimpleNamespace(periods=["a", "b"], segment_ids=np.array(["x"]), z=np.zeros((1, 2)),
                           p_value=np.ones((1, 2)), count=np.zeros((1, 2), int))  # fmt: skip
    with pytest.raises(ConfigError, match="at least 3 periods"):
        trend_table(cube)
    with pytest.raises(ConfigError, match="alpha"):
        trend_table(cube, alpha=1.5)


# -- calibration and power (benchmarks/bench_time.py runs 200 seeds) ------------------------------------------------
def line_segments(n=60, step=5000.0):
    geoms = [LineString([(X0 + i * step, Y0), (X0 + (i + 1) * step, Y0)]) for i in range(n)]
    return gpd.GeoDataFrame({"segment_id": [f"s{i:03d}" for i in range(n)]}, geometry=geoms, crs=CRS)


QUARTERS = [str(p) for p in pd.period_range("2019Q1", periods=8, freq="Q")]


def simulate(seed, planted, n_seg=60, per_quarter=40, growth=(3, 6, 9)):
    """Homogeneous records along the line in 8 quarters; ``planted`` adds 3, 6, 9 records near km 152.5 in the
    last three quarters."""
    rng = np.random.default_rng(seed)
    xs, ds = [], []
    for t, q in enumerate(pd.period_range("2019Q1", periods=8, freq="Q")):
        k = rng.poisson(per_quarter)
        xs.append(rng.uniform(0, n_seg * 5000, k))
        ds.append(q.start_time + pd.to_timedelta(rng.integers(0, 90, k), unit="D"))
        if planted and t >= 5:
            xs.append(rng.normal(152_500, 1500, growth[t - 5]))
            ds.append(q.start_time + pd.to_timedelta(rng.integers(0, 90, growth[t - 5]), unit="D"))
    x = np.concatenate(xs)
    d = pd.to_datetime(np.concatenate([np.asarray(v) for v in ds]))
    y = Y0 + rng.normal(0, 1000, len(x))
    return gpd.GeoDataFrame({"category": "homicide", "date": d}, geometry=gpd.points_from_xy(X0 + x, y), crs=CRS)


MODEL = RiskModel(bandwidth_m=10000, crs=CRS)
EMERGING = {"new hot spot", "consecutive hot spot", "intensifying hot spot"}


def test_planted_emerging_cluster_is_found():
    seg = line_segments()
    found = 0
    for seed in range(8):
        cube = spacetime_exposure(seg, simulate(seed, True), period="quarter", model=MODEL, periods=QUARTERS)
        found += trend_table(cube)["pattern"].iloc[30] in EMERGING
    assert found >= 7  # 100 % of 200 seeds in benchmarks/results_time.md


def test_stationary_data_rarely_shows_a_pattern():
    seg = line_segments()
    runs = 25
    any_pattern = 0
    for seed in range(runs):
        cube = spacetime_exposure(seg, simulate(1000 + seed, False), period="quarter", model=MODEL,
                                  periods=QUARTERS)  # fmt: skip
        any_pattern += (trend_table(cube)["pattern"] != "no pattern detected").any()
    assert any_pattern <= 6  # about 8 % of 200 seeds in benchmarks/results_time.md; slack for 25 runs


# -- library and CLI end to end --------------------------------------------------------------------------------------
def test_emerging_hotspots_on_the_demo_and_public_suppression():
    segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=10000)
    inc = routerisk.load_incidents()
    internal = emerging_hotspots(segs, inc, period="quarter")
    assert len(internal) == len(segs) and set(internal["pattern"]) <= set(PATTERNS)
    assert {"segment_id", "pattern", "trend_tau", "trend_p", "count_2019Q1", "z_2021Q4"} <= set(internal.columns)
    public = emerging_hotspots(segs, inc, period="quarter", privacy="public", min_count=5)
    cube = spacetime_exposure(segs, inc, period="quarter")
    low = cube.n_in_reach[:, 0] < 5
    assert public.loc[low, "count_2019Q1"].isna().all() and public.loc[~low, "count_2019Q1"].notna().all()
    few = cube.n_in_reach.sum(axis=1) < 5
    assert public.loc[few, "pattern"].isna().all() and public["suppressed"].tolist() == few.tolist()
    with pytest.raises(ConfigError):
        emerging_hotspots(segs, inc, privacy="public", min_count=2)


def test_cli_trends_on_the_demo(tmp_path):
    out = tmp_path / "t"
    res = CliRunner().invoke(cli, ["trends", "--period", "quarter", "--out", str(out)])
    assert res.exit_code == 0, res.output
    names = {p.name for p in out.iterdir()}
    assert {"trends.csv", "trends.gpkg", "trends_patterns.png", "trends_periods.png", "trends.html",
            "manifest.json"} <= names  # fmt: skip
    table = pd.read_csv(out / "trends.csv")
    assert list(table.columns[:6]) == ["segment_id", "pattern", "trend_S", "trend_tau", "trend_z", "trend_p"]
    man = json.loads((out / "manifest.json").read_text())
    assert set(man["outputs"]) == names - {"manifest.json"}
    assert man["trends"]["time_decay"].startswith("off")
    assert "SYNTHETIC" in man["data"]["attribution"]
    doc = (out / "trends.html").read_text()
    assert "<script src" not in doc and "cdn." not in doc
    gdf = gpd.read_file(out / "trends.gpkg")
    assert len(gdf) == len(table) and "pattern" in gdf


def test_cli_trends_on_real_iom_records(tmp_path, real_data):
    out = tmp_path / "iom"
    res = CliRunner().invoke(cli, ["trends", "--incidents", str(real_data / "iom_mmp_mexico_box_2014_2020.csv"),
                                   "--period", "year", "--privacy", "public", "--no-maps", "--out", str(out)])
    assert res.exit_code in (0, 1), res.output
    table = pd.read_csv(out / "trends.csv")
    assert "count_2014" in table and "count_2020" in table
    man = json.loads((out / "manifest.json").read_text())
    assert man["privacy"]["mode"] == "public" and "IOM" in man["data"]["attribution"]


def test_cli_trends_errors_are_one_line_exit_3(tmp_path):
    res = CliRunner().invoke(cli, ["trends", "--period", "year", "--param", "window_start=2020-01-01",
                                   "--out", str(tmp_path / "x")])  # fmt: skip
    assert res.exit_code == 3 and "at least 3 periods" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(cli, ["trends", "--param", "bandwidth_m=-5", "--out", str(tmp_path / "y")])
    assert res.exit_code == 3
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_trends_html_is_offline_and_escapes_hostile_ids(tmp_path):
    from routerisk.timefolium import trends_folium

    seg = line_segments(3).to_crs("EPSG:4326")
    seg["segment_id"] = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>", "ok"]
    table = pd.DataFrame({"segment_id": seg["segment_id"], "pattern": ["new hot spot", None, "no pattern detected"],
                          "trend_tau": [0.5, np.nan, 0.0], "z_2020": [1.0, np.nan, 0.0]})  # fmt: skip
    path = trends_folium(seg, table, ["2020"], tmp_path / "m.html", title="<b>t</b>", attribution="<i>a</i>")[0]
    doc = path.read_text()
    assert "<script>alert" not in doc and "<img src=x" not in doc and "<b>t</b>" not in doc and "<i>a</i>" not in doc
    assert "cdn." not in doc and "<script src" not in doc and '<link rel="stylesheet" href' not in doc
    assert "rr-trends-data" in doc and "L.map(" in doc


def test_cli_table_equals_the_library_and_the_cube_file(tmp_path):
    out = tmp_path / "t"
    res = CliRunner().invoke(cli, ["trends", "--period", "year", "--no-maps", "--privacy", "public", "--out", str(out)])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(out / "trends.csv")
    cube = pd.read_parquet(out / "trends_cube.parquet")
    segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=RiskModel().segment_length_m)
    assert len(csv) == len(segs) and len(cube) == 3 * len(segs)
    low = cube["n_in_reach"].isna()
    assert (cube.loc[low, "hotspot"] == "suppressed").all() and cube.loc[low, "exposure"].isna().all()
    assert (cube.loc[~low, "n_in_reach"] >= 5).all()
    internal, c = emerging_hotspots(segs, routerisk.load_incidents(), period="year", return_cube=True)
    assert c.exposure.shape == (len(segs), 3)
    # public numbers come from masked records: the columns match, the values need not
    assert list(csv.columns[: len(internal.columns)]) == list(internal.columns)


@pytest.mark.browser
def test_trends_html_runs_offline_in_chromium_and_the_slider_recolours(tmp_path):
    from browser_utils import Page, launch, require_browser
    from routerisk.timefolium import trends_folium

    require_browser()
    from playwright.sync_api import sync_playwright

    seg = line_segments(3).to_crs("EPSG:4326")
    seg["segment_id"] = ["<img src=x onerror=document.title='pwned'>", "b", "c"]
    table = pd.DataFrame({"segment_id": seg["segment_id"], "pattern": ["new hot spot", "no pattern detected", None],
                          "trend_tau": [0.5, 0.0, np.nan], "z_2020": [-3.0, 0.0, np.nan],
                          "z_2021": [4.0, 0.0, np.nan]})  # fmt: skip
    path = trends_folium(seg, table, ["2020", "2021"], tmp_path / "m.html")[0]
    with sync_playwright() as p:
        browser = launch(p)
        page = Page(browser)
        page.open(path)
        assert page.errors == [] and page.blocked == [] and page.failed == []
        assert page.page.title() != "pwned"
        assert page.page.locator("#rr-period-label").inner_text() == "2021"
        page.page.locator("#rr-period").fill("0")
        assert page.page.locator("#rr-period-label").inner_text() == "2020"
        page.close()
        browser.close()
