"""Routes from waypoints (geodesic or along an OSM network) and fixed-length segments."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString, Point

from routerisk import InputError
from routerisk._validate import RejectedRowsWarning, ValidationReport
from routerisk.datasets import load_corridors
from routerisk.routes import build_route, geodesic_line, segmentize
from routerisk.schema import ROUTE_COLUMNS, SEGMENT_COLUMNS

X0, Y0 = 2_500_000.0, 1_000_000.0  # a point in Jalisco in EPSG:6372


def _layer(*geoms, ids=None, crs="EPSG:6372"):
    ids = ids or [f"r{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"route_id": ids, "name": ids, "mode": "road"}, geometry=list(geoms), crs=crs)


# --------------------------------------------------------------------------------------------- segmentize


def test_hand_computed_segments():
    # an L-shaped line 8 km east then 6 km north: 14 km, cut at 5 and 10 km
    line = LineString([(X0, Y0), (X0 + 8000, Y0), (X0 + 8000, Y0 + 6000)])
    seg = segmentize(_layer(line), 5000)
    assert tuple(seg.columns[:6]) == SEGMENT_COLUMNS
    assert seg["segment_id"].tolist() == ["r0:0000", "r0:0001", "r0:0002"]
    assert seg["seq"].tolist() == [0, 1, 2]
    assert seg["start_m"].tolist() == [0.0, 5000.0, 10000.0]
    assert seg["end_m"].tolist() == [5000.0, 10000.0, 14000.0]
    assert seg["length_m"].tolist() == [5000.0, 5000.0, 4000.0]
    expected = [
        [(X0, Y0), (X0 + 5000, Y0)],
        [(X0 + 5000, Y0), (X0 + 8000, Y0), (X0 + 8000, Y0 + 2000)],
        [(X0 + 8000, Y0 + 2000), (X0 + 8000, Y0 + 6000)],
    ]
    for geom, coords in zip(seg.geometry, expected, strict=True):
        np.testing.assert_allclose(shapely.get_coordinates(geom), coords, atol=1e-6)
    assert seg.crs.to_epsg() == 6372
    assert (seg["name"] == "r0").all() and (seg["mode"] == "road").all()
    assert seg["state_code"].notna().all()


def test_exact_multiple_gives_no_sliver():
    seg = segmentize(_layer(LineString([(X0, Y0), (X0 + 10_000, Y0)])), 5000)
    assert seg["length_m"].tolist() == [5000.0, 5000.0]


def test_short_route_is_one_segment():
    seg = segmentize(_layer(LineString([(X0, Y0), (X0 + 1200, Y0)])), 5000)
    assert seg["length_m"].tolist() == [1200.0]


def test_multilinestring_parts_are_cut_separately_and_measured_on():
    multi = MultiLineString([[(X0, Y0), (X0 + 7000, Y0)], [(X0, Y0 + 9000), (X0 + 3000, Y0 + 9000)]])
    seg = segmentize(_layer(multi), 5000)
    assert seg["length_m"].tolist() == [5000.0, 2000.0, 3000.0]
    assert seg["start_m"].tolist() == [0.0, 5000.0, 7000.0]
    assert seg["seq"].tolist() == [0, 1, 2]


def test_bad_routes_are_reported_not_crashed_on():
    good = LineString([(X0, Y0), (X0 + 6000, Y0)])
    routes = _layer(
        good,
        None,
        LineString(),
        LineString([(X0, Y0), (X0, Y0)]),
        Point(X0, Y0),
        good,
        ids=["ok", "null", "empty", "zero", "point", "ok"],
    )
    report = ValidationReport()
    seg = segmentize(routes, 5000, report=report)
    assert seg["route_id"].unique().tolist() == ["ok"]
    rej = report.rejected
    assert dict(zip(rej["value"], rej["reason"], strict=True)) == {
        "null": "null geometry",
        "empty": "empty geometry",
        "zero": "zero-length route",
        "point": "not a line",
        "ok": "duplicate route_id",
    }
    assert rej["row"].tolist() == [2, 3, 4, 5, 6]
    assert report.counts["routes"] == {"read": 6, "kept": 1, "rejected": 5}


def test_rejections_without_report_warn():
    routes = _layer(LineString([(X0, Y0), (X0 + 6000, Y0)]), None)
    with pytest.warns(RejectedRowsWarning, match="1 rows"):
        segmentize(routes, 5000)


def test_no_usable_route_raises():
    with pytest.raises(InputError, match="no usable route"):
        segmentize(_layer(None, LineString([(X0, Y0), (X0, Y0)])), 5000, report=ValidationReport())


@pytest.mark.parametrize("length", [0, -5, float("nan")])
def test_segment_length_must_be_positive(length):
    with pytest.raises(InputError, match="segment_length_m"):
        segmentize(_layer(LineString([(X0, Y0), (X0 + 6000, Y0)])), length)


def test_routes_without_crs_raise():
    routes = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="no CRS"):
        segmentize(routes)


def test_geoseries_without_route_id_uses_index():
    routes = gpd.GeoSeries([LineString([(X0, Y0), (X0 + 6000, Y0)])], index=["abc"], crs="EPSG:6372")
    seg = segmentize(routes, 5000)
    assert seg["route_id"].tolist() == ["abc", "abc"]


def test_corridors_segment_in_wgs84_with_states():
    corridors = load_corridors()
    seg = segmentize(corridors, 5000)
    assert seg.crs.to_epsg() == 4326
    assert seg["segment_id"].is_unique
    total = corridors.to_crs("EPSG:6372").length.sum()
    assert seg["length_m"].sum() == pytest.approx(total, rel=1e-6)
    assert (seg["length_m"] <= 5000 * (1 + 1e-9)).all()
    # geometry length in the analysis CRS matches length_m
    np.testing.assert_allclose(seg.to_crs("EPSG:6372").length, seg["length_m"], rtol=1e-6)
    assert seg["state_code"].notna().all()
    first = seg[seg["route_id"] == "chiapas_coast"].iloc[0]
    assert first["state_name"] == "Chiapas"


def test_segmentize_many_short_segments_tiles_every_corridor():
    # the timing of this size lives in benchmarks/bench_pipeline.py, not here
    corridors = load_corridors()
    seg = segmentize(corridors, 250)
    assert len(seg) > 34_000
    assert seg["segment_id"].is_unique
    by_route = seg.groupby("route_id")["length_m"].sum()
    ends = seg.groupby("route_id")["end_m"].max()
    np.testing.assert_allclose(by_route.to_numpy(), ends.to_numpy(), rtol=1e-9)


coords = st.floats(min_value=-50_000, max_value=50_000, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(st.tuples(coords, coords), min_size=2, max_size=12),
    seg_len=st.floats(min_value=100.0, max_value=40_000.0),
)
def test_property_lengths_contiguity_count(pts, seg_len):
    line = LineString([(X0 + x, Y0 + y) for x, y in pts])
    length = line.length
    if length < 1e-3:
        return
    seg = segmentize(_layer(line), seg_len, crs="EPSG:6372")
    assert seg["length_m"].sum() == pytest.approx(length, rel=1e-6)
    assert len(seg) == max(1, math.ceil(length / seg_len - 1e-9))
    assert (seg["length_m"] <= seg_len * (1 + 1e-9)).all()
    assert (seg["length_m"] > 0).all()
    np.testing.assert_allclose(seg["start_m"].to_numpy()[1:], seg["end_m"].to_numpy()[:-1])
    # geometric contiguity: each segment starts where the previous ended
    starts = shapely.get_coordinates(shapely.get_point(seg.geometry.to_numpy(), 0))
    ends = shapely.get_coordinates(shapely.get_point(seg.geometry.to_numpy(), -1))
    np.testing.assert_allclose(starts[1:], ends[:-1], atol=1e-6)
    np.testing.assert_allclose(seg.length.to_numpy(), seg["length_m"].to_numpy(), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------------------------- build_route


def test_build_route_from_names_and_coordinates():
    r = build_route(["Tapachula", "Huixtla, Chiapas", (-93.2, 15.7)], route_id="coast", mode="rail")
    assert tuple(r.columns[:4]) == ROUTE_COLUMNS
    assert r.loc[0, "name"] == "Tapachula - (-93.20000, 15.70000)"
    assert r.crs.to_epsg() == 4326
    xy = shapely.get_coordinates(r.geometry.iloc[0])
    np.testing.assert_allclose(xy[0], [-92.25891, 14.90541])
    np.testing.assert_allclose(xy[-1], [-93.2, 15.7])


def test_long_legs_follow_the_geodesic():
    line = geodesic_line(np.array([[-117.0, 32.5], [-97.5, 25.9]]), densify_km=25)
    xy = shapely.get_coordinates(line)
    assert len(xy) > 70
    # the great circle bulges north of the straight lon/lat chord
    mid = xy[len(xy) // 2]
    chord_lat = 32.5 + (mid[0] + 117.0) / (19.5) * (25.9 - 32.5)
    assert mid[1] > chord_lat + 0.3


def test_build_route_errors():
    with pytest.raises(InputError, match="at least 2"):
        build_route(["Tapachula"])
    with pytest.raises(InputError, match="mode"):
        build_route(["Tapachula", "Huixtla"], mode="plane")
    with pytest.raises(InputError, match="did you mean 'Tapachula"):
        build_route(["Tapachla", "Huixtla"])
    with pytest.raises(InputError, match="lon must be"):
        build_route([(-92.0, 15.0), (15.0, -192.0)])
    with pytest.raises(TypeError, match="list of place names"):
        build_route("Tapachula")


def test_build_route_along_osm_fixture(test_data):
    osm = test_data / "osm" / "detour.osm"
    a, b = (-92.0005, 15.0), (-91.9695, 15.0)
    route = build_route([a, b], network=osm, route_id="net")
    xy = shapely.get_coordinates(route.geometry.iloc[0])
    # passes through node 3 of the northern road, not node 5 of the longer southern one
    assert np.any(np.all(np.isclose(xy, [-91.98, 15.01]), axis=1))
    assert not np.any(np.all(np.isclose(xy, [-91.985, 14.97]), axis=1))
    straight = build_route([a, b], densify_km=None)
    net_len = route.to_crs("EPSG:6372").length.iloc[0]
    straight_len = straight.to_crs("EPSG:6372").length.iloc[0]
    assert net_len > straight_len * 1.2


def test_build_route_accepts_an_osmnx_graph(test_data):
    import osmnx as ox

    graph = ox.graph_from_xml(test_data / "osm" / "detour.osm", retain_all=True)
    route = build_route([(-92.0005, 15.0), (-91.9695, 15.0)], network=graph)
    assert route.geometry.iloc[0].length > 0.03


def test_build_route_no_path_and_off_network(test_data):
    osm = test_data / "osm" / "detour.osm"
    with pytest.raises(InputError, match="no path along the network"):
        build_route([(-92.0, 15.0), (-91.9, 15.0)], network=osm)
    with pytest.raises(InputError, match="farther than 25 km"):
        build_route([(-92.0, 15.0), (-99.1, 19.4)], network=osm)
    with pytest.raises(InputError, match="does not exist"):
        build_route([(-92.0, 15.0), (-91.9, 15.0)], network=test_data / "osm" / "missing.osm")
    with pytest.raises(InputError, match="could not be read as OSM PBF"):
        build_route([(-92.0, 15.0), (-91.9, 15.0)], network=_copy_as_pbf(osm))  # XML bytes under a .pbf name


def _copy_as_pbf(path):
    import shutil
    import tempfile
    from pathlib import Path

    out = Path(tempfile.mkdtemp()) / "x.osm.pbf"
    shutil.copy(path, out)
    return out


def test_build_route_along_an_osm_pbf(test_data, tmp_path):
    osmium = pytest.importorskip("osmium")  # the [osm] extra; part of the dev install
    pbf = tmp_path / "detour.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(test_data / "osm" / "detour.osm")):
            writer.add(obj)
    a, b = (-92.0005, 15.0), (-91.9695, 15.0)
    from_pbf = build_route([a, b], network=pbf, route_id="net")
    from_xml = build_route([a, b], network=test_data / "osm" / "detour.osm", route_id="net")
    assert from_pbf.geometry.iloc[0].equals(from_xml.geometry.iloc[0])
    assert list(tmp_path.iterdir()) == [pbf]  # the temporary XML is gone
