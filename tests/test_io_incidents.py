"""read_incidents: the generic table, the IOM and ACLED adapters, vector files and every validation rule."""

from __future__ import annotations

import csv
import math
import warnings
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point

from routerisk import InputError, RejectedRowsWarning, ValidationReport
from routerisk.io import read_incidents
from routerisk.schema import CATEGORIES, INCIDENT_COLUMNS, LOCATION_PRECISIONS, PERPETRATORS, compute_severity

HEADER = "id,date,lat,lon,category,victims\n"


def write(tmp_path, text, name="inc.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def read(path, **kw):
    report = ValidationReport()
    return read_incidents(path, report=report, **kw), report


def reasons(report, action=None):
    df = report.to_frame()
    if action:
        df = df[df["action"] == action]
    return dict(zip(df["row"], df["reason"], strict=False))


# ------------------------------------------------------------------------------------------- IOM sample


def _expected_iom_rows(path):
    """Rows of the IOM sample with usable coordinates, by plain csv parsing of latitude/longitude."""
    keep = []
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            try:
                lat, lon = float(rec["latitude"]), float(rec["longitude"])
            except ValueError:
                continue
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
                keep.append(rec)
    return keep


def test_iom_sample_keeps_every_row_with_coordinates(real_data):
    path = real_data / "iom_mmp_mexico_2018_sample.csv"
    expected = _expected_iom_rows(path)
    g, report = read(path)
    assert len(g) == len(expected) == report.counts[str(path)]["kept"]
    assert report.counts[str(path)]["read"] == 437
    assert list(g.columns) == [*INCIDENT_COLUMNS, "geometry"]
    assert g.crs.to_epsg() == 4326
    assert g["incident_id"].tolist() == [r["Web ID"] for r in expected]
    assert g["incident_id"].is_unique
    assert g["victims"].dtype == np.int64 and (g["victims"] >= 1).all()
    assert g["date"].dtype == "datetime64[ns]"
    assert set(g["category"]) <= set(CATEGORIES)
    assert {"drowning", "accident", "exposure", "homicide", "other"} <= set(g["category"])
    assert (g["perpetrator"] == "unknown").all()
    assert not g["synthetic"].any()


@pytest.mark.parametrize(
    ("web_id", "day", "category", "victims", "lon", "lat", "precision"),
    [
        # skeletal remains; "Pima County jurisdiction, Arizona, USA": a county only
        ("48115", "2018-12-31", "other", 1, -112.8598846, 32.2769249, "municipality"),
        # "Off the coast of Imperial Beach, ...": near a town
        ("48088", "2018-12-28", "drowning", 1, -117.133734140230, 32.541882023698, "locality"),
        ("48086", "2018-12-25", "exposure", 1, -100.5193484001, 28.759006919815, "locality"),  # ranch near a town
        ("46040", "2018-10-28", "homicide", 1, -92.147321116516, 14.676584275856, "locality"),  # shot; a town
        ("46025", "2018-10-21", "accident", 6, -92.558634566602, 16.661687669465, "locality"),  # highway near a town
        ("46015", "2018-10-15", "accident", 2, -100.822961473630, 20.614104849530, "locality"),  # tracks near Celaya
    ],
)
def test_iom_sample_rows_by_hand(real_data, web_id, day, category, victims, lon, lat, precision):
    g, _ = read(real_data / "iom_mmp_mexico_2018_sample.csv")
    row = g.set_index("incident_id").loc[web_id]
    assert row["date"] == pd.Timestamp(day)
    assert row["date_precision"] == "day"
    assert row["category"] == category
    assert row["victims"] == victims
    assert row.geometry.x == pytest.approx(lon, abs=1e-9)
    assert row.geometry.y == pytest.approx(lat, abs=1e-9)
    assert row["severity"] == pytest.approx(compute_severity([category], [victims])[0])
    assert row["location_precision"] == precision  # from the description, not the decimals


def test_iom_sample_notes_unknown_causes(real_data):
    path = real_data / "iom_mmp_mexico_2018_sample.csv"
    _, report = read(path)
    notes = report.notes
    unknown = notes[notes["reason"].str.contains("cause of death unknown")]
    assert len(unknown) == 198  # 112 skeletal + 78 unknown + 5 mummified + ... + "Mixed" (blunt force: homicide)
    assert set(unknown["value"]) >= {"Unknown (skeletal remains)", "Unknown", "Mixed"}
    assert report.n_rejected == 0


def test_iom_newer_export(test_data):
    g, report = read(test_data / "io" / "iom_newer_export.csv")
    by_id = g.set_index("incident_id")
    assert list(by_id.index) == ["2019.MMP0001", "2019.MMP0002", "2019.MMP0004"]
    assert by_id.loc["2019.MMP0001", "category"] == "homicide"
    assert by_id.loc["2019.MMP0001", "victims"] == 2
    assert by_id.loc["2019.MMP0002", "victims"] == 4  # 1 dead + 3 missing, total blank
    assert by_id.loc["2019.MMP0002", "location_precision"] == "locality"  # 2 decimals
    assert by_id.loc["2019.MMP0004", "date"] == pd.Timestamp("2019-03-01")
    assert by_id.loc["2019.MMP0004", "date_precision"] == "month"
    assert by_id.loc["2019.MMP0004", "category"] == "accident"
    assert reasons(report, "rejected") == {4: "missing coordinate"}


def test_iom_detected_or_forced(tmp_path):
    text = '"Web ID","Reported Date","Total Dead and Missing","Cause of Death","Location Coordinates"\n' \
           '"1","3-Jan-19","1","Presumed drowning","25.9, -97.5"\n'  # fmt: skip
    p = write(tmp_path, text)
    auto, _ = read(p)
    forced, _ = read(p, format="iom")
    assert auto.loc[0, "category"] == forced.loc[0, "category"] == "drowning"
    assert auto.loc[0, "date"] == pd.Timestamp("2019-01-03")


# ------------------------------------------------------------------------------------------- ACLED


def test_acled_sample(test_data):
    g, report = read(test_data / "io" / "acled_sample.csv")
    by_id = g.set_index("incident_id")
    assert by_id["category"].to_dict() == {
        "MEX1001": "assault",
        "MEX1002": "disappearance",
        "MEX1003": "homicide",  # attack with fatalities
        "MEX1004": "sexual_violence",
        "MEX1005": "other",
    }
    assert by_id["perpetrator"].to_dict() == {
        "MEX1001": "organized_crime",
        "MEX1002": "organized_crime",
        "MEX1003": "state_security",
        "MEX1004": "state_security",
        "MEX1005": "unknown",
    }
    assert by_id["victims"].to_dict() == {"MEX1001": 1, "MEX1002": 1, "MEX1003": 2, "MEX1004": 1, "MEX1005": 1}
    assert by_id["location_precision"].to_dict()["MEX1002"] == "locality"
    assert by_id["location_precision"].to_dict()["MEX1004"] == "municipality"
    assert by_id.loc["MEX1004", "date_precision"] == "month"  # time_precision 2
    assert by_id.loc["MEX1005", "date"] == pd.Timestamp("2020-05-05")  # "05 May 2020"
    assert by_id.loc["MEX1003", "source"] == "Proceso"
    assert "truck" in by_id.loc["MEX1003", "notes"]
    assert reasons(report) == {6: "actor1 not recognised; perpetrator 'unknown'"}


# ------------------------------------------------------------------------------------------- generic table


def test_generic_spanish_table(test_data):
    g, report = read(test_data / "io" / "incidents_es.csv")
    by_id = g.set_index("incident_id")
    assert by_id["category"].tolist() == ["homicide", "disappearance", "extortion", "robbery", "other"]
    assert by_id["perpetrator"].tolist() == [
        "organized_crime", "unknown", "state_security", "common_crime", "unknown"
    ]  # fmt: skip
    assert by_id["date_precision"].tolist() == ["day", "month", "year", "day", "day"]
    assert by_id.loc["a1", "date"] == pd.Timestamp("2020-03-15")
    assert by_id.loc["a5", "date"] == pd.Timestamp("2021-06-01")  # day first, as 28/02/2021 shows
    assert by_id.loc["a3", "victims"] == 1
    assert by_id.loc["a2", "notes"] == ""
    assert set(g["location_precision"]) <= set(LOCATION_PRECISIONS)
    assert set(g["perpetrator"]) <= set(PERPETRATORS)
    assert reasons(report) == {4: "victims missing; counted as 1", 6: "category not recognised; kept as 'other'"}


def test_ids_generated_from_file_stem_and_row(tmp_path):
    p = write(tmp_path, "lat,lon\n16.9,-92.1\n17.0,-92.2\n", name="puntos.csv")
    g, _ = read(p)
    assert g["incident_id"].tolist() == ["puntos-2", "puntos-3"]
    assert g["category"].tolist() == ["other", "other"]
    assert g["date"].isna().all() and (g["date_precision"] == "unknown").all()
    assert g["notes"].tolist() == ["", ""]


def test_coordinates_column_lat_lon(tmp_path):
    p = write(tmp_path, 'id,coordenadas\n1,"16.9, -92.1"\n2,"16,9, -92,1"\n3,"16.9;-92.1"\n4,somewhere\n')
    g, report = read(p)
    assert [(pt.x, pt.y) for pt in g.geometry] == [(-92.1, 16.9)] * 3
    assert reasons(report)[3] == "decimal commas read as decimal points"
    assert "cannot split" in reasons(report, "rejected")[5]


# ------------------------------------------------------------------------------------------- rules, one by one


def test_missing_and_non_numeric_coordinates_rejected(tmp_path):
    p = write(tmp_path, HEADER + "a,2020-01-01,,-92.1,robbery,1\nb,2020-01-01,abc,-92.1,robbery,1\n"
                                 "c,2020-01-01,16.9,-92.1,robbery,1\n")  # fmt: skip
    g, report = read(p)
    assert g["incident_id"].tolist() == ["c"]
    rej = report.rejected
    assert rej.set_index("row")["reason"].to_dict() == {2: "missing coordinate", 3: "not a number"}
    assert rej.set_index("row")["column"].to_dict() == {2: "lat/lon", 3: "lat"}


def test_decimal_commas_read_and_noted(test_data):
    g, report = read(test_data / "bad" / "decimal_commas.csv")  # ';' delimited, "16,25"
    assert [(round(p.x, 4), round(p.y, 4)) for p in g.geometry] == [(-93.9, 16.25), (-99.13, 19.43)]
    notes = report.notes
    assert (notes["reason"] == "decimal comma read as a decimal point").sum() == 4


def test_out_of_range_rejected(test_data):
    g, report = read(test_data / "bad" / "out_of_range.csv")
    assert g["incident_id"].tolist() == ["r3"]
    assert set(reasons(report, "rejected").values()) == {
        "coordinate out of range (latitude -90..90, longitude -180..180)"
    }


def test_swapped_lat_lon_only_valid_swapped(test_data):
    g, report = read(test_data / "bad" / "swapped_latlon.csv")
    assert [(p.x, p.y) for p in g.geometry] == [(-92.26, 14.9), (-93.9, 16.25), (-92.1, 16.9)]
    assert set(report.notes["action"]) == {"swapped"}
    assert report.notes["row"].tolist() == [2, 3]


def test_swapped_lat_lon_inside_mexico_rule(tmp_path):
    # lat -88 / lon 20 is a valid point (Antarctica) but swapped it lies in Mexico: swapped and noted
    p = write(tmp_path, "id,lat,lon\n1,-88.0,20.0\n2,-60.0,20.0\n")
    g, report = read(p)
    assert [(p.x, p.y) for p in g.geometry] == [(-88.0, 20.0), (20.0, -60.0)]
    assert "inside Mexico" in reasons(report)[2]
    assert 3 not in reasons(report)


def test_zero_zero_placeholder_rejected(tmp_path):
    g, report = read(write(tmp_path, "id,lat,lon\n1,0,0\n2,16.9,-92.1\n"))
    assert len(g) == 1 and "placeholder" in reasons(report, "rejected")[2]


def test_impossible_and_unparseable_dates_rejected(test_data):
    g, report = read(test_data / "bad" / "impossible_dates.csv")
    assert g["incident_id"].tolist() == ["d6"]
    assert g.loc[0, "date_precision"] == "month"
    r = reasons(report, "rejected")
    assert r[2] == r[3] == "impossible date (no such day)"
    assert r[4] == "date before 1990"
    assert r[5].startswith("date in the future")
    assert r[6] == "unparseable date"


def test_tomorrow_is_future(tmp_path):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    g, _ = read(write(tmp_path, f"id,date,lat,lon\n1,{tomorrow},16.9,-92.1\n2,2020-01-01,16.9,-92.1\n"))
    assert g["incident_id"].tolist() == ["2"]


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("2019-05-31", "2019-05-31", "day"),
        ("2019-05-31T13:45:00", "2019-05-31", "day"),
        ("2019/05/31", "2019-05-31", "day"),
        ("31/05/2019", "2019-05-31", "day"),
        ("31-May-19", "2019-05-31", "day"),
        ("31 mayo 2019", "2019-05-31", "day"),
        ("May 31, 2019", "2019-05-31", "day"),
        ("Fri, 05/31/2019 - 12:00", "2019-05-31", "day"),
        ("2019-05", "2019-05-01", "month"),
        ("05/2019", "2019-05-01", "month"),
        ("ago 2019", "2019-08-01", "month"),
        ("2019", "2019-01-01", "year"),
    ],
)
def test_date_shapes_and_precision(tmp_path, text, expected, precision):
    g, _ = read(write(tmp_path, f'id,date,lat,lon\n1,"{text}",16.9,-92.1\n'))
    assert g.loc[0, "date"] == pd.Timestamp(expected)
    assert g.loc[0, "date_precision"] == precision


