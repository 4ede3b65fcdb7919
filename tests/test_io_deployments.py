"""read_deployments: the state-month table into time-varying zones."""

from __future__ import annotations

import csv

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from routerisk import InputError, ValidationReport
from routerisk.io import read_deployments
from routerisk.schema import ZONE_COLUMNS

MONTHS = {"ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sep": 9, "oct": 10,
          "nov": 11, "dic": 12}  # fmt: skip


def grid_states(n=32):
    """``n`` one-degree boxes standing in for the states, codes "01".."n" (INEGI style)."""
    codes = [f"{i:02d}" for i in range(1, n + 1)]
    geoms = [box(-118 + i, 20, -117 + i, 21) for i in range(n)]
    return gpd.GeoDataFrame({"state_code": codes, "state_name": [f"State {c}" for c in codes]}, geometry=geoms,
                            crs="EPSG:4326")  # fmt: skip


def two_states():
    return gpd.GeoDataFrame(
        {"state_code": ["07", "20"], "state_name": ["Chiapas", "Oaxaca"], "state_key": ["chiapas", "oaxaca"]},
        geometry=[box(-94.0, 14.5, -90.4, 18.0), box(-98.6, 15.6, -93.8, 18.7)],
        crs="EPSG:4326",
    )


def test_real_table_reads_into_800_zones(real_data):
    path = real_data / "guardia_nacional_deployment_by_state_month.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        recs = list(csv.DictReader(fh))
    report = ValidationReport()
    z = read_deployments(path, states=grid_states(), report=report)
    assert len(z) == len(recs) == 800
    assert report.counts[str(path)] == {"read": 800, "kept": 800, "rejected": 0}
    assert list(z.columns) == [*ZONE_COLUMNS, "state_code", "migrants_detained", "geometry"]
    assert z.crs.to_epsg() == 4326
    assert z["zone_id"].is_unique
    assert z["state_code"].nunique() == 32 and z.groupby("state_code").size().eq(25).all()
    assert (z["agency"] == "guardia_nacional").all() and (z["kind"] == "deployment").all()
    assert not z["illustrative"].any()
    assert z["start_date"].min() == pd.Timestamp("2019-07-01")
    assert z["end_date"].max() == pd.Timestamp("2021-07-31")
    assert (z["start_date"].dt.day == 1).all()
    assert (z["end_date"] == z["start_date"] + pd.offsets.MonthEnd(0)).all()
    # every row by hand: dates, intensity, detained, code, geometry
    expected_start = [pd.Timestamp(int(r["ano"]), MONTHS[r["mes"]], 1) for r in recs]
    assert z["start_date"].tolist() == expected_start
    assert z["intensity"].tolist() == [float(r["despliegue"]) for r in recs]
    assert z["migrants_detained"].tolist() == [float(r["migrantes_detenidos"]) for r in recs]
    assert z["state_code"].tolist() == [r["cve_entidad"] for r in recs]
    states = grid_states().set_index("state_code")
    assert all(g.equals(states.geometry[c]) for g, c in zip(z.geometry, z["state_code"], strict=True))
    feb = z[(z["start_date"] == "2020-02-01")]
    assert (feb["end_date"] == pd.Timestamp("2020-02-29")).all()  # leap year


def test_two_states_by_hand(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("ano,mes,entidad,cve_entidad,despliegue,migrantes_detenidos\n"
                 "2019,jul,chiapas,7,2500,300\n"  # code written as a number
                 "2019,ago,oaxaca,20,1800,\n"
                 "2019,ago,oaxaca,,1900,5\n"  # same state-month again (matched by name): duplicate
                 "2020,feb,chiapas,,2600,10\n"  # matched by name
                 "2020,xyz,chiapas,07,1,1\n"
                 "2020,mar,atlantis,99,1,1\n"
                 "2020,mar,chiapas,07,-5,1\n"
                 "2020,abr,chiapas,07,,1\n")  # fmt: skip
    report = ValidationReport()
    z = read_deployments(p, states=two_states(), report=report)
    assert z["zone_id"].tolist() == ["gn-07-2019-07", "gn-20-2019-08", "gn-07-2020-02"]
    assert z["name"].tolist() == ["Chiapas 2019-07", "Oaxaca 2019-08", "Chiapas 2020-02"]
    assert z["intensity"].tolist() == [2500.0, 1800.0, 2600.0]
    assert z["state_code"].tolist() == ["07", "20", "07"]
    assert z["end_date"].tolist() == [pd.Timestamp(d) for d in ("2019-07-31", "2019-08-31", "2020-02-29")]
    assert pd.isna(z.loc[1, "migrants_detained"])
    rej = report.rejected.set_index("row")["reason"].to_dict()
    assert rej == {
        4: "duplicate state and month (an earlier row has the same)",
        6: "not a month (ene..dic, jan..dec or 1..12)",
        7: "state not found in the states layer (INEGI code 01-32)",
        8: "deployment count must be >= 0",
        9: "deployment count missing",
    }


def test_english_columns_and_numeric_months(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("year,month,state_code,personnel\n2021,3,07,100\n2021,Dec,20,200\n")
    z = read_deployments(p, states=two_states(), report=ValidationReport())
    assert z["start_date"].tolist() == [pd.Timestamp("2021-03-01"), pd.Timestamp("2021-12-01")]


def test_not_a_deployment_table(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a state-month deployment table: missing column"):
        read_deployments(p, states=two_states())


def test_states_must_have_codes(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("ano,mes,cve_entidad,despliegue\n2019,jul,07,1\n")
    with pytest.raises(InputError, match="state_code"):
        read_deployments(p, states=two_states().drop(columns="state_code"))


def test_with_embedded_states(real_data):
    datasets = pytest.importorskip("routerisk.datasets", reason="routerisk.datasets (embedded states) not in git yet")
    if not hasattr(datasets, "load_states"):
        pytest.skip("routerisk.datasets.load_states not available yet")
    report = ValidationReport()
    z = read_deployments(real_data / "guardia_nacional_deployment_by_state_month.csv", report=report)
    assert len(z) == 800 and report.n_rejected == 0
    states = datasets.load_states().set_index("state_code")
    assert set(z["state_code"]) == set(states.index)
    chiapas = z[z["state_code"] == "07"]
    assert chiapas.geometry.iloc[0].equals(states.geometry["07"])
    assert z.is_valid.all()
