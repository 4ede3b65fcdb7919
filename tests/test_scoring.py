"""score_segments and its parts: weights, bandwidths, precision mass, fixed scales, classes, intervals, hot spots."""

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
from routerisk.intervals import kernel_integrals
from routerisk.model import RiskModel
from routerisk.scoring import (
    SCORE_COLUMNS,
    enforcement_exposure,
    fixed_classes,
    incident_bandwidths,
    incident_weights,
    precision_factor,
    score_segments,
)

METRIC = "EPSG:6372"
QUICK = {"crs": METRIC}


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


# -- location precision keeps the mass --------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", ["quartic", "gaussian", "epanechnikov"])
def test_precision_keeps_a_records_total_exposure(kernel):
    """Dense parallel routes covering the plane: a municipality-level record sums to an exact record's (2 %)."""
    model = RiskModel(crs=METRIC, kernel=kernel, half_life_days=0)
    reach = 3 * 21_214.0 if kernel == "gaussian" else 21_214.0
    x0, y0 = 2_500_000.0, 1_000_000.0
    lines = []
    for y in np.arange(y0 - reach - 5000, y0 + reach + 5000, 1000.0):
        lines += [LineString([(x, y), (x + 5000, y)]) for x in np.arange(x0 - reach - 5000, x0 + reach + 5000, 5000)]
    seg = gpd.GeoDataFrame({"segment_id": range(len(lines))}, geometry=lines, crs=METRIC)
    inc = incidents([(x0 + 1234, y0 + 567)] * 3, location_precision=["exact", "locality", "municipality"])
    totals = [score_segments(seg, inc.iloc[[i]], model=model)["incident_exposure"].sum() for i in range(3)]
    assert totals[1] == pytest.approx(totals[0], rel=0.02)
    assert totals[2] == pytest.approx(totals[0], rel=0.02)
    # without the factor the municipality-level record would weigh far more (the reviewer's +96 % at 1 km)
    h = incident_bandwidths(inc, model)
    assert totals[2] / precision_factor(h[2], model) > 1.7 * totals[0]


def test_precision_factor_formula():
    model = RiskModel(bandwidth_m=10_000, segment_length_m=4000)
    h = np.array([10_000.0, 20_000.0])
    p, q, _ = kernel_integrals("quartic", h)
    np.testing.assert_allclose(precision_factor(h, model), (p[0] + 4000 * q[0]) / (p + 4000 * q))
    short = RiskModel(bandwidth_m=10_000, segment_length_m=1e-6)
    np.testing.assert_allclose(precision_factor(h, short), [1.0, 0.25])


# -- score_segments --------------------------------------------------------------------------------------------------
def test_score_segments_columns_index_crs_and_attrs():
    seg = route(30, index=pd.Index(range(100, 130), name="sid")).to_crs("EPSG:4326")
    inc = random_incidents(400, 1).to_crs("EPSG:4326")
    zones = gpd.GeoDataFrame({"intensity": [4.0]}, geometry=[box(2_520_000, 990_000, 2_560_000, 1_010_000)],
                             crs=METRIC).to_crs("EPSG:4326")
    out = score_segments(seg, inc, zones=zones, model=RiskModel())
    assert out.index.equals(seg.index) and out.crs == seg.crs
    assert list(out.columns) == [*seg.columns, *SCORE_COLUMNS]
    assert out.geometry.equals(seg.geometry) and "risk" not in seg
    for col in ("incident_risk", "enforcement_risk", "composite_risk", "risk", "risk_lo", "risk_hi"):
        assert out[col].between(0, 100).all(), col
    assert out["risk_percentile"].between(0, 100).all() and out["risk_class"].between(1, 5).all()
    assert (out["risk_lo"] <= out["risk"]).all() and (out["risk"] <= out["risk_hi"]).all()
    assert (out["incident_exposure_lo"] <= out["incident_exposure"]).all()
    assert (out["incident_exposure"] <= out["incident_exposure_hi"]).all()
    assert (out["incident_exposure_hi"] > 0).all()  # a segment without records still gets [0, upper > 0]
    assert out["evidence"].isin(["low", "medium", "high"]).all()
    assert out["enforcement_exposure"].max() > 0
    np.testing.assert_array_equal(out["risk"], out["incident_risk"])  # default layer: incidents only
    meta = out.attrs["routerisk"]
    assert meta["analysis_crs"] == "EPSG:6372" and meta["risk_layer"] == "incident"
    assert meta["risk_reference"] == 0.5 and meta["enforcement_reference"] == 1.0
    assert meta["n_incidents_unplaced"] == int((inc["location_precision"] == "state").sum())
    assert "bootstrap" not in meta["model"] and meta["model"]["risk_layer"] == "incident"
    assert meta["observation_window"] == ["2020-01-01", str(inc["date"].max().date())]