def test_month_first_slash_dates_detected(tmp_path):
    g, _ = read(write(tmp_path, "id,date,lat,lon\n1,05/31/2019,16.9,-92.1\n2,06/01/2019,16.9,-92.1\n"))
    assert g["date"].tolist() == [pd.Timestamp("2019-05-31"), pd.Timestamp("2019-06-01")]


def test_negative_absurd_fractional_and_missing_victims(tmp_path):
    rows = [("a", "-3"), ("b", "5000"), ("c", "2.5"), ("d", ""), ("e", "0"), ("f", "1000")]
    p = write(tmp_path, HEADER + "".join(f"{i},2020-01-01,16.9,-92.1,homicide,{v}\n" for i, v in rows))
    g, report = read(p)
    assert g.set_index("incident_id")["victims"].to_dict() == {"b": 5000, "d": 1, "e": 1, "f": 1000}
    r = reasons(report, "rejected")
    assert r == {2: "negative number of victims", 4: "number of victims is not a whole number"}
    assert reasons(report)[3].startswith("more than 1,000 victims: kept as a mass-casualty event")
    assert reasons(report)[5] == "victims missing; counted as 1"
    assert "0 victims" in reasons(report)[6]


def test_duplicate_ids_later_rejected(test_data):
    g, report = read(test_data / "bad" / "duplicate_ids.csv")
    assert g["incident_id"].tolist() == ["x1", "x2"]
    rej = report.rejected
    assert rej["row"].tolist() == [4]
    assert rej["value"].tolist() == ["x1 (first at row 2)"]


