"""Incident exposure by perpetrator class (routerisk.perpetrators): exact split, hand values, the run folder."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

import routerisk
from routerisk.cli import cli
from routerisk.perpetrators import PERPETRATOR_COLUMNS, exposure_by_perpetrator, perpetrator_small_multiples
from routerisk.schema import PERPETRATORS

CRS = "EPSG:6372"


@pytest.fixture(scope="module")
def demo():
    segs = routerisk.segmentize(routerisk.load_corridors(), 5000)
    inc = routerisk.load_incidents()
    model = routerisk.RiskModel()
    scored = routerisk.score_segments(segs, inc, zones=routerisk.load_zones(), model=model)
    return segs, inc, model, scored


def test_classes_sum_to_incident_exposure_on_the_demo(demo):
    segs, inc, model, scored = demo
    by = exposure_by_perpetrator(segs, inc, model)
    assert list(by.columns) == list(PERPETRATOR_COLUMNS) and by.index.equals(segs.index)
    total = scored["incident_exposure"].to_numpy()
    assert np.abs(by.sum(axis=1).to_numpy() - total).max() <= 1e-12
    assert (by.to_numpy() >= 0).all() and (by.sum() > 0).all()  # every class occurs in the synthetic data


def test_hand_computed_split():
    seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)])], crs=CRS)
    inc = gpd.GeoDataFrame(
        {"category": ["homicide", "robbery", "extortion"], "perpetrator": ["state_security", None, "Zetas"]},
        geometry=[Point(1000, 0), Point(2000, 2500), Point(3000, 0)], crs=CRS)  # fmt: skip
    by = exposure_by_perpetrator(seg, inc, routerisk.RiskModel(bandwidth_m=5000, crs=CRS)).iloc[0]
    # quartic K(d) = (1 - (d/h)^2)^2: the first and third on the line (K = 1), the second 2.5 km off (0.5625)
    assert by["incident_exposure_by_state_security"] == pytest.approx(1.0, abs=1e-12)
    assert by["incident_exposure_by_unknown"] == pytest.approx(0.3 * 0.5625 + 0.4, abs=1e-12)
    assert by["incident_exposure_by_organized_crime"] == 0.0


@settings(max_examples=20, deadline=None)
@given(classes=st.lists(st.sampled_from(PERPETRATORS), min_size=30, max_size=30), moved=st.integers(0, 29))
def test_split_is_linear_and_exact(demo, classes, moved):
    segs, inc, model, _ = demo
    sub = inc.iloc[:30].copy()
    sub["perpetrator"] = classes
    by = exposure_by_perpetrator(segs, sub, model)
    alone = sub.copy()
    alone["perpetrator"] = "unknown"
    alone.loc[alone.index[moved], "perpetrator"] = "organized_crime"
    only = exposure_by_perpetrator(segs, alone, model)
    one = only["incident_exposure_by_organized_crime"]  # the moved record's own contribution
    total = only.sum(axis=1)
    np.testing.assert_allclose(by.sum(axis=1), total, rtol=0, atol=1e-12)
    np.testing.assert_allclose(only["incident_exposure_by_unknown"] + one, total, rtol=0, atol=1e-12)


def test_run_folder_has_the_columns_internal_only(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["score", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    seg = gpd.read_parquet(tmp_path / "run" / "segments.parquet")
    assert np.abs(seg[list(PERPETRATOR_COLUMNS)].sum(axis=1) - seg["incident_exposure"]).max() <= 1e-12
    res = runner.invoke(cli, ["score", "--privacy", "public", "--out", str(tmp_path / "pub")])
    assert res.exit_code == 0, res.output
    pub = gpd.read_parquet(tmp_path / "pub" / "segments.parquet")
    assert not set(PERPETRATOR_COLUMNS) & set(pub.columns)
    png = perpetrator_small_multiples(seg, tmp_path / "by_perpetrator.png", title="demo (synthetic)")
    assert png.stat().st_size > 10_000


def test_change_by_perpetrator_adds_up_to_segment_change(demo):
    from routerisk.change import parse_window
    from routerisk.perpetrators import change_by_perpetrator

    segs, inc, model, _ = demo
    before, after = parse_window("2019-01-01:2019-12-31"), parse_window("2020-01-01:2021-06-30", "--after")
    total = routerisk.segment_change(segs, inc, before, after, model=model).set_index("segment_id")
    split = change_by_perpetrator(segs, inc, before, after, model=model)
    assert len(split) == len(PERPETRATORS) * len(segs)
    sums = split.groupby("segment_id")[["count_before", "count_after"]].sum().loc[total.index]
    assert (sums["count_before"] == total["count_before"]).all() and (sums["count_after"] == total["count_after"]).all()
    assert split.groupby("perpetrator")["count_after"].sum().gt(0).all()
    one = split[(split["perpetrator"] == "organized_crime") & (split["count_before"] > 0)].iloc[0]
    rr = routerisk.rate_ratio([one["count_after"]], [one["count_before"]], 547, 365)
    assert one["rate_ratio"] == pytest.approx(float(rr["rate_ratio"].iloc[0]), rel=1e-12)


def test_cli_change_writes_the_split_internal_only(tmp_path):
    import pandas as pd

    runner = CliRunner()
    args = ["change", "--before", "2019-01-01:2019-12-31", "--after", "2020-01-01:2020-12-31", "--no-maps"]
    res = runner.invoke(cli, [*args, "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    seg = pd.read_csv(tmp_path / "c" / "change.csv").set_index("segment_id")
    by = pd.read_csv(tmp_path / "c" / "change_by_perpetrator.csv")
    sums = by.groupby("segment_id")["count_after"].sum().loc[seg.index]
    assert (sums == seg["count_after"]).all()
    res = runner.invoke(cli, [*args, "--privacy", "public", "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "p" / "change_by_perpetrator.csv").exists()


def test_trends_by_perpetrator_adds_up_to_the_cube(demo):
    from routerisk.mannkendall import mann_kendall
    from routerisk.perpetrators import trends_by_perpetrator

    segs, inc, model, _ = demo
    cube = routerisk.spacetime_exposure(segs, inc, period="year", model=model)
    by = trends_by_perpetrator(segs, inc, period="year", model=model)
    cols = [f"exposure_{p}" for p in cube.periods]
    summed = by.groupby("segment_id", sort=False)[cols].sum().loc[segs["segment_id"]].to_numpy()
    assert np.abs(summed - cube.exposure).max() <= 1e-12
    oc = by[by["perpetrator"] == "organized_crime"]
    np.testing.assert_allclose(oc["trend_tau"], mann_kendall(oc[cols].to_numpy())["tau"], rtol=0, atol=1e-15)


def test_cli_trends_writes_the_split_internal_only(tmp_path):
    import pandas as pd

    runner = CliRunner()
    res = runner.invoke(cli, ["trends", "--period", "year", "--no-maps", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    by = pd.read_csv(tmp_path / "t" / "trends_by_perpetrator.csv")
    assert set(by["perpetrator"]) == set(PERPETRATORS)
    res = runner.invoke(cli, ["trends", "--period", "year", "--no-maps", "--privacy", "public",
                              "--out", str(tmp_path / "p")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "p" / "trends_by_perpetrator.csv").exists()
