"""score_segments and its parts: weights, bandwidths, enforcement exposure, composite, classes, uncertainty."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, Point, box

import routerisk
from routerisk.model import RiskModel
from routerisk.scoring import (
    SCORE_COLUMNS,
    enforcement_exposure,
    incident_bandwidths,
    incident_weights,
    score_segments,
)

METRIC = "EPSG:6372"
QUICK = {"crs": METRIC, "permutations": 0, "bootstrap": 0}


def route(n=40, length=5000.0, x0=2_500_000.0, y0=1_000_000.0, crs=METRIC, index=None):
    """A straight route of n segments of `length` metres along x."""
    geoms = [LineString([(x0 + i * length, y0), (x0 + (i + 1) * length, y0)]) for i in range(n)]
    return gpd.GeoDataFrame({"segment_id": [f"s{i}" for i in range(n)]}, geometry=geoms, crs=crs, index=index)


def incidents(xy, crs=METRIC, **cols):
    n = len(xy)
    data = {
        "incident_id": [f"i{i}" for i in range(n)],
        "date": pd.to_datetime(["2021-06-01"] * n),
        "category": ["homicide"] * n,
        "victims": [1] * n,
        "location_precision": ["exact"] * n,
    }
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=[Point(x, y) for x, y in xy], crs=crs)


def random_incidents(n, seed, x0=2_500_000.0, y0=1_000_000.0, spread=(200_000.0, 40_000.0)):
    rng = np.random.default_rng(seed)
    xy = np.c_[x0 + rng.uniform(0, spread[0], n), y0 + rng.normal(0, spread[1] / 2, n)]
    return incidents(
        xy,
        date=pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        category=rng.choice(["homicide", "robbery", "kidnapping", "accident"], n),
        victims=rng.integers(1, 4, n),
        location_precision=rng.choice(["exact", "locality", "municipality", "state"], n),
    )


# -- weights and bandwidths ----------------------------------------------------------------------------------------
def test_incident_weights_severity_decay_and_window():
    inc = pd.DataFrame(
        {
            "category": ["homicide", "robbery", "homicide", "kidnapping"],
            "victims": [1, 1, 3, 1],
            "date": pd.to_datetime(["2021-01-01", "2020-01-02", "2021-01-01", None]),
        }
    )
    w = incident_weights(inc, RiskModel(half_life_days=365))
    # reference = latest date 2021-01-01; robbery is 365 days old -> half; NaT -> no decay
    np.testing.assert_allclose(w, [1.0, 0.15, 1 + np.log(3), 0.8])
    assert incident_weights(inc, RiskModel(half_life_days=0))[1] == pytest.approx(0.3)
    w = incident_weights(inc, RiskModel(half_life_days=0, victims_factor="linear"), reference_date="2030-01-01")
    assert w[2] == 3.0
    windowed = incident_weights(inc, RiskModel(half_life_days=0, window_start=dt.date(2020, 6, 1)))
    np.testing.assert_allclose(windowed, [1.0, 0.0, 1 + np.log(3), 0.0])  # undated: outside any window
    ended = incident_weights(inc, RiskModel(half_life_days=0, window_end="2020-01-02"))
    np.testing.assert_allclose(ended, [0.0, 0.3, 0.0, 0.0])  # window_end is inclusive
    later = incident_weights(inc, RiskModel(half_life_days=365, reference_date="2022-01-01"))
    assert later[0] == pytest.approx(0.5)
    custom = incident_weights(inc, RiskModel(half_life_days=0, category_weights={"robbery": 0.0}))
    assert custom[1] == 0.0


def test_incident_bandwidths_by_precision():
    inc = pd.DataFrame({"location_precision": ["exact", "locality", "municipality", "unknown", "state", None, "x"]})
    h = incident_bandwidths(inc, RiskModel(bandwidth_m=10_000))
    np.testing.assert_allclose(h[:4], np.sqrt([1e8, 1e8 + 25e6, 1e8 + 225e6, 1e8 + 225e6]))
    assert np.isnan(h[4])
    assert h[5] == h[6] == h[3]
    assert incident_bandwidths(pd.DataFrame(index=range(2)), RiskModel()).tolist() == [15000.0, 15000.0]


# -- enforcement exposure --------------------------------------------------------------------------------------------
def test_enforcement_exposure_fraction_window_and_points():
    seg = gpd.GeoSeries([LineString([(0, 0), (10, 0)]), LineString([(100, 0), (100, 0)]), LineString([(50, 50),
                        (60, 50)])], crs=METRIC)
    zones = gpd.GeoDataFrame(
        {
            "intensity": [2.0, 1.0, 10.0, 3.0],
            "start_date": pd.to_datetime(["2020-01-01", None, "2019-01-01", None]),
            "end_date": pd.to_datetime([None, None, "2019-12-31", None]),
            "radius_m": [np.nan, np.nan, np.nan, 5.0],
        },
        geometry=[box(-1, -1, 4, 1), box(2, -1, 8, 1), box(-50, -50, 200, 200), Point(100, 0)],
        crs=METRIC,
    )
    z = enforcement_exposure(seg, zones, RiskModel(window_start="2020-06-01"))
    # zone 3 ended before the window; segment 1 has zero length and lies in the buffered point zone
    np.testing.assert_allclose(z, [2 * 0.4 + 1 * 0.6, 3.0, 0.0])
    everything = enforcement_exposure(seg, zones, RiskModel())
    np.testing.assert_allclose(everything, [11.4, 13.0, 10.0])
    assert enforcement_exposure(seg, None).tolist() == [0.0, 0.0, 0.0]


# -- score_segments --------------------------------------------------------------------------------------------------
def test_score_segments_columns_index_crs_and_attrs():
    seg = route(30, index=pd.Index(range(100, 130), name="sid")).to_crs("EPSG:4326")
    inc = random_incidents(400, 1).to_crs("EPSG:4326")
    zones = gpd.GeoDataFrame({"intensity": [4.0]}, geometry=[box(2_520_000, 990_000, 2_560_000, 1_010_000)],
                             crs=METRIC).to_crs("EPSG:4326")
    out = score_segments(seg, inc, zones=zones, model=RiskModel(bootstrap=50, permutations=99))
    assert out.index.equals(seg.index) and out.crs == seg.crs
    assert list(out.columns) == [*seg.columns, *SCORE_COLUMNS]
    assert out.geometry.equals(seg.geometry) and "risk" not in seg
    assert out["risk"].between(0, 100).all() and out["risk_class"].between(1, 5).all()
    assert (out["risk_lo"] <= out["risk"]).all() and (out["risk"] <= out["risk_hi"]).all()
    assert out["evidence"].isin(["low", "medium", "high"]).all()
    assert out["enforcement_exposure"].max() > 0
    meta = out.attrs["routerisk"]
    assert meta["analysis_crs"] == "EPSG:6372"
    assert meta["exposure_normaliser"] > 0 and meta["enforcement_normaliser"] == pytest.approx(4.0)
    assert meta["n_incidents_unplaced"] == int((inc["location_precision"] == "state").sum())
    assert meta["model"]["bootstrap"] == 50


def test_composite_formula_and_normalisation():
    seg = route(50)
    inc = random_incidents(300, 7)
    zones = gpd.GeoDataFrame({"intensity": [1.0]}, geometry=[box(2_500_000, 0, 2_560_000, 2e6)], crs=METRIC)
    model = RiskModel(**QUICK, incident_weight=3, enforcement_weight=1)
    out = score_segments(seg, inc, zones=zones, model=model)
    E, Z = out["incident_exposure"].to_numpy(), out["enforcement_exposure"].to_numpy()
    cE = np.quantile(E[E > 0], 0.99)
    expected = 100 * (3 * np.minimum(E / cE, 1) + 1 * np.minimum(Z / 1.0, 1)) / 4
    np.testing.assert_allclose(out["risk"], expected, rtol=1e-12)
    assert out.attrs["routerisk"]["exposure_normaliser"] == pytest.approx(cE)
    np.testing.assert_allclose(out["incident_density"], E / 5.0)


def test_score_matches_engine_reference_and_backends():
    seg = route(20)
    inc = random_incidents(500, 3)
    model = RiskModel(**QUICK, kernel="gaussian", bandwidth_m=8000)
    a = score_segments(seg, inc, model=model, backend="numba")
    b = score_segments(seg, inc, model=model, backend="numpy")
    np.testing.assert_allclose(a["incident_exposure"], b["incident_exposure"], rtol=1e-12)
    # brute force from the public helpers
    w, h = incident_weights(inc, model), incident_bandwidths(inc, model)
    ok = np.isfinite(h) & (w > 0)
    d = shapely.distance(np.asarray(seg.geometry.array)[:, None], np.asarray(inc.geometry.array)[ok][None, :])
    k = np.where(d < 3 * h[ok], np.exp(-(d**2) / (2 * h[ok] ** 2)), 0.0)
    np.testing.assert_allclose(a["incident_exposure"], (k * w[ok]).sum(axis=1), rtol=1e-9)
    np.testing.assert_array_equal(a["n_incidents"], (d < 3 * h[ok]).sum(axis=1))


def test_crs_mismatch_raises():
    with pytest.raises(routerisk.CRSMismatchError, match="different CRSs"):
        score_segments(route(3), incidents([(0, 0)], crs="EPSG:4326"))
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(routerisk.CRSMismatchError):
        score_segments(route(3), incidents([(0, 0)]), zones=zones)


def test_empty_incidents_give_zero_exposure():
    seg = route(10)
    empty = incidents([])
    out = score_segments(seg, empty, model=RiskModel(crs=METRIC))
    assert (out["incident_exposure"] == 0).all() and (out["n_incidents"] == 0).all()
    assert (out["risk"] == 0).all() and (out["risk_class"] == 1).all()
    assert (out["evidence"] == "low").all() and (out["hotspot"] == "not tested").all()


def test_zero_length_and_empty_segments_do_not_crash():
    seg = route(6)
    seg.loc[2, "geometry"] = LineString([(2_510_000, 1_000_000), (2_510_000, 1_000_000)])
    seg.loc[4, "geometry"] = LineString()
    inc = incidents([(2_510_000, 1_000_100), (2_512_000, 1_000_000)])
    out = score_segments(seg, inc, model=RiskModel(crs=METRIC, bootstrap=20, permutations=99))
    assert out.loc[2, "incident_exposure"] > 0 and out.loc[2, "incident_density"] == 0.0
    assert out.loc[4, "incident_exposure"] == 0.0
    assert np.isfinite(out["risk"]).all()


def test_evidence_thresholds():
    seg = route(3, length=1000.0)
    x = 2_500_500.0
    # segment 0: 2 incidents nearby -> low; make them reach only segment 0 with a tiny bandwidth
    xy = [(x, 1_000_010)] * 2 + [(x + 1000, 1_000_010)] * 5 + [(x + 2000, 1_000_010)] * 12
    out = score_segments(seg, incidents(xy), model=RiskModel(**QUICK, bandwidth_m=100))
    assert out["n_incidents"].tolist() == [2, 5, 12]
    assert out["evidence"].tolist() == ["low", "medium", "high"]


def test_state_level_and_out_of_window_incidents_are_not_counted():
    seg = route(3)
    inc = incidents(
        [(2_501_000, 1_000_000)] * 3,
        location_precision=["exact", "state", "exact"],
        date=pd.to_datetime(["2021-06-01", "2021-06-01", "2019-01-01"]),
    )
    out = score_segments(seg, inc, model=RiskModel(**QUICK, window_start="2021-01-01"))
    assert out["n_incidents"].iloc[0] == 1
    assert out.attrs["routerisk"]["n_incidents_placed"] == 1


def test_bootstrap_interval_contains_estimate_and_is_seeded():
    seg = route(40)
    inc = random_incidents(200, 11)
    model = RiskModel(crs=METRIC, bootstrap=100, permutations=0)
    a = score_segments(seg, inc, model=model)
    b = score_segments(seg, inc, model=model)
    assert (a["risk_lo"] <= a["risk"]).all() and (a["risk"] <= a["risk_hi"]).all()
    assert (a["risk_hi"] - a["risk_lo"]).max() > 1  # the interval is not degenerate
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    off = score_segments(seg, inc, model=RiskModel(crs=METRIC, bootstrap=0, permutations=0))
    np.testing.assert_array_equal(off["risk_lo"], off["risk"])
    np.testing.assert_array_equal(off["risk_hi"], off["risk"])
    np.testing.assert_allclose(off["risk"], a["risk"], rtol=1e-12)


def test_bootstrap_in_blocks_gives_the_same_interval(monkeypatch):
    import routerisk.scoring as scoring

    seg = route(30)
    inc = random_incidents(300, 13)
    model = RiskModel(crs=METRIC, bootstrap=40, permutations=0)
    whole = score_segments(seg, inc, model=model)
    monkeypatch.setattr(scoring, "_MAX_BLOCK_PAIRS", 50)
    monkeypatch.setattr(scoring, "_BOOT_CELLS", 1000)
    blocks = score_segments(seg, inc, model=model)
    assert len(scoring._blocks(whole["n_incidents"].to_numpy(), 50)) > 5
    np.testing.assert_allclose(blocks["risk_lo"], whole["risk_lo"], rtol=1e-6)
    np.testing.assert_allclose(blocks["risk_hi"], whole["risk_hi"], rtol=1e-6)


@pytest.mark.parametrize("classes", ["quantiles", "fisher_jenks"])
def test_classes_handle_ties_and_zeros(classes):
    seg = route(30)
    # incidents only near the first 3 segments: most risks are 0
    inc = incidents([(2_500_000 + 1000 * i, 1_000_000) for i in range(12)])
    out = score_segments(seg, inc, model=RiskModel(**{**QUICK, "classes": classes}, bandwidth_m=4000))
    assert out["risk_class"].between(1, 5).all()
    assert out.loc[out["risk"] == 0, "risk_class"].nunique() == 1
    assert out.loc[out["risk"].idxmax(), "risk_class"] == out["risk_class"].max()
    top = out.sort_values("risk")["risk_class"].to_numpy()
    assert (np.diff(top) >= 0).all()  # classes are monotone in risk


def test_hotspots_column_values():
    seg = route(40)
    inc = random_incidents(300, 5, spread=(40_000.0, 5_000.0))  # incidents near the start only
    out = score_segments(seg, inc, model=RiskModel(crs=METRIC, bootstrap=0, permutations=199))
    assert out["hotspot"].str.match(r"^(hot|cold) (90|95|99)%$|^not significant$|^not tested$").all()
    assert out["hotspot"].iloc[:5].str.startswith("hot").all()
    assert out["p_value"].between(0, 1).all()


PROPS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.floats(-1e5, 1e5), st.floats(-1e5, 1e5), st.integers(0, 1000))
def test_translation_in_analysis_crs_leaves_scores_unchanged(dx, dy, seed):
    seg = route(12)
    inc = random_incidents(60, seed, spread=(60_000.0, 20_000.0))
    model = RiskModel(crs=METRIC, bootstrap=30, permutations=0)
    a = score_segments(seg, inc, model=model)
    b = score_segments(seg.set_geometry(seg.translate(dx, dy)), inc.set_geometry(inc.translate(dx, dy)), model=model)
    for col in ("incident_exposure", "enforcement_exposure", "risk", "risk_lo", "risk_hi"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-7, atol=1e-7)
    assert (a["evidence"] == b["evidence"]).all()