def test_duplicate_of_a_rejected_row_is_kept(tmp_path):
    g, _ = read(write(tmp_path, "id,lat,lon\nx,,-92\nx,16.9,-92.1\n"))
    assert g["incident_id"].tolist() == ["x"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("homicidio", "homicide"), ("Secuestro", "kidnapping"), ("desaparición", "disappearance"),
        ("EXTORSIÓN", "extortion"), ("robo", "robbery"), ("asalto", "robbery"), ("violación", "sexual_violence"),
        ("abuso sexual", "sexual_violence"), ("trata de personas", "trafficking"), ("tortura", "torture"),
        ("abuso de autoridad", "enforcement_abuse"), ("ahogamiento", "drowning"), ("golpe de calor", "exposure"),
        ("caída del tren", "accident"), ("lesiones", "assault"), ("kidnapping", "kidnapping"),
    ],
)  # fmt: skip
def test_category_synonyms(tmp_path, text, category):
    g, report = read(write(tmp_path, f"id,lat,lon,tipo\n1,16.9,-92.1,{text}\n"))
    assert g.loc[0, "category"] == category
    assert len(report.notes) == 0


def test_unknown_category_kept_as_other_with_note(tmp_path):
    g, report = read(write(tmp_path, "id,lat,lon,category\n1,16.9,-92.1,meteorite\n"))
    assert g.loc[0, "category"] == "other"
    assert report.notes.loc[0, "value"] == "meteorite"
    assert report.notes.loc[0, "action"] == "mapped"


