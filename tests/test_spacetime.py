"""Space-time exposure: one kernel pass with a period index equals per-period scoring runs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

import routerisk
from routerisk import RiskModel, score_segments
from routerisk._errors import ConfigError
from routerisk.spacetime import group_exposure, period_of, spacetime_exposure

CRS = "EPSG:6372"
CATS = ["homicide", "robbery", "assault", "kidnapping", "other"]
PRECISIONS = ["exact", "locality", "municipality", "state"]


def line_segments(n=40, step=5000.0, y=2_000_000.0, x0=2_500_000.0):
    geoms = [LineString([(x0 + i * step, y), (x0 + (i + 1) * step, y)]) for i in range(n)]
    return gpd.GeoDataFrame({"segment_id": [f"s{i:03d}" for i in range(n)]}, geometry=geoms, crs=CRS)


def random_incidents(seed, n=300, n_seg=40, step=5000.0, start="2019-01-01", days=3 * 365):
    rng = np.random.default_rng(seed)
    x = 2_500_000.0 + rng.uniform(-20000, n_seg * step + 20000, n)
    y = 2_000_000.0 + rng.normal(0, 8000, n)
    dates = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return gpd.GeoDataFrame(
        {
            "category": rng.choice(CATS, n),
            "victims": rng.integers(1, 4, n),
            "location_precision": rng.choice(PRECISIONS, n, p=[0.5, 0.25, 0.2, 0.05]),
            "date": dates,
        },
        geometry=[Point(a, b) for a, b in zip(x, y, strict=True)],
        crs=CRS,
    )


MODEL = RiskModel(bandwidth_m=15000, crs=CRS, half_life_days=0)


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_exposure_summed_over_periods_equals_score_segments_without_decay(period):
    seg, inc = line_segments(), random_incidents(1)
    cube = spacetime_exposure(seg, inc, period=period, model=MODEL)
    scored = score_segments(seg, inc, model=MODEL)
    np.testing.assert_allclose(cube.exposure.sum(axis=1), scored["incident_exposure"], rtol=0, atol=1e-9)
    assert cube.count.sum() == scored.attrs["routerisk"]["n_incidents_attributed"]
    # the model's half-life is ignored inside a cube: each period is its own window
    decayed = spacetime_exposure(seg, inc, period=period, model=RiskModel(bandwidth_m=15000, crs=CRS))
    np.testing.assert_allclose(decayed.exposure, cube.exposure, atol=1e-12)


def test_each_period_equals_a_scoring_run_windowed_on_it():
    seg, inc = line_segments(), random_incidents(2)
    cube = spacetime_exposure(seg, inc, period="quarter", model=MODEL)
    assert cube.periods[0] == "2019Q1" and len(cube.periods) == 12
    for t in (0, 5, 11):
        p = pd.Period(cube.periods[t], "Q")
        m = RiskModel.from_dict({**MODEL.to_dict(), "window_start": p.start_time.date().isoformat(),
                                 "window_end": p.end_time.date().isoformat()})
        sc = score_segments(seg, inc, model=m)
        np.testing.assert_allclose(cube.exposure[:, t], sc["incident_exposure"], atol=1e-9)
        np.testing.assert_allclose(cube.exposure_lo[:, t], sc["incident_exposure_lo"], atol=1e-9)
        np.testing.assert_allclose(cube.exposure_hi[:, t], sc["incident_exposure_hi"], atol=1e-9)
        np.testing.assert_array_equal(cube.n_in_reach[:, t], sc["n_incidents"])
        np.testing.assert_array_equal(cube.hotspot[:, t], sc["hotspot"].to_numpy())
        np.testing.assert_allclose(cube.p_value[:, t], sc["p_value"], atol=1e-12, equal_nan=True)


def test_numpy_and_numba_backends_agree_and_blocks_do_not_matter(monkeypatch):
    seg, inc = line_segments(), random_incidents(3)
    a = spacetime_exposure(seg, inc, period="month", model=MODEL, backend="numpy")
    monkeypatch.setattr("routerisk.spacetime._BLOCK", 37)
    b = spacetime_exposure(seg, inc, period="month", model=MODEL, backend="numba")
    np.testing.assert_allclose(a.exposure, b.exposure, atol=1e-12)
    np.testing.assert_allclose(a.exposure_hi, b.exposure_hi, atol=1e-12)
    np.testing.assert_array_equal(a.n_in_reach, b.n_in_reach)


def test_group_exposure_by_hand():
    # uniform kernel of 5 m: records at 0 m and 3 m from the segment count fully, the one at 6 m not
    out = group_exposure([LineString([(0, 0), (10, 0)])], np.array([[5.0, 0.0], [5.0, 3.0], [5.0, 6.0]]),
                         np.array([1.0, 2.0, 4.0]), np.array([5.0, 5.0, 5.0]), np.array([0, 0, 1]), 2,
                         RiskModel(kernel="uniform", bandwidth_m=5.0))
    assert out["E"].tolist() == [[3.0, 0.0]]
    assert out["V"].tolist() == [[5.0, 0.0]]
    assert out["M"].tolist() == [[2.0, 0.0]]
    assert out["N"].tolist() == [[2, 0]]


def test_undated_and_out_of_window_records_stay_out_and_fixed_periods():
    seg = line_segments(10)
    inc = random_incidents(4, n=80, n_seg=10)
    inc.loc[inc.index[:5], "date"] = pd.NaT
    cube = spacetime_exposure(seg, inc, period="year", model=MODEL, periods=["2020", "2021"])
    assert cube.periods == ["2020", "2021"]
    dated = inc[inc["date"].dt.year.isin([2020, 2021])]
    sc = score_segments(seg, dated, model=MODEL)
    np.testing.assert_allclose(cube.exposure.sum(axis=1), sc["incident_exposure"], atol=1e-9)
    assert cube.attrs["n_incidents_undated_or_outside"] == len(inc) - len(dated)
    long = cube.long()
    assert len(long) == 10 * 2 and set(long["period"]) == {"2020", "2021"}


def test_errors_are_config_errors():
    seg, inc = line_segments(5), random_incidents(5, n=20, n_seg=5)
    with pytest.raises(ConfigError, match="period"):
        spacetime_exposure(seg, inc, period="week", model=MODEL)
    with pytest.raises(ConfigError, match="date"):
        spacetime_exposure(seg, inc.drop(columns="date"), model=MODEL)
    inc["date"] = pd.NaT
    with pytest.raises(ConfigError, match="no dated record"):
        spacetime_exposure(seg, inc, model=MODEL)


def test_period_of():
    assert [str(p) for p in period_of(["2019-12-31", "2020-01-01"], "month")] == ["2019-12", "2020-01"]
    assert [str(p) for p in period_of(["2019-12-31"], "year")] == ["2019"]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), period=st.sampled_from(["month", "quarter", "year"]))
def test_property_cube_is_consistent(seed, n, period):
    seg, inc = line_segments(12), random_incidents(seed, n=n, n_seg=12)
    cube = spacetime_exposure(seg, inc, period=period, model=MODEL)
    assert np.all(cube.exposure_lo <= cube.exposure + 1e-12)
    assert np.all(cube.exposure <= cube.exposure_hi + 1e-12)
    assert np.all(cube.exposure_hi > 0)
    attributed = cube.count.sum(axis=0)
    assert np.all((cube.observed >= 0) | np.isnan(cube.observed))
    assert attributed.sum() <= n
    sc = score_segments(seg, inc, model=MODEL)
    np.testing.assert_allclose(cube.exposure.sum(axis=1), sc["incident_exposure"], atol=1e-9)


def test_lon_lat_table_and_geodataframe_give_the_same_cube():
    segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=20000)
    inc = routerisk.load_incidents()
    table = pd.DataFrame(inc.drop(columns="geometry"))
    table["lon"], table["lat"] = inc.geometry.x, inc.geometry.y
    a = spacetime_exposure(segs, inc, period="year")
    b = spacetime_exposure(segs, table, period="year")
    np.testing.assert_allclose(a.exposure, b.exposure, atol=1e-9)
    np.testing.assert_array_equal(a.count, b.count)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), nper=st.integers(1, 6), steps=st.integers(0, 3))
def test_period_tests_equal_segment_hotspots_per_period(seed, nper, steps):
    import scipy.sparse as sp

    from routerisk.spacetime import hotspot_labels, period_tests
    from routerisk.stats import network_neighbourhood, segment_hotspots

    rng = np.random.default_rng(seed)
    n = 30
    count = rng.poisson(rng.uniform(0, 2), (n, nper))
    count[:, 0] = 0 if nper > 1 else count[:, 0]  # an empty period
    share = rng.uniform(0.5, 2.0, n)
    H = network_neighbourhood(sp.diags([1.0, 1.0], [-1, 1], shape=(n, n)), steps)
    out = period_tests(count, share, H)
    labels = hotspot_labels(out["p_value"], out["observed"] - out["expected"])
    for t in range(nper):
        if count[:, t].sum() == 0:
            assert np.isnan(out["p_value"][:, t]).all() and (out["z"][:, t] == 0).all()
            continue
        ref = segment_hotspots(count[:, t], share, H)
        np.testing.assert_allclose(out["p_raw"][:, t], ref["p_raw"], atol=1e-12, equal_nan=True)
        np.testing.assert_allclose(out["p_value"][:, t], ref["p_value"], atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(out["observed"][:, t], ref["observed"])
        np.testing.assert_allclose(out["expected"][:, t], ref["expected"], atol=1e-12)
        assert labels[:, t].tolist() == ref["hotspot"].tolist()


def test_cube_cell_budget_is_a_config_error(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from routerisk.cli import cli

    monkeypatch.setattr("routerisk.spacetime.MAX_CUBE_CELLS", 100)
    seg, inc = line_segments(40), random_incidents(6, n=50)
    with pytest.raises(ConfigError, match="more than 100 cells"):
        spacetime_exposure(seg, inc, period="quarter", model=MODEL)
    res = CliRunner().invoke(cli, ["trends", "--period", "month", "--out", str(tmp_path / "o")])
    assert res.exit_code == 3 and "--period" in res.output and not (tmp_path / "o").exists()