def test_fixed_scales_formula_and_layers():
    seg = route(50)
    inc = random_incidents(300, 7)
    zones = gpd.GeoDataFrame({"intensity": [2.0]}, geometry=[box(2_500_000, 0, 2_560_000, 2e6)], crs=METRIC)
    model = RiskModel(**QUICK, incident_weight=3, enforcement_weight=1, half_life_days=0, risk_reference=0.8,
                      enforcement_reference=4.0, window_start="2020-01-01", window_end="2021-12-31")
    out = score_segments(seg, inc, zones=zones, model=model)
    years = 731 / 365.25  # 2020 and 2021, inclusive, no decay
    assert out.attrs["routerisk"]["effective_years"] == pytest.approx(years)
    E, Z = out["incident_exposure"].to_numpy(), out["enforcement_exposure"].to_numpy()
    r = E / years
    np.testing.assert_allclose(out["incident_risk"], 100 * r / (r + 0.8), rtol=1e-12)
    np.testing.assert_allclose(out["enforcement_risk"], 100 * Z / (Z + 4.0), rtol=1e-12)
    np.testing.assert_allclose(out["composite_risk"], (3 * out["incident_risk"] + out["enforcement_risk"]) / 4)
    lo = out["incident_exposure_lo"] / years
    np.testing.assert_allclose(out["risk_lo"], 100 * lo / (lo + 0.8), rtol=1e-12)
    np.testing.assert_allclose(out["incident_density"], E / 5.0)
    comp = score_segments(seg, inc, zones=zones, model=RiskModel(**{**model.to_dict(), "risk_layer": "composite"}))
    np.testing.assert_array_equal(comp["risk"], out["composite_risk"])
    hi = 100 * (out["incident_exposure_hi"] / years) / (out["incident_exposure_hi"] / years + 0.8)
    np.testing.assert_allclose(comp["risk_hi"], (3 * hi + out["enforcement_risk"]) / 4, rtol=1e-12)
    assert comp.attrs["routerisk"]["risk_layer"] == "composite"
    # the within-run percentile is a separate column: share of segments with risk <= this one, in %
    np.testing.assert_allclose(out["risk_percentile"], [100 * np.mean(out["risk"] <= v) for v in out["risk"]])


def test_effective_years_with_decay_match_a_steady_process():
    """A steady stream of equal records gives the same rate whatever the half-life and the window."""
    seg = route(3)
    days = pd.date_range("2018-01-01", "2021-12-31", freq="D")
    inc = incidents([(2_505_000.0, 1_000_000.0)] * len(days), date=days)
    rates = []
    for half_life, start in ((0, None), (365, None), (90, "2020-01-01"), (30, "2021-06-01")):
        m = RiskModel(**QUICK, half_life_days=half_life, window_start=start)
        out = score_segments(seg, inc, model=m)
        rates.append(out["incident_exposure"].iloc[1] / out.attrs["routerisk"]["effective_years"])
    np.testing.assert_allclose(rates, rates[0], rtol=1e-9)
    assert rates[0] == pytest.approx(365.25)  # one record a day at the segment, kernel 1