def test_latin1_file_read_and_noted(test_data):
    g, report = read(test_data / "bad" / "latin1.csv")
    assert g["category"].tolist() == ["sexual_violence", "extortion", "assault"]
    assert g.loc[2, "notes"] == "Matías Romero"
    enc = report.notes
    assert enc.loc[0, "row"] == 0 and "Latin-1" in enc.loc[0, "reason"]


def test_utf8_bom_and_utf16(tmp_path):
    text = "id,lat,lon,notas\n1,16.9,-92.1,Matías\n"
    g1, r1 = read(write(tmp_path, "\ufeff" + text, name="bom.csv"))
    g2, r2 = read(write(tmp_path, text, name="u16.csv", encoding="utf-16"))
    assert g1.loc[0, "incident_id"] == g2.loc[0, "incident_id"] == "1"
    assert g1.loc[0, "notes"] == g2.loc[0, "notes"] == "Matías"
    assert len(r1.to_frame()) == len(r2.to_frame()) == 0


def test_line_with_extra_fields_rejected_and_rows_stay_aligned(tmp_path):
    p = write(tmp_path, "id,lat,lon\n1,16.9,-92.1\n2,16.9,-92.1,extra\n3,,-92\n\n4,16.9,-92.1\n")
    g, report = read(p)
    assert g["incident_id"].tolist() == ["1", "4"]
    assert reasons(report, "rejected") == {3: "line has 4 fields but the header has 3", 4: "missing coordinate"}
    assert report.counts[str(p)] == {"read": 4, "kept": 2, "rejected": 2}


