"""Public mode leaks nothing: no incident coordinate within 100 m, no free text, in any output file (issue 6)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from scipy.spatial import cKDTree

from routerisk import synthetic_incidents
from routerisk.cli import cli
from routerisk.datasets import load_localities, load_shelters, load_states

SECRET = "SECRET-NOTE"
URL = "secret.example.org"
ISOLATED = (-88.30, 20.30)  # lon, lat in Yucatán, far from every corridor and every other incident
TO_M = "EPSG:6372"


@pytest.fixture(scope="module")
def public_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("public")
    inc = synthetic_incidents(800, seed=7)
    inc["notes"] = [f"{SECRET}-{i} <b>victim name</b>" for i in range(len(inc))]
    inc["source_url"] = [f"https://{URL}/{i}" for i in range(len(inc))]
    lone = inc.iloc[[0]].copy()
    lone["incident_id"] = "lone"
    lone["location_precision"] = "exact"
    lone = lone.set_geometry(gpd.points_from_xy([ISOLATED[0]], [ISOLATED[1]], crs=4326))
    inc = gpd.GeoDataFrame(
        __import__("pandas").concat([inc, lone], ignore_index=True), geometry="geometry", crs=4326
    )
    table = inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y)
    path = tmp / "incidents.csv"
    table.to_csv(path, index=False)
    shelters = tmp / "shelters.geojson"
    load_shelters().to_file(shelters, driver="GeoJSON")
    out = tmp / "run"
    result = CliRunner().invoke(
        cli,
        ["score", "--incidents", str(path), "--shelters", str(shelters), "--privacy", "public",
         "--maps", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, inc


def _tree(points_lonlat):
    xy = gpd.GeoSeries(gpd.points_from_xy(*np.asarray(points_lonlat).T), crs=4326).to_crs(TO_M)
    return cKDTree(shapely.get_coordinates(xy.to_numpy()))


def _public_vertices(out):
    """Coordinates that come from public geometry (segments, states, localities, zones, shelters as published)."""
    parts = [shapely.get_coordinates(gpd.read_file(out / "segments.gpkg", layer="segments").geometry.to_numpy())]
    parts.append(shapely.get_coordinates(load_states().geometry.to_numpy()))
    loc = load_localities()
    parts.append(loc[["lon", "lat"]].to_numpy())
    for name in ("zones", "shelters"):
        if (out / f"{name}.gpkg").exists():
            parts.append(shapely.get_coordinates(gpd.read_file(out / f"{name}.gpkg", layer=name).geometry.to_numpy()))
    return _tree(np.vstack(parts))


def _leaks(coords_lonlat, incidents_tree, public_tree):
    coords = np.asarray(coords_lonlat, dtype=float).reshape(-1, 2)
    if not len(coords):
        return coords
    xy = shapely.get_coordinates(
        gpd.GeoSeries(gpd.points_from_xy(coords[:, 0], coords[:, 1]), crs=4326).to_crs(TO_M).to_numpy()
    )
    near_incident = np.isfinite(incidents_tree.query(xy, distance_upper_bound=100.0)[0])
    from_public = np.isfinite(public_tree.query(xy, distance_upper_bound=2.0)[0])
    return coords[near_incident & ~from_public]


def test_no_free_text_anywhere(public_run):
    out, _ = public_run
    for path in out.iterdir():
        data = path.read_bytes()
        assert SECRET.encode() not in data, path.name
        assert URL.encode() not in data, path.name
        assert b"victim name" not in data, path.name


def test_no_incident_layer_and_suppressed_segments(public_run):
    out, _ = public_run
    names = {p.name for p in out.iterdir()}
    assert "incidents.gpkg" not in names
    assert {"map.html", "map.png", "segments.gpkg", "risk_surface.tif", "manifest.json"} <= names
    seg = gpd.read_file(out / "segments.gpkg", layer="segments")
    assert seg.loc[~seg["suppressed"], "n_incidents"].min() >= 5
    assert seg.loc[seg["suppressed"], "risk"].isna().all()


def test_no_incident_coordinates_in_vector_outputs(public_run):
    out, inc = public_run
    inc_tree, pub_tree = _tree(shapely.get_coordinates(inc.geometry.to_numpy())), _public_vertices(out)
    for path in out.glob("*.gpkg"):
        for layer in [n for n, geom in pyogrio.list_layers(path) if geom is not None]:  # not QGIS's layer_styles
            g = gpd.read_file(path, layer=layer)
            leaks = _leaks(shapely.get_coordinates(g.to_crs(4326).geometry.to_numpy()), inc_tree, pub_tree)
            assert not len(leaks), (path.name, layer, leaks[:5])
    g = gpd.read_parquet(out / "segments.parquet")
    assert not len(_leaks(shapely.get_coordinates(g.geometry.to_numpy()), inc_tree, pub_tree))


def html_coordinates(html: str) -> np.ndarray:
    """Every (lon, lat) the page can draw: consecutive number pairs (``[lat, lon]`` arrays, either order) and
    column-wise ``"lat": [...]`` / ``"lon": [...]`` arrays paired in order of appearance."""
    found = list(re.finditer(r"-?\d{1,3}\.\d+", html))
    nums = np.array([float(m.group()) for m in found])
    # a pair never straddles two arrays: `17.47],[-91.496` is the end of one vertex and the start of the next
    seps = [html[found[i].end() : found[i + 1].start()] for i in range(len(found) - 1)]
    whole = np.array([not re.search(r"[\[\]]", sep) for sep in seps], dtype=bool)
    pairs = np.column_stack([nums[:-1], nums[1:]])[whole] if len(nums) > 1 else np.zeros((0, 2))
    in_lon = (pairs > -118) & (pairs < -86)
    in_lat = (pairs > 14) & (pairs < 33)
    found = [pairs[in_lon[:, 0] & in_lat[:, 1]], pairs[in_lat[:, 0] & in_lon[:, 1]][:, ::-1]]
    arrays = {
        key: [np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", body)])
              for body in re.findall(rf'"{key}"\s*:\s*\[([^\[\]]*)\]', html)]
        for key in ("lat", "lon")
    }  # fmt: skip
    for lat, lon in zip(arrays["lat"], arrays["lon"], strict=True):
        n = min(len(lat), len(lon))
        found.append(np.column_stack([lon[:n], lat[:n]]))
    return np.vstack(found)


def test_html_parser_sees_incidents_in_an_internal_map(tmp_path):
    """The leak check below can fail: on an internal map it finds the incidents."""
    inc = synthetic_incidents(300, seed=3)
    path = tmp_path / "i.csv"
    inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y).to_csv(path, index=False)
    out = tmp_path / "run"
    args = ["score", "--incidents", str(path), "--maps", "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    leaks = _leaks(
        html_coordinates((out / "map.html").read_text(encoding="utf-8")),
        _tree(shapely.get_coordinates(inc.geometry.to_numpy())),
        _public_vertices(out),
    )
    assert len(leaks) >= 0.9 * len(inc)


def test_no_incident_coordinates_in_html(public_run):
    out, inc = public_run
    inc_tree, pub_tree = _tree(shapely.get_coordinates(inc.geometry.to_numpy())), _public_vertices(out)
    coords = html_coordinates((out / "map.html").read_text(encoding="utf-8"))
    assert len(coords) > 1000  # the parser does see the map's geometry
    leaks = _leaks(coords, inc_tree, pub_tree)
    assert not len(leaks), leaks[:5]


def test_isolated_incident_is_masked_in_the_surface(public_run):
    out, _ = public_run
    with rasterio.open(out / "risk_surface.tif") as ds:
        x, y = gpd.GeoSeries(gpd.points_from_xy([ISOLATED[0]], [ISOLATED[1]]), crs=4326).to_crs(ds.crs).iloc[0].xy
        row, col = ds.index(x[0], y[0])
        window = ds.read(1, masked=True)[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4]
        assert window.mask.all(), "cells around a lone incident must be nodata in public mode"
        assert (~ds.read_masks(1).astype(bool)).any()
