"""Embedded default data: states, corridors, zones, shelters, incidents; and the packaged wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from routerisk._paths import data_dir, data_path
from routerisk.datasets import assign_states, corridor_waypoints, load_corridors, load_states
from routerisk.schema import MODES, ROUTE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------- states


def test_states_codes_names_keys():
    states = load_states()
    assert len(states) == 32
    assert states.crs.to_epsg() == 4326
    assert states["state_code"].tolist() == [f"{i:02d}" for i in range(1, 33)]
    by_code = states.set_index("state_code")
    assert by_code.loc["05", "state_name"] == "Coahuila de Zaragoza"
    assert by_code.loc["07", "state_name"] == "Chiapas"
    assert by_code.loc["09", "state_key"] == "ciudad_de_mexico"
    assert by_code.loc["30", "state_key"] == "veracruz_de_ignacio_de_la_llave"
    assert states.is_valid.all()


def test_state_keys_match_the_deployment_table(real_data):
    table = pd.read_csv(real_data / "guardia_nacional_deployment_by_state_month.csv", dtype=str)
    pairs = set(zip(table["entidad"], table["cve_entidad"], strict=True))
    states = load_states()
    assert pairs == set(zip(states["state_key"], states["state_code"], strict=True))


def test_states_cache_returns_copies():
    a = load_states()
    a.loc[0, "state_name"] = "changed"
    assert load_states().loc[0, "state_name"] == "Aguascalientes"


def test_assign_states_inside_outside_and_null():
    pts = gpd.GeoSeries(
        [shapely.Point(-92.26, 14.91), shapely.Point(-86.5, 21.2), None, shapely.Point(-99.13, 19.43)],
        crs="EPSG:4326",
    )
    out = assign_states(pts)
    assert out["state_code"].tolist()[:2] == ["07", "23"]
    assert pd.isna(out["state_code"].iloc[2])
    assert out["state_name"].iloc[3] == "Ciudad de México"


# --------------------------------------------------------------------------------------------- corridors


def test_corridors_layer():
    corridors = load_corridors()
    assert tuple(corridors.columns[:4]) == ROUTE_COLUMNS
    assert len(corridors) >= 10
    assert corridors["route_id"].is_unique
    assert corridors["mode"].isin(MODES).all()
    assert not corridors["illustrative"].any()
    assert corridors.crs.to_epsg() == 4326
    assert (corridors.geom_type == "LineString").all()


def test_every_corridor_vertex_lies_in_mexico():
    """Every vertex inside a state or within 25 km of one (EPSG:6372)."""
    corridors = load_corridors().to_crs("EPSG:6372")
    tree = shapely.STRtree(load_states().to_crs("EPSG:6372").geometry.to_numpy())
    xy = shapely.get_coordinates(corridors.geometry.to_numpy())
    (_, dist) = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    assert dist.max() <= 25_000.0, f"vertex {xy[np.argmax(dist)]} is {dist.max() / 1000:.1f} km from Mexico"


def test_corridor_localities_resolve_to_their_state():
    table = corridor_waypoints()
    from routerisk.gazetteer import resolve_state

    expected = table["state"].map(resolve_state)
    assert (table["state_code"] == expected).all()
    # spot checks of a few places that share their name with others
    first = table.drop_duplicates("locality").set_index("locality")
    assert first.loc["Ciudad Hidalgo", "state_code"] == "07"
    assert first.loc["Tonalá", "lon"] == pytest.approx(-93.75, abs=0.01)
    assert first.loc["Matamoros", "lon"] == pytest.approx(-97.50, abs=0.01)
    assert first.loc["Lechería", "state_code"] == "15"


def test_documented_entries_and_exits_are_present():
    names = set(corridor_waypoints()["locality"])
    for place in ["Ciudad Hidalgo", "Tapachula", "Tenosique", "El Ceibo", "Ixtepec", "Coatzacoalcos", "Lechería",
                  "Nuevo Laredo", "Reynosa", "Matamoros", "Piedras Negras", "Ciudad Juárez", "Nogales", "Tijuana"]:
        assert place in names


# --------------------------------------------------------------------------------------------- packaging


def test_data_path_finds_source_tree_files():
    assert data_dir() == ROOT / "data" or (data_dir() / "corridors.csv").is_file()
    assert data_path("corridors.csv").is_file()
    with pytest.raises(Exception, match="not found"):
        data_path("no_such_file.csv")


@pytest.mark.slow
def test_wheel_carries_the_data_and_works_when_installed(tmp_path):
    wheel_dir = tmp_path / "wheel"
    py = sys.executable
    has_hatch = subprocess.run([py, "-c", "import hatchling"], capture_output=True).returncode == 0
    cmd = [py, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)]
    if has_hatch:
        cmd.insert(4, "--no-build-isolation")
    # build from a copy so that no build artefacts land in the working tree
    src = tmp_path / "src"
    anywhere = shutil.ignore_patterns(".venv", ".git", "*.pyc", "__pycache__", ".*cache")
    top_level = {"maps", "notebooks", "out", "runs", "build", "dist", "site"}  # not src/routerisk/maps

    def ignore(folder, names):
        skip = set(anywhere(folder, names))
        return skip | (top_level & set(names)) if Path(folder) == ROOT else skip

    shutil.copytree(ROOT, src, ignore=ignore)
    cmd[-1] = str(src)
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (wheel,) = wheel_dir.glob("routerisk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ["corridors.csv", "localities.csv", "README.md", "mexicojoin.shp", "LICENSE-libpysal.txt"]:
        assert f"routerisk/data/{f}" in names
    assert "routerisk/py.typed" in names  # PEP 561: type checkers read routerisk's annotations
    target = tmp_path / "site"
    subprocess.run([py, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "from routerisk.datasets import load_corridors; import routerisk._paths as d; "
        "print(len(load_corridors()), d.data_dir())"
    )
    out = subprocess.run(
        [py, "-c", code], cwd=tmp_path, env=env, check=True, capture_output=True, text=True, timeout=300
    )
    n, where = out.stdout.split()
    assert int(n) == len(load_corridors())
    assert Path(where).is_relative_to(target)
    # the whole demo runs from the installed wheel, away from the source tree
    demo = subprocess.run(
        [py, "-m", "routerisk", "demo", "--out", str(tmp_path / "demo")], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "demo" / "routerisk_demo.html").stat().st_size > 100_000
    assert '"embedded:corridors.csv"' in (tmp_path / "demo" / "manifest.json").read_text()


# --------------------------------------------------------------------------------------------- zones, shelters


def test_zones_layer():
    from routerisk.datasets import load_zones
    from routerisk.schema import AGENCIES, ZONE_COLUMNS, ZONE_KINDS

    zones = load_zones()
    assert tuple(zones.columns) == (*ZONE_COLUMNS, "geometry")
    assert len(zones) >= 20
    assert zones["zone_id"].is_unique
    assert zones["illustrative"].all()
    assert zones["agency"].isin(AGENCIES).all() and zones["kind"].isin(ZONE_KINDS).all()
    assert set(zones["kind"]) == set(ZONE_KINDS)
    assert str(zones["start_date"].dtype) == "datetime64[ns]" and str(zones["end_date"].dtype) == "datetime64[ns]"
    assert zones["end_date"].isna().sum() > 15
    assert (zones["intensity"] >= 0).all()
    assert zones.is_valid.all() and (zones.geom_type == "Polygon").all()
    # circles buffered in metres: the area matches pi r^2 within 0.5 %
    table = pd.read_csv(data_path("zones.csv"))
    area = zones.to_crs("EPSG:6372").area.to_numpy()
    np.testing.assert_allclose(area, np.pi * table["radius_m"].to_numpy() ** 2, rtol=5e-3)
    # the La Ventosa checkpoint is in Oaxaca, not at the Chiapas town that shares the alternate name
    ventosa = zones.set_index("zone_id").loc["Z10", "geometry"].centroid
    assert ventosa.x == pytest.approx(-94.95, abs=0.02)


def test_shelters_layer():
    from routerisk.datasets import load_shelters
    from routerisk.schema import SHELTER_COLUMNS

    shelters = load_shelters()
    assert tuple(shelters.columns) == (*SHELTER_COLUMNS, "geometry")
    assert shelters["shelter_id"].is_unique
    assert set(shelters["kind"]) == {"shelter", "asylum_office"}
    is_shelter = shelters["kind"] == "shelter"
    assert shelters.loc[is_shelter, "sensitive"].all()
    assert not shelters.loc[~is_shelter, "sensitive"].any()
    named = shelters.set_index("name")
    assert named.loc["La 72 Hogar-Refugio para Personas Migrantes", "state"] == "Tabasco"
    assert not named.loc["La 72 Hogar-Refugio para Personas Migrantes", "illustrative"]
    assert shelters.loc[shelters["name"].str.contains("illustrative"), "illustrative"].all()
    # city-level positions: every shelter sits exactly on a gazetteer locality
    from routerisk.gazetteer import load_localities

    loc = load_localities()
    keys = set(zip(loc["lon"].round(5), loc["lat"].round(5), strict=True))
    assert all((round(p.x, 5), round(p.y, 5)) in keys for p in shelters.geometry)