def test_synthetic_flag_and_canonical_round_trip(tmp_path):
    src = gpd.GeoDataFrame(
        {"incident_id": ["s1"], "date": [pd.Timestamp("2020-05-01")], "date_precision": ["month"],
         "category": ["kidnapping"], "perpetrator": ["organized_crime"], "victims": [3], "severity": [9.9],
         "location_precision": ["municipality"], "source": ["gen"], "source_url": [""], "notes": ["n"],
         "synthetic": [True]},
        geometry=[Point(-92.1, 16.9)], crs="EPSG:4326",
    )  # fmt: skip
    p = tmp_path / "canon.csv"
    pd.DataFrame(src.drop(columns="geometry")).assign(lat=16.9, lon=-92.1).to_csv(p, index=False)
    g, _ = read(p)
    for c in ("incident_id", "date", "date_precision", "category", "perpetrator", "victims",
              "location_precision", "synthetic"):  # fmt: skip
        assert g.loc[0, c] == src.loc[0, c], c
    assert g.loc[0, "severity"] == pytest.approx(compute_severity(["kidnapping"], [3])[0])


def test_warns_without_report(test_data):
    with pytest.warns(RejectedRowsWarning, match="1 rows of .*duplicate_ids.csv"):
        read_incidents(test_data / "bad" / "duplicate_ids.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_incidents(test_data / "io" / "incidents_es.csv")


# ------------------------------------------------------------------------------------------- unusable files


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("empty.csv", "is empty"),
        ("header_only.csv", "header but no rows"),
        ("binary.csv", "not a text file"),
        ("no_coordinates.csv", "no coordinate columns"),
        ("does_not_exist.csv", "does not exist"),
    ],
)
def test_unusable_files_raise_input_error(test_data, name, match):
    path = test_data / "bad" / name
    with pytest.raises(InputError, match=match) as info:
        read_incidents(path, report=ValidationReport())
    assert name in str(info.value)


def test_no_usable_rows_names_the_reasons(tmp_path):
    p = write(tmp_path, "id,lat,lon\n1,,\n2,95,200\n")
    with pytest.raises(InputError, match=r"no usable rows in .*all 2 rows were rejected .*missing coordinate"):
        read_incidents(p, report=ValidationReport())


def test_bad_format_argument(tmp_path):
    with pytest.raises(InputError, match="`format` was 'xls'"):
        read_incidents(tmp_path / "x.csv", format="xls")


# ------------------------------------------------------------------------------------------- vector inputs


