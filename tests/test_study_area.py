"""The study area of a run (routerisk.studyarea): rows outside it are counted by reason and excluded."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from routerisk import RiskModel
from routerisk._errors import ConfigError, InputError
from routerisk.cli import cli
from routerisk.studyarea import (
    REACH_FACTOR,
    area_extent,
    check_area_grid,
    default_reach_m,
    default_study_area,
    describe_outside,
    read_study_area,
    split_by_study_area,
)

REAL = Path(__file__).parent / "data" / "real" / "iom_mmp_mexico_box_2014_2020.csv"
FAST = ["--param", "neighbour_steps=2"]
BOX = shapely.box(-94.0, 15.5, -93.0, 16.5)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _route_6372(length_m: float = 100_000.0) -> gpd.GeoDataFrame:
    line = shapely.LineString([(3_400_000.0, 500_000.0), (3_400_000.0 + length_m, 500_000.0)])
    return gpd.GeoDataFrame({"route_id": ["r"]}, geometry=[line], crs="EPSG:6372")


def test_default_area_is_the_routes_buffered_by_the_reach():
    from routerisk.bandwidth import SENSITIVITY_FACTORS

    model = RiskModel()
    reach = default_reach_m(model)  # quartic support 1 x hypot(2 x 15 km, 15 km sigma) = 33.5 km
    assert reach == pytest.approx(np.hypot(30_000.0, 15_000.0))
    assert max(SENSITIVITY_FACTORS) == REACH_FACTOR  # the widest bandwidth the run evaluates
    area = default_study_area(_route_6372(), model)
    assert area.crs.to_epsg() == 4326
    # points beside the middle of the route, 1 km inside and 1 km outside the reach (hand-placed in EPSG:6372)
    pts = gpd.GeoSeries(shapely.points([3_450_000.0] * 2, [500_000.0 + reach - 1000, 500_000.0 + reach + 1000]),
                        crs="EPSG:6372").to_crs(4326)  # fmt: skip
    inc = pd.DataFrame({"lon": pts.x.to_numpy(), "lat": pts.y.to_numpy()})
    kept, counts = split_by_study_area(inc, area, model)
    assert len(kept) == 1 and kept["lat"].iloc[0] == pytest.approx(inc["lat"].iloc[0])
    assert counts["rows"] == 1 and counts["by_reason"] == {"up to 100 km outside": 1}
    assert "33.5 km" in counts["area"]


def test_counts_by_distance_band_and_unplaced_rows_kept_for_the_readers():
    area = gpd.GeoDataFrame({"source": ["box"]}, geometry=[BOX], crs=4326)
    # inside; 0.5 deg north (~55 km); 5 deg north (~550 km); the Mediterranean; no coordinates
    inc = pd.DataFrame({"lon": [-93.5, -93.5, -93.5, 12.6, np.nan], "lat": [16.0, 17.0, 21.5, 35.5, np.nan],
                        "incident_id": list("abcde")})  # fmt: skip
    kept, counts = split_by_study_area(inc, area)
    assert list(kept["incident_id"]) == ["a", "e"]
    assert counts == {"rows": 3, "kept": 2, "area": "box", "by_reason": {
        "up to 100 km outside": 1, "100-1000 km outside": 1, "more than 1000 km outside": 1}}  # fmt: skip
    line = describe_outside(counts)
    assert line.startswith("3 incident rows lie outside the study area (box)") and "1 more than 1000 km" in line
    assert describe_outside({"rows": 0}) == ""


def test_geodataframe_input_keeps_its_type():
    area = gpd.GeoDataFrame({"source": ["box"]}, geometry=[BOX], crs=4326)
    inc = gpd.GeoDataFrame({"x": [1, 2]}, geometry=shapely.points([-93.5, 0.0], [16.0, 0.0]), crs=4326)
    kept, counts = split_by_study_area(inc.to_crs(6372), area)
    assert isinstance(kept, gpd.GeoDataFrame) and list(kept["x"]) == [1] and counts["rows"] == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, -85), st.floats(10, 22)), min_size=1, max_size=40))
def test_property_split_is_a_partition(points):
    area = gpd.GeoDataFrame({"source": ["box"]}, geometry=[BOX], crs=4326)
    inc = pd.DataFrame(points, columns=["lon", "lat"])
    kept, counts = split_by_study_area(inc, area)
    assert counts["rows"] + counts["kept"] == len(inc) == len(kept) + counts["rows"]
    assert sum(counts["by_reason"].values()) == counts["rows"]
    assert shapely.contains_xy(BOX.buffer(1e-9), kept["lon"].to_numpy(), kept["lat"].to_numpy()).all()


def test_read_study_area_and_its_errors(tmp_path):
    poly = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[BOX, shapely.box(-93.0, 15.5, -92.0, 16.5)], crs=4326).to_file(poly)
    area = read_study_area(poly)
    assert len(area) == 1 and area.geometry.iloc[0].area == pytest.approx(2.0)
    pts = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(-93, 16)], crs=4326).to_file(pts)
    with pytest.raises(InputError, match="holds no polygon"):
        read_study_area(pts)
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json")
    with pytest.raises(InputError, match="could not be read"):
        read_study_area(bad)


def test_grid_budget_names_the_option():
    area = gpd.GeoDataFrame(geometry=[BOX], crs=4326)
    x0, y0, x1, y1 = area_extent(area, "EPSG:6372", 1000.0)
    assert check_area_grid(area, RiskModel(), 1000.0) == round((x1 - x0) / 1000) * round((y1 - y0) / 1000)
    with pytest.raises(ConfigError, match="--cell-m"):
        check_area_grid(area, RiskModel(), 10.0)


def _mixed_file(tmp_path: Path) -> Path:
    """300 real IOM rows around Mexico plus 3 rows from other continents (copies with new ids and places)."""
    df = pd.read_csv(REAL, dtype=str, keep_default_na=False).head(300)
    far = df.head(3).copy()
    far["Web ID"] = ["900001", "900002", "900003"]
    far["Location Coordinates"] = ["35.5, 12.6", "14.7, -17.4", "6.2, 100.3"]
    far["latitude"], far["longitude"] = ["35.5", "14.7", "6.2"], ["12.6", "-17.4", "100.3"]
    far["Location Description"] = ["Central Mediterranean", "off Dakar, Senegal", "Andaman Sea"]
    path = tmp_path / "mixed.csv"
    pd.concat([df, far]).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_cli_worldwide_rows_are_counted_and_the_raster_covers_the_study_area(tmp_path):
    src = _mixed_file(tmp_path)
    out = tmp_path / "run"
    result = invoke("score", "--incidents", src, "--maps", "--cell-m", 2000, "--out", out, *FAST)
    assert result.exit_code in (0, 1), result.output
    assert "lie outside the study area" in result.output and "3 more than 1000 km outside" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    outside = manifest["outside_study_area"]
    assert outside["by_reason"]["more than 1000 km outside"] == 3
    assert outside["kept"] == manifest["data"]["incidents"] and outside["rows"] + outside["kept"] <= 303
    assert manifest["options"]["cell_m"] == 2000.0
    kept = gpd.read_file(out / "incidents.gpkg", layer="incidents")
    assert not kept["incident_id"].astype(str).isin(["900001", "900002", "900003"]).any()
    area = default_study_area(gpd.read_file(out / "segments.gpkg", layer="segments"), RiskModel())
    with rasterio.open(out / "risk_surface.tif") as tif:
        assert tif.res == (2000.0, 2000.0)
        bounds = tuple(tif.bounds)
        expected = area_extent(area, tif.crs.to_string(), 2000.0)
    # the raster is the study area's box, not the world (at most a cell of difference from the segments' area)
    assert np.allclose(bounds, expected, atol=2000.0 + 1e-6)


def test_cli_study_area_file_and_cell_budget(tmp_path):
    src = _mixed_file(tmp_path)
    poly = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(-118.0, 30.0, -105.0, 33.0)], crs=4326).to_file(poly)
    out = tmp_path / "run"
    result = invoke("score", "--incidents", src, "--study-area", poly, "--out", out, *FAST)
    assert result.exit_code in (0, 1), result.output
    manifest = json.loads((out / "manifest.json").read_text())
    inc = gpd.read_file(out / "incidents.gpkg", layer="incidents")
    assert len(inc) == manifest["outside_study_area"]["kept"] > 0
    assert ((inc.geometry.y >= 30.0) & (inc.geometry.y <= 33.0) & (inc.geometry.x <= -105.0)).all()
    assert manifest["options"]["study_area"] == str(poly.absolute())
    bad = invoke("score", "--incidents", src, "--maps", "--cell-m", 1, "--out", tmp_path / "r2", *FAST)
    assert bad.exit_code == 3 and "--cell-m" in bad.output


def test_map_command_takes_the_cell_size(tmp_path):
    src = _mixed_file(tmp_path)
    out = tmp_path / "run"
    assert invoke("score", "--incidents", src, "--out", out, *FAST).exit_code in (0, 1)
    ok = invoke("map", "--run", out, "--out", tmp_path / "m.html", "--cell-m", 5000)
    assert ok.exit_code == 0, ok.output
    too_fine = invoke("map", "--run", out, "--out", tmp_path / "m2.html", "--cell-m", 1)
    assert too_fine.exit_code == 3 and "cells" in too_fine.output


@pytest.mark.slow
def test_scores_and_sensitivity_identical_with_and_without_the_area(tmp_path):
    """The default area drops only rows that weigh on nothing: the synthetic demo scored with a whole-world area
    gives the same table, to the last digit, and the same sensitivity table."""
    world = tmp_path / "world.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(-179, -89, 179, 89)], crs=4326).to_file(world)
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("score", "--out", a, *FAST).exit_code == 0
    assert invoke("score", "--study-area", world, "--out", b, *FAST).exit_code == 0
    ma = json.loads((a / "manifest.json").read_text())
    assert ma["outside_study_area"]["rows"] > 0  # some synthetic rows lie beyond every corridor's reach
    pd.testing.assert_frame_equal(pd.read_csv(a / "segments_ranked.csv"), pd.read_csv(b / "segments_ranked.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(a / "sensitivity.csv"), pd.read_csv(b / "sensitivity.csv"))


def test_a_continental_reach_makes_the_whole_world_the_area():
    from routerisk.studyarea import MAX_AREA_REACH_M, area_grid

    model = RiskModel(bandwidth_m=1_000_000.0, kernel="gaussian")
    assert default_reach_m(model) > MAX_AREA_REACH_M
    area = default_study_area(_route_6372(), model)
    assert "whole world" in area["source"].iloc[0] and area_grid(area, model, 1000.0) == {}
    inc = pd.DataFrame({"lon": [-93.5, 12.0, 100.3], "lat": [16.0, 35.0, 6.2]})
    kept, counts = split_by_study_area(inc, area)
    assert len(kept) == 3 and counts["rows"] == 0