def test_risk_of_a_route_does_not_depend_on_the_other_routes():
    inc = random_incidents(400, 21, spread=(200_000.0, 80_000.0))
    routes = [route(40, y0=1_000_000.0 + dy) for dy in (-30_000.0, 0.0, 25_000.0, 60_000.0)]
    for k, r in enumerate(routes):
        r["segment_id"] = [f"r{k}:{i}" for i in range(len(r))]
    together = pd.concat(routes, ignore_index=True)
    both = score_segments(together, inc, model=RiskModel(**QUICK))
    alone = score_segments(routes[1], inc, model=RiskModel(**QUICK))
    part = both[both["segment_id"].str.startswith("r1:")].reset_index(drop=True)
    for col in ("incident_exposure", "incident_exposure_lo", "incident_exposure_hi", "incident_risk", "risk",
                "risk_lo", "risk_hi"):
        np.testing.assert_allclose(alone[col], part[col], rtol=0, atol=1e-9, err_msg=col)
    np.testing.assert_array_equal(alone["risk_class"], part["risk_class"])  # fixed classes compare too
    assert part["risk"].max() > 20  # not a trivial comparison


def test_intervals_do_not_change_when_far_rows_are_added():
    seg = route(20)
    inc = random_incidents(150, 8, spread=(100_000.0, 30_000.0))
    far = random_incidents(300, 9, x0=2_900_000.0, y0=1_500_000.0)  # 400 km away
    # the decay's reference date and the window are fixed (by default they follow the latest and earliest record)
    model = RiskModel(**QUICK, window_start="2020-01-01", window_end="2022-06-30", reference_date="2022-06-30")
    a = score_segments(seg, inc, model=model)
    b = score_segments(seg, pd.concat([inc, far], ignore_index=True), model=model)
    for col in ("incident_exposure", "incident_exposure_lo", "incident_exposure_hi", "risk", "risk_lo", "risk_hi"):
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    # with the defaults the window and the reference date follow the data: far rows dated inside it change nothing
    far["date"] = far["date"].clip(inc["date"].min(), inc["date"].max())
    a = score_segments(seg, inc, model=RiskModel(**QUICK))
    b = score_segments(seg, pd.concat([inc, far], ignore_index=True), model=RiskModel(**QUICK))
    for col in ("incident_exposure", "incident_exposure_lo", "incident_exposure_hi", "risk", "risk_lo", "risk_hi"):
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)


def test_score_matches_engine_reference_and_backends():
    seg = route(20)
    inc = random_incidents(500, 3)
    model = RiskModel(**QUICK, kernel="gaussian", bandwidth_m=8000)
    a = score_segments(seg, inc, model=model, backend="numba")
    b = score_segments(seg, inc, model=model, backend="numpy")
    for col in ("incident_exposure", "incident_exposure_lo", "incident_exposure_hi"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-12)
    # brute force from the public helpers
    w, h = incident_weights(inc, model), incident_bandwidths(inc, model)
    ok = np.isfinite(h) & (w > 0)
    w = w[ok] * precision_factor(h[ok], model)
    d = shapely.distance(np.asarray(seg.geometry.array)[:, None], np.asarray(inc.geometry.array)[ok][None, :])
    k = np.where(d < 3 * h[ok], np.exp(-(d**2) / (2 * h[ok] ** 2)), 0.0)
    np.testing.assert_allclose(a["incident_exposure"], (k * w).sum(axis=1), rtol=1e-9)
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
    assert (out["incident_exposure_lo"] == 0).all() and (out["incident_exposure_hi"] > 0).all()
    assert (out["evidence"] == "low").all() and (out["hotspot"] == "not tested").all()
    assert out["p_value"].isna().all() and out["gi_z"].isna().all()