def _points(crs="EPSG:4326"):
    return gpd.GeoDataFrame(
        {"id": ["v1", "v2", "v3"], "fecha": ["2020-01-01", "2020-02-01", "2020-03-01"],
         "tipo": ["secuestro", "robo", "homicidio"], "victimas": [1, 2, 3]},
        geometry=[Point(-92.26, 14.9), Point(-93.9, 16.25), None], crs="EPSG:4326",
    ).to_crs(crs)  # fmt: skip


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "parquet", "shp"])
def test_vector_formats(tmp_path, ext):
    p = tmp_path / f"pts.{ext}"
    gdf = _points()
    if ext == "parquet":
        gdf.to_parquet(p)
    else:
        gdf.to_file(p, engine="pyogrio")
    g, report = read(p)
    assert g["incident_id"].tolist() == ["v1", "v2"]
    assert g["category"].tolist() == ["kidnapping", "robbery"]
    assert g["victims"].tolist() == [1, 2]
    assert g["date"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")]
    assert g.crs.to_epsg() == 4326
    assert reasons(report, "rejected") == {3: "missing or empty geometry"}


def test_vector_in_3857_reprojected(test_data):
    g, report = read(test_data / "bad" / "incidents_epsg3857.geojson")
    assert [(round(p.x, 6), round(p.y, 6)) for p in g.geometry] == [(-92.26, 14.9), (-99.13, 19.43)]
    assert "reprojected from EPSG:3857" in report.notes.loc[0, "reason"]


def test_vector_non_point_rejected(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(-92, 16), LineString([(-92, 16), (-93, 17)])],
                           crs="EPSG:4326")  # fmt: skip
    p = tmp_path / "mixed.gpkg"
    gdf.to_file(p, engine="pyogrio")
    g, report = read(p)
    assert g["incident_id"].tolist() == ["a"]
    assert reasons(report, "rejected") == {2: "incident geometry must be a point"}


def test_truncated_geojson(test_data):
    with pytest.raises(InputError, match=r"truncated\.geojson"):
        read_incidents(test_data / "bad" / "truncated.geojson", report=ValidationReport())


def test_multilayer_geopackage_needs_layer(tmp_path):
    p = tmp_path / "two.gpkg"
    _points().to_file(p, layer="a", engine="pyogrio")
    _points().to_file(p, layer="b", engine="pyogrio")
    with pytest.raises(InputError, match="has 2 layers"):
        read_incidents(p, report=ValidationReport())
    g, _ = read(p, layer="b")
    assert len(g) == 2


def test_severity_matches_schema(test_data):
    g, _ = read(test_data / "io" / "acled_sample.csv")
    np.testing.assert_allclose(g["severity"], compute_severity(g["category"], g["victims"]))
    assert all(math.isfinite(v) for v in g["severity"])


def test_excel_file_with_csv_name(tmp_path):
    p = write(tmp_path, b"PK\x03\x04" + b"\x14\x00\x06\x00" * 10, name="book.csv")
    with pytest.raises(InputError, match=r"ZIP archive .*save it as CSV"):
        read_incidents(p, report=ValidationReport())


def test_vector_typed_attributes(tmp_path):
    src = gpd.GeoDataFrame(
        {"id": [1, 2, 3], "date": pd.to_datetime(["2020-01-01 10:00", "2021-05-06 00:00", None]),
         "victims": [1, None, 3], "category": ["robo", None, "homicide"]},
        geometry=[Point(-92, 16), Point(-93, 17), Point(-94, 18)], crs=4326,
    )  # fmt: skip
    p = tmp_path / "typed.gpkg"
    src.to_file(p, engine="pyogrio")
    g, report = read(p)
    assert g["incident_id"].tolist() == ["1", "2", "3"]
    assert g["date"].tolist()[:2] == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-05-06")]
    assert pd.isna(g.loc[2, "date"]) and g.loc[2, "date_precision"] == "unknown"
    assert g["victims"].tolist() == [1, 1, 3]
    assert g["category"].tolist() == ["robbery", "other", "homicide"]
    assert set(zip(report.notes["row"], report.notes["reason"], strict=True)) == {
        (2, "category missing; kept as 'other'"),
        (2, "victims missing; counted as 1"),
        (3, "date missing; kept with date_precision 'unknown'"),
    }


def test_projected_coordinates_hint(tmp_path):
    p = write(tmp_path, "id,x,y\n1,500000,2100000\n2,510000,2110000\n")
    with pytest.raises(InputError, match=r"out of range.*projected \(metres\), reproject"):
        read_incidents(p, report=ValidationReport())
