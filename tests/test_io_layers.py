"""read_zones, read_routes, read_shelters: geometry rules and attribute mapping."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, Polygon

from routerisk import InputError, ValidationReport, analysis_crs
from routerisk.io import read_routes, read_shelters, read_zones
from routerisk.schema import AGENCIES, MODES, ROUTE_COLUMNS, SHELTER_COLUMNS, ZONE_COLUMNS, ZONE_KINDS


def write(tmp_path, text, name="layer.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def with_report(reader, path, **kw):
    report = ValidationReport()
    return reader(path, report=report, **kw), report


def reasons(report, action=None):
    df = report.to_frame()
    if action:
        df = df[df["action"] == action]
    return dict(zip(df["row"], df["reason"], strict=False))


# ------------------------------------------------------------------------------------------------ zones


def test_point_zones_buffered_by_radius_in_metres(tmp_path):
    p = write(tmp_path, "zone_id,name,lat,lon,radius_m,kind,agency\n"
                        "k1,Reten La Arrocera,16.12,-93.83,3000,reten,GN\n"
                        "k2,Estacion,14.9,-92.26,500,estación migratoria,INM\n")  # fmt: skip
    z, report = with_report(read_zones, p)
    assert list(z.columns) == [*ZONE_COLUMNS, "geometry"]
    assert z.crs.to_epsg() == 4326
    assert z["kind"].tolist() == ["checkpoint", "detention"]
    assert z["agency"].tolist() == ["guardia_nacional", "migration_authority"]
    metric = z.to_crs(analysis_crs(tuple(z.total_bounds)))
    np.testing.assert_allclose(metric.area, [math.pi * 3000**2, math.pi * 500**2], rtol=2e-3)
    centroids = metric.centroid.to_crs(4326)
    assert centroids.x.round(4).tolist() == [-93.83, -92.26]
    assert z["intensity"].tolist() == [1.0, 1.0]
    assert z["start_date"].isna().all() and z["end_date"].isna().all()
    assert len(report.to_frame()) == 0


def test_point_zone_without_radius_rejected(test_data):
    z, report = with_report(read_zones, test_data / "bad" / "zone_points_without_radius.csv")
    assert z["zone_id"].tolist() == ["k1"]
    assert reasons(report, "rejected") == {3: "point zone without radius_m (a point needs a radius > 0 in metres)"}


def test_points_without_radius_column_unusable(tmp_path):
    p = write(tmp_path, "zone_id,lat,lon\na,16.1,-93.8\nb,16.2,-93.9\n")
    with pytest.raises(InputError, match=r"no usable rows .*point zone without radius_m"):
        read_zones(p, report=ValidationReport())


def test_self_intersecting_polygon_repaired_and_noted(test_data):
    z, report = with_report(read_zones, test_data / "bad" / "self_intersecting_polygon.geojson")
    assert z.is_valid.all()
    bowtie = z.set_index("zone_id").geometry["bowtie"]
    assert bowtie.area == pytest.approx(0.5)  # two triangles of 0.25 square degrees
    assert reasons(report) == {1: "invalid polygon repaired with make_valid"}
    assert "Self-intersection" in report.notes.loc[0, "value"]
    assert z["kind"].tolist() == ["deployment", "detention"]


def test_zone_attributes_dates_intensity(tmp_path):
    p = write(tmp_path, "zone_id,geometry,start_date,end_date,intensity,kind,agency,illustrative\n"
                        'a,"POLYGON ((-93 16, -92 16, -92 17, -93 16))",2019-07-01,2035-01-01,250,patrullaje,SEDENA,sí\n'  # noqa: E501
                        'b,"POLYGON ((-93 16, -92 16, -92 17, -93 16))",2020-01-01,2019-01-01,5,patrol,army,no\n'
                        'c,"POLYGON ((-93 16, -92 16, -92 17, -93 16))",,,-4,patrol,army,no\n'
                        'd,"POLYGON ((-93 16, -92 16, -92 17, -93 16))",,,,patrol,Marina,no\n'
                        'e,"POLYGON ((-93 16, -92 16",,,1,patrol,army,no\n'
                        'f,"LINESTRING (-93 16, -92 16)",,,1,patrol,army,no\n'
                        'g,"POLYGON ((-93 16, -92 16, -92 17, -93 16))",,,2,desconocida,alguien,no\n')  # fmt: skip
    z, report = with_report(read_zones, p)
    by_id = z.set_index("zone_id")
    assert list(by_id.index) == ["a", "d", "g"]
    assert by_id.loc["a", "end_date"] == pd.Timestamp("2035-01-01")  # future end dates are fine for zones
    assert by_id.loc["a", "agency"] == "army" and by_id.loc["a", "kind"] == "patrol"
    assert bool(by_id.loc["a", "illustrative"]) is True
    assert by_id.loc["d", "intensity"] == 1.0 and by_id.loc["d", "agency"] == "navy"
    assert by_id.loc["g", "kind"] == "deployment" and by_id.loc["g", "agency"] == "other"
    r = reasons(report, "rejected")
    assert r == {
        3: "end_date before start_date",
        4: "intensity must be a finite number >= 0",
        6: "not valid WKT geometry",
        7: "zone geometry must be a polygon, or a point with radius_m",
    }
    assert reasons(report)[5] == "intensity missing; 1.0 used"
    assert set(z["agency"]) <= set(AGENCIES) and set(z["kind"]) <= set(ZONE_KINDS)


def test_shapefile_without_prj(test_data):
    z, report = with_report(read_zones, test_data / "bad" / "zones_without_prj.shp")
    assert z.crs.to_epsg() == 4326 and len(z) == 1
    assert report.notes.loc[0, "row"] == 0 and "EPSG:4326 assumed" in report.notes.loc[0, "reason"]
    with pytest.raises(InputError, match=r"no \.prj file and its coordinates are not longitude/latitude"):
        read_zones(test_data / "bad" / "zones_projected_without_prj.shp", report=ValidationReport())


def test_zones_in_projected_crs_reprojected(tmp_path):
    poly = Polygon([(-93, 16), (-92, 16), (-92, 17), (-93, 17)])
    p = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"zone_id": ["a"]}, geometry=[poly], crs=4326).to_crs(6372).to_file(p, engine="pyogrio")
    z, _ = with_report(read_zones, p)
    np.testing.assert_allclose(z.total_bounds, poly.bounds, atol=1e-6)


def test_truncated_geojson_zones(test_data):
    with pytest.raises(InputError, match=r"truncated\.geojson"):
        read_zones(test_data / "bad" / "truncated.geojson", report=ValidationReport())


# ------------------------------------------------------------------------------------------------ routes


def test_null_and_zero_length_routes_rejected(test_data):
    r, report = with_report(read_routes, test_data / "bad" / "routes_zero_length_and_null.geojson")
    assert list(r.columns) == [*ROUTE_COLUMNS, "geometry"]
    assert r["route_id"].tolist() == ["ok"]
    assert r["mode"].tolist() == ["rail"]
    assert reasons(report, "rejected") == {
        2: "missing or empty geometry",
        3: "zero-length route (all its points coincide)",
    }


def test_routes_from_vertex_table(tmp_path):
    p = write(tmp_path, "route_id,seq,lat,lon,mode,name\n"
                        "a,2,16.25,-93.9,tren,Tapachula-Arriaga\n"
                        "a,1,14.9,-92.26,tren,Tapachula-Arriaga\n"
                        "a,3,16.56,-95.1,tren,\n"
                        "b,1,17.55,-94.95,lancha,Rio\n"
                        "c,1,18.0,-94.0,avión,solo\n"
                        "c,2,18.0,-94.0,avión,solo\n"
                        "d,1,,-94.0,road,bad vertex\n")  # fmt: skip
    r, report = with_report(read_routes, p)
    by_id = r.set_index("route_id")
    assert list(by_id.index) == ["a"]
    assert list(by_id.geometry["a"].coords) == [(-92.26, 14.9), (-93.9, 16.25), (-95.1, 16.56)]
    assert by_id.loc["a", "mode"] == "rail" and by_id.loc["a", "name"] == "Tapachula-Arriaga"
    rej = reasons(report, "rejected")
    assert rej == {
        5: "zero-length route (all its points coincide)",  # b: one vertex
        6: "zero-length route (all its points coincide)",  # c: two equal vertices
        8: "missing coordinate",
    }
    assert report.counts[str(p)] == {"read": 7, "kept": 3, "rejected": 4}


def test_routes_wkt_and_mode_mapping(tmp_path):
    p = write(tmp_path, "route_id,mode,wkt\n"
                        'a,autobús,"LINESTRING (-99 19, -100 20)"\n'
                        'b,teleférico,"MULTILINESTRING ((-99 19, -100 20), (-100 20, -101 21))"\n'
                        'c,road,"POLYGON ((-93 16, -92 16, -92 17, -93 16))"\n'
                        'd,road,\n')  # fmt: skip
    r, report = with_report(read_routes, p)
    assert r.set_index("route_id")["mode"].to_dict() == {"a": "road", "b": "mixed"}
    assert set(r["mode"]) <= set(MODES)
    assert reasons(report) == {
        3: "mode not recognised; kept as 'mixed'",
        4: "route geometry must be a LineString or MultiLineString",
        5: "missing or empty geometry",
    }


def test_routes_vector_roundtrip(tmp_path):
    lines = [LineString([(-92.26, 14.9), (-93.9, 16.25)]), LineString([(-99.1, 19.4), (-100.3, 25.7)])]
    p = tmp_path / "r.parquet"
    gpd.GeoDataFrame({"route_id": ["x", "y"], "name": ["a", "b"], "mode": ["rail", "road"],
                      "illustrative": [True, False]}, geometry=lines, crs=4326).to_parquet(p)  # fmt: skip
    r, _ = with_report(read_routes, p)
    assert r["illustrative"].tolist() == [True, False]
    assert r.geometry.equals(gpd.GeoSeries(lines, crs=4326))


# ------------------------------------------------------------------------------------------------ shelters


def test_shelters_csv(tmp_path):
    p = write(tmp_path, "nombre,tipo,localidad,estado,sensible,latitud,longitud\n"
                        "La 72,albergue,Tenosique,Tabasco,sí,17.47,-91.42\n"
                        "COMAR Tapachula,Oficina de COMAR,Tapachula,Chiapas,no,14.9,-92.26\n"
                        "Otro,comedor,Oaxaca,Oaxaca,,17.06,-96.72\n"
                        "Sin tipo,,Ixtepec,Oaxaca,quizás,16.56,-95.1\n"
                        "Sin tipo 2,,Ixtepec,Oaxaca,no,16.56,-95.1\n")  # fmt: skip
    s, report = with_report(read_shelters, p, format="csv")
    assert list(s.columns) == [*SHELTER_COLUMNS, "geometry"]
    assert s["kind"].tolist() == ["shelter", "asylum_office", "other", "shelter"]
    assert s["sensitive"].tolist() == [True, False, False, False]
    assert s["locality"].tolist()[:2] == ["Tenosique", "Tapachula"]
    assert s["shelter_id"].tolist() == ["layer-2", "layer-3", "layer-4", "layer-6"]
    assert reasons(report, "rejected") == {5: "not a yes/no value"}
    assert reasons(report)[4] == "kind not recognised; kept as 'other'"


def test_shelters_must_be_points(tmp_path):
    p = tmp_path / "s.geojson"
    gpd.GeoDataFrame({"shelter_id": ["a", "b"]}, geometry=[Point(-92, 16), Point(-92, 16).buffer(0.1)],
                     crs=4326).to_file(p, engine="pyogrio")  # fmt: skip
    s, report = with_report(read_shelters, p)
    assert s["shelter_id"].tolist() == ["a"]
    assert reasons(report, "rejected") == {2: "shelter geometry must be a point"}
    assert shapely.get_type_id(s.geometry.values).tolist() == [0]


def test_layer_without_geometry_source(tmp_path):
    with pytest.raises(InputError, match="neither a geometry"):
        read_shelters(write(tmp_path, "name,kind\na,albergue\n"), report=ValidationReport())


def test_geopackage_layer_chosen_by_kind(tmp_path):
    p = tmp_path / "all.gpkg"
    poly = Polygon([(-93, 16), (-92, 16), (-92, 17), (-93, 17)])
    gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[poly], crs=4326).to_file(p, layer="zones", engine="pyogrio")
    gpd.GeoDataFrame({"route_id": ["r"]}, geometry=[LineString([(-93, 16), (-92, 17)])], crs=4326).to_file(
        p, layer="routes", engine="pyogrio"
    )
    assert read_zones(p)["zone_id"].tolist() == ["z"]
    assert read_routes(p)["route_id"].tolist() == ["r"]
    with pytest.raises(InputError, match="zone geometry must be a polygon"):
        read_zones(p, layer="routes", report=ValidationReport())


def test_vector_format_forced_and_warning_without_report(tmp_path):
    p = tmp_path / "zones.data"
    gpd.GeoDataFrame({"zone_id": ["a", "b"]}, geometry=[Point(-92, 16), Polygon([(-93, 16), (-92, 16), (-92, 17)])],
                     crs=4326).to_file(p, driver="GeoJSON", engine="pyogrio")  # fmt: skip
    with pytest.warns(UserWarning, match=r"1 rows of .*zones\.data.* were rejected"):
        z = read_zones(p, format="vector")
    assert z["zone_id"].tolist() == ["b"]