def test_zero_length_and_empty_segments_do_not_crash():
    seg = route(6)
    seg.loc[2, "geometry"] = LineString([(2_510_000, 1_000_000), (2_510_000, 1_000_000)])
    seg.loc[4, "geometry"] = LineString()
    inc = incidents([(2_510_000, 1_000_100), (2_512_000, 1_000_000)])
    out = score_segments(seg, inc, model=RiskModel(crs=METRIC))
    assert out.loc[2, "incident_exposure"] > 0 and out.loc[2, "incident_density"] == 0.0
    assert out.loc[4, "incident_exposure"] == 0.0
    assert np.isfinite(out["risk"]).all() and np.isfinite(out["risk_hi"]).all()


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


def test_fixed_classes_breaks():
    assert fixed_classes([0, 19.999, 20, 39.9, 40, 60, 79.9, 80, 100]).tolist() == [1, 1, 2, 2, 3, 4, 4, 5, 5]


@pytest.mark.parametrize("classes", ["fixed", "quantiles", "fisher_jenks"])
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
    if classes == "fixed":
        np.testing.assert_array_equal(out["risk_class"], fixed_classes(out["risk"]))


def test_hotspots_column_values():
    seg = route(40)
    inc = random_incidents(300, 5, spread=(40_000.0, 5_000.0))  # incidents near the start only
    out = score_segments(seg, inc, model=RiskModel(crs=METRIC))
    assert out["hotspot"].str.match(r"^(hot|cold) (90|95|99)%$|^not significant$|^not tested$").all()
    assert out["hotspot"].iloc[:5].str.startswith("hot").all()
    assert out["hotspot"].iloc[-10:].str.startswith("cold").all()
    assert out["p_value"].between(0, 1).all()
    assert (out["gi_z"].iloc[:5] > 0).all()
    meta = out.attrs["routerisk"]
    assert meta["n_incidents_attributed"] == meta["n_incidents_placed"] > 200  # all lie within reach


def test_hotspots_use_the_flow_column_as_null_share():
    seg = route(40)
    inc = random_incidents(300, 5, spread=(40_000.0, 5_000.0))
    # flow proportional to where the incidents are: the excess near the start is explained away
    seg["flow"] = np.where(np.arange(40) < 8, 10.0, 0.1)
    out = score_segments(seg, inc, model=RiskModel(crs=METRIC))
    assert not out["hotspot"].iloc[:5].str.startswith("hot").any()
    seg["flow"] = np.r_[-1.0, np.ones(39)]
    with pytest.raises(routerisk.InputError, match="column `flow` must be a number >= 0"):
        score_segments(seg, inc, model=RiskModel(crs=METRIC))


def test_months_of_each_term_and_the_overlap_warning(caplog):
    seg = route(10)
    inc = incidents([(2_510_000, 1_000_000)] * 3, date=pd.to_datetime(["2014-03-02", "2015-07-01", "2016-12-31"]))
    zones = gpd.GeoDataFrame(
        {"intensity": [1.0, 2.0], "start_date": pd.to_datetime(["2019-01-01", "2020-05-01"]),
         "end_date": pd.to_datetime(["2019-12-31", "2021-02-28"])},
        geometry=[box(2_500_000, 0, 2_530_000, 2e6)] * 2, crs=METRIC,
    )
    with caplog.at_level("WARNING", logger="routerisk"):
        out = score_segments(seg, inc, zones=zones, model=RiskModel(**QUICK))
    meta = out.attrs["routerisk"]
    assert meta["incident_months"] == {"first": "2014-03", "last": "2016-12", "count": 3}
    assert meta["zone_months"] == {"first": "2019-01", "last": "2021-02", "count": 22, "undated": 0}
    assert len(meta["warnings"]) == 1 and "do not overlap" in meta["warnings"][0]
    assert "do not overlap" in caplog.text
    caplog.clear()
    same = zones.assign(start_date=pd.to_datetime(["2014-01-01"] * 2), end_date=pd.to_datetime(["2016-12-31"] * 2))
    with caplog.at_level("WARNING", logger="routerisk"):
        ok = score_segments(seg, inc, zones=same, model=RiskModel(**QUICK))
    assert ok.attrs["routerisk"]["warnings"] == [] and caplog.text == ""


