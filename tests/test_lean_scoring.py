"""Incidents as a lon/lat table (``read_incidents(..., geometry=False)``) score exactly as a GeoDataFrame does."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

import routerisk.io
from routerisk import RiskModel, _run_steps, pipeline, risk_surface, score_segments, synthetic_incidents
from routerisk._validate import ValidationReport
from routerisk.datasets import load_corridors
from routerisk.io import read_incidents
from routerisk.routes import segmentize
from routerisk.scoring import incident_bandwidths, incident_weights

FAST = RiskModel(half_life_days=365, classes="quantiles")


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    inc = synthetic_incidents(3000, seed=11)
    path = tmp_path_factory.mktemp("lean") / "incidents.csv"
    pd.DataFrame({
        "id": np.arange(len(inc)).astype(str),
        "date": inc["date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "lat": inc.geometry.y.round(5).to_numpy(),
        "lon": inc.geometry.x.round(5).to_numpy(),
        "category": inc["category"].astype(str).to_numpy(),
        "victims": inc["victims"].to_numpy(),
    }).to_csv(path, index=False)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def both(csv_path):
    gdf = read_incidents(csv_path, report=ValidationReport())
    table = read_incidents(csv_path, report=ValidationReport(), geometry=False)
    return gdf, table


def test_table_has_the_same_rows_and_columns_with_lon_lat(both):
    gdf, table = both
    assert not isinstance(table, gpd.GeoDataFrame)
    assert list(table.columns) == [c for c in gdf.columns if c != "geometry"] + ["lon", "lat"]
    assert_frame_equal(table.drop(columns=["lon", "lat"]), pd.DataFrame(gdf.drop(columns="geometry")))
    np.testing.assert_array_equal(table["lon"].to_numpy(), gdf.geometry.x.to_numpy())
    np.testing.assert_array_equal(table["lat"].to_numpy(), gdf.geometry.y.to_numpy())


def test_scores_are_identical(both):
    gdf, table = both
    segments = segmentize(load_corridors(), segment_length_m=FAST.segment_length_m)
    a = score_segments(segments, gdf, model=FAST)
    b = score_segments(segments, table, model=FAST)
    assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    # the GeoDataFrame path projects coordinates exactly as GeoSeries.to_crs would
    assert a["n_incidents"].sum() > 0


def test_weights_bandwidths_and_surface_are_identical(both):
    gdf, table = both
    np.testing.assert_array_equal(incident_weights(gdf, FAST), incident_weights(table, FAST))
    np.testing.assert_array_equal(incident_bandwidths(gdf, FAST), incident_bandwidths(table, FAST))
    obj = table.astype({"category": object, "location_precision": object})
    np.testing.assert_array_equal(incident_weights(obj, FAST), incident_weights(table, FAST))
    np.testing.assert_array_equal(incident_bandwidths(obj, FAST), incident_bandwidths(table, FAST))
    a, ta, ca = risk_surface(gdf, model=FAST, cell_m=2000.0)
    b, tb, cb = risk_surface(table, model=FAST, cell_m=2000.0)
    np.testing.assert_array_equal(a, b)
    assert ta == tb and ca == cb


def test_missing_points_are_not_placed_in_either_form(both):
    gdf, table = both
    gdf, table = gdf.head(200).copy(), table.head(200).copy()
    gdf.loc[:9, "geometry"] = None
    gdf.loc[10:19, "geometry"] = shapely.Point()
    table.loc[:19, ["lon", "lat"]] = np.nan
    segments = segmentize(load_corridors(), segment_length_m=FAST.segment_length_m)
    model = RiskModel()
    a = score_segments(segments, gdf, model=model)
    b = score_segments(segments, table, model=model)
    assert_frame_equal(a, b)
    assert a.attrs == b.attrs


def test_run_outputs_are_unchanged(csv_path, tmp_path, monkeypatch):
    lean = pipeline.run(tmp_path / "lean", incidents=csv_path, model=FAST, command="test")
    monkeypatch.setattr(_run_steps, "_GPKG_BATCH", 700)  # several appended batches
    batched = pipeline.run(tmp_path / "batched", incidents=csv_path, model=FAST, command="test")
    read = routerisk.io.read_incidents
    monkeypatch.setattr(routerisk.io, "read_incidents", lambda *a, **k: read(*a, **{**k, "geometry": True}))
    points = pipeline.run(tmp_path / "points", incidents=csv_path, model=FAST, command="test")
    for run in (lean, batched):
        ranked = (run.out / "segments_ranked.csv").read_bytes()
        assert ranked == (points.out / "segments_ranked.csv").read_bytes()
        for name in ("segments", "incidents"):
            got = gpd.read_file(run.out / f"{name}.gpkg", layer=name)
            want = gpd.read_file(points.out / f"{name}.gpkg", layer=name)
            assert_frame_equal(got, want)
        assert run.manifest["data"] == points.manifest["data"]
        assert run.manifest["score"] == points.manifest["score"]