PROPS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.floats(-1e5, 1e5), st.floats(-1e5, 1e5), st.integers(0, 1000))
def test_translation_in_analysis_crs_leaves_scores_unchanged(dx, dy, seed):
    seg = route(12)
    inc = random_incidents(60, seed, spread=(60_000.0, 20_000.0))
    model = RiskModel(crs=METRIC)
    a = score_segments(seg, inc, model=model)
    b = score_segments(seg.set_geometry(seg.translate(dx, dy)), inc.set_geometry(inc.translate(dx, dy)), model=model)
    for col in ("incident_exposure", "incident_exposure_lo", "incident_exposure_hi", "enforcement_exposure", "risk",
                "risk_lo", "risk_hi"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-7, atol=1e-7)
    assert (a["evidence"] == b["evidence"]).all()


def test_cli_prints_and_records_the_overlap_warning_and_the_layer(tmp_path):
    """End to end: zones from 2010-2011 with the embedded incidents (2019-2021) warn on stderr and in the manifest."""
    import json

    from click.testing import CliRunner

    from routerisk.cli import cli

    zones = gpd.GeoDataFrame(
        {"zone_id": ["z1"], "intensity": [3.0], "start_date": ["2010-01-01"], "end_date": ["2011-06-30"]},
        geometry=[box(-95.5, 15.0, -93.0, 17.5)], crs="EPSG:4326",
    )
    zpath = tmp_path / "zones.geojson"
    zones.to_file(zpath, driver="GeoJSON")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["score", "--zones", str(zpath), "--param", "risk_layer='composite'",
                                      "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "do not overlap in time" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    score = manifest["score"]
    assert score["risk_layer"] == "composite" and manifest["model"]["risk_layer"] == "composite"
    assert score["zone_months"]["first"] == "2010-01" and score["zone_months"]["last"] == "2011-06"
    assert score["incident_months"]["first"] <= score["incident_months"]["last"]
    assert any("do not overlap" in w for w in score["warnings"])
    ranked = pd.read_csv(out / "segments_ranked.csv")
    np.testing.assert_allclose(ranked["risk"], ranked["composite_risk"], atol=1e-4)


def test_maps_name_the_risk_layer():
    import matplotlib

    matplotlib.use("Agg")
    from routerisk.maps import static_map
    from routerisk.maps._legend import legend_html

    assert "Segment risk class (composite risk)" in legend_html(heat_min=0, heat_max=1, heat_units="x",
                                                                 layer="composite")
    assert "Segment risk class</b>" in legend_html(heat_min=0, heat_max=1, heat_units="x")
    seg = score_segments(route(4), incidents([(2_505_000.0, 1_000_000.0)]), model=RiskModel(**QUICK)).to_crs(4326)
    fig = static_map(seg, title="t")
    assert "(incident risk)" in fig.legends[0].get_title().get_text()
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_incident_exposure_alone_equals_the_scored_column(kernel):
    """The exposure-only path (used by the bandwidth sensitivity table) is the same sum as score_segments'."""
    from routerisk.scoring import incident_exposure

    seg = routerisk.segmentize(routerisk.load_corridors().iloc[:3], segment_length_m=5000)
    inc = routerisk.load_incidents()
    model = RiskModel(kernel=kernel, bandwidth_m=12_000)
    scored = routerisk.score_segments(seg, inc, model=model)["incident_exposure"].to_numpy()
    np.testing.assert_array_equal(incident_exposure(seg, inc, model=model), scored)
