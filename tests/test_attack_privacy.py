"""Attacks on public outputs, through the CLI: an adversary sees only a public run folder (issue #10 item 2).

Scenario: along one corridor, six places each with a cluster of 12 incidents (March 2023) and, 4 km further along
the route, one lone incident (July 2023). The adversary wants the lone incidents' positions. Measured figures are
printed (``pytest -s``) and reported in docs/threat-model.md.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from PIL import Image
from pyproj import Transformer

import routerisk
from routerisk.cli import cli
from routerisk.surface import _weights_bandwidths, kernel_2d, risk_surface

M = "EPSG:6372"
MIN_M, MAX_M = 500.0, 2000.0
KEY = b"test key: not known to the adversary, fixed so the attack figures are reproducible"
N_PLACES, CLUSTER = 6, 12


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    route = routerisk.load_corridors().iloc[[3]].reset_index(drop=True)
    routes = tmp / "route.geojson"
    route.to_file(routes, driver="GeoJSON")
    line = route.to_crs(M).geometry.iloc[0]
    rng = np.random.default_rng(11)
    rows, lone = [], []
    for j in range(N_PLACES):
        at = 150_000.0 + 120_000.0 * j
        c = line.interpolate(at)
        for i in range(CLUSTER):
            rows.append((f"c{j}-{i}", c.x + rng.normal(0, 150), c.y + rng.normal(0, 150), f"2023-03-{10 + i:02d}"))
        p = line.interpolate(at + 4000.0)
        rows.append((f"lone{j}", p.x, p.y, "2023-07-17"))
        lone.append((p.x, p.y))
    table = pd.DataFrame(rows, columns=["incident_id", "x", "y", "date"])
    lon, lat = Transformer.from_crs(M, 4326, always_xy=True).transform(table["x"], table["y"])
    table = table.assign(lon=lon, lat=lat, category="homicide", location_precision="exact", victims=1)
    path = tmp / "incidents.csv"
    table.drop(columns=["x", "y"]).to_csv(path, index=False)
    key = tmp / "geomask.key"
    key.write_bytes(KEY)
    return {"tmp": tmp, "incidents": path, "routes": routes, "key": key, "table": table,
            "lone": np.array(lone), "cluster": table[~table["incident_id"].str.startswith("lone")]}  # fmt: skip


def _score(s, out, *extra):
    res = _invoke("score", "--incidents", s["incidents"], "--routes", s["routes"], "--out", out, *extra)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def public_maps(scenario):
    out = scenario["tmp"] / "public"
    return _score(scenario, out, "--privacy", "public", "--maps", "--geomask", f"{MIN_M:g},{MAX_M:g}",
                  "--geomask-key", scenario["key"])  # fmt: skip


def _xy(gdf):
    return shapely.get_coordinates(gdf.to_crs(M).geometry.to_numpy())


def _nearest(a, b):
    """Distance from each point of ``a`` to the nearest of ``b``."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(axis=1)


# --- 1. geomasking cannot be regenerated ------------------------------------------------------------------------


def _seeded_offsets(seed, n, lo=MIN_M, hi=MAX_M):
    """The displacements of the former, seeded donut_mask (radius, angle, then the row permutation)."""
    rng = np.random.default_rng(seed)
    radius = np.sqrt(rng.uniform(size=n) * (hi**2 - lo**2) + lo**2)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return radius * np.cos(angle), radius * np.sin(angle), rng.permutation(n)


def _regeneration_error(masked_xy, truth_xy, seed):
    """Median error of an adversary who regenerates the seeded draws and undoes them."""
    dx, dy, order = _seeded_offsets(seed, len(truth_xy))
    unshuffled = np.empty_like(masked_xy)
    unshuffled[order] = masked_xy
    guess = unshuffled - np.column_stack([dx, dy])
    return float(np.median(np.hypot(*(guess - truth_xy).T)))


def _ints(doc):
    if isinstance(doc, bool):
        return set()
    if isinstance(doc, int):
        return {doc}
    if isinstance(doc, dict):
        return set().union(*(_ints(v) for v in doc.values())) if doc else set()
    if isinstance(doc, list):
        return set().union(*(_ints(v) for v in doc)) if doc else set()
    return set()


def test_geomask_cannot_be_regenerated_from_anything_published(scenario):
    runs = [_score(scenario, scenario["tmp"] / f"mask{i}", "--privacy", "public", "--geomask", "500,2000")
            for i in range(2)]  # fmt: skip
    a, b = (gpd.read_file(r / "incidents_geomasked.gpkg") for r in runs)
    truth = np.column_stack([scenario["table"]["x"], scenario["table"]["y"]])
    xa, xb = _xy(a), _xy(b)
    assert len(xa) == len(xb) == len(truth)
    apart = float(np.median(_nearest(xb, xa)))
    print(f"\ntwo public runs without a key: median nearest-neighbour distance between their points {apart:.0f} m")
    assert apart > 100.0  # two identical runs, two different draws
    assert _nearest(scenario["lone"], xa).min() >= MIN_M - 1.0  # no masked point within MIN_M of a lone record
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["disclosure"]["geomask_source"] == "os-entropy"
    # the adversary tries every integer the run folder publishes (the model's seed among them) and a few more
    seeds = sorted(_ints(manifest) | set(range(50)))
    assert manifest["model"]["seed"] in seeds
    errors = [_regeneration_error(xa, truth, s) for s in seeds]
    print(f"\nseed regeneration: best median error over {len(seeds)} seeds = {min(errors):.0f} m")
    assert min(errors) >= MIN_M
    # the same attack recovers every point exactly from masking seeded by a published seed (the former design)
    dx, dy, order = _seeded_offsets(manifest["model"]["seed"], len(truth))
    old = (truth + np.column_stack([dx, dy]))[order]
    assert _regeneration_error(old, truth, manifest["model"]["seed"]) < 1e-6


def test_key_is_written_nowhere_and_reproduces_the_points(scenario, public_maps):
    needles = [KEY, KEY.hex().encode(), hashlib.sha256(KEY).hexdigest().encode(), str(scenario["key"]).encode()]
    for path in public_maps.iterdir():
        data = path.read_bytes()
        for needle in needles[:3]:
            assert needle not in data, path.name
    manifest = json.loads((public_maps / "manifest.json").read_text())
    assert manifest["disclosure"]["geomask_source"] == "key-file"
    assert "key" not in json.dumps(manifest["disclosure"]).replace("key-file", "")
    again = _score(scenario, scenario["tmp"] / "again", "--privacy", "public", "--geomask", "500,2000",
                   "--geomask-key", scenario["key"])  # fmt: skip
    a = gpd.read_file(public_maps / "incidents_geomasked.gpkg")
    b = gpd.read_file(again / "incidents_geomasked.gpkg")
    assert a.geometry.equals(b.geometry)  # same key, same points, same order
    assert (public_maps / "segments_ranked.csv").read_bytes() == (again / "segments_ranked.csv").read_bytes()


def test_rerun_says_what_it_cannot_reproduce(scenario, public_maps):
    res = _invoke("rerun", public_maps, "--out", scenario["tmp"] / "rerun_nokey")
    assert res.exit_code == 0, res.output
    assert "not reproducible" in res.output and "--geomask-key" in res.output
    res = _invoke("rerun", public_maps, "--out", scenario["tmp"] / "rerun_key", "--geomask-key", scenario["key"])
    assert res.exit_code == 0, res.output
    assert "not reproducible" not in res.output
    assert "segments_ranked.csv" in res.output.split("reproduced:")[1].splitlines()[0]


# --- 2. fitting and differencing ---------------------------------------------------------------------------------


def _fit(cells_xy, values, h, kernel, around, half=6000.0, step=100.0):
    """Least-squares fit of one kernel (free amplitude) to ``values`` at ``cells_xy``: the best centre."""
    g = np.arange(-half, half + step, step)
    cx, cy = np.meshgrid(around[0] + g, around[1] + g)
    cand = np.column_stack([cx.ravel(), cy.ravel()])
    d = np.sqrt(((cand[:, None, :] - cells_xy[None, :, :]) ** 2).sum(-1))
    k = kernel_2d(d, h, kernel)
    kk = (k * k).sum(1)
    kv = k @ values
    sse = (values @ values) - np.where(kk > 0, kv**2 / np.where(kk > 0, kk, 1), 0.0)
    return cand[np.argmin(sse)]


def _frame_attack(frames_xy, frames, lone, h, kernel, min_cells=4):
    """Difference "all" and every period frame, fit each lone incident; error in metres or None (suppressed)."""
    out = []
    for p in lone:
        best = None
        near = np.hypot(*(frames_xy - p).T) < 12_000
        for f in frames[1:]:
            diff = frames[0] - f
            ok = near & np.isfinite(diff) & (diff > 1e-9 * np.nanmax(np.abs(frames[0])))
            if ok.sum() < min_cells:
                continue
            est = _fit(frames_xy[ok], diff[ok], h, kernel, p)
            err = float(np.hypot(*(est - p)))
            best = err if best is None else min(best, err)
        out.append(best)
    return out


def _html_frames(path):
    """Every heat frame of a map as values on the Web Mercator pixel centres (NaN where transparent)."""
    html = path.read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)]
    heat = next(b for b in blocks if isinstance(b, dict) and "uris" in b)
    (s, w), (n, e) = heat["bounds"]
    frames = []
    for uri in heat["uris"]:
        img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        idx = np.asarray(img, dtype="float64")
        frames.append(np.where(idx > 0, idx - 1.0, np.nan).ravel())
    rows, cols = idx.shape
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([w, e], [s, n])
    px = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    py = y1 - (np.arange(rows) + 0.5) * (y1 - y0) / rows
    mx, my = np.meshgrid(px, py)
    x, y = Transformer.from_crs(3857, M, always_xy=True).transform(mx.ravel(), my.ravel())
    return np.column_stack([x, y]), frames, heat["labels"]


def test_frame_differencing_attack_on_the_public_map(scenario, public_maps):
    manifest = json.loads((public_maps / "manifest.json").read_text())
    h, kernel = manifest["model"]["bandwidth_m"], manifest["model"]["kernel"]
    xy, frames, labels = _html_frames(public_maps / "map.html")
    assert labels == ["all", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07"]
    errors = _frame_attack(xy, frames, scenario["lone"], h, kernel)
    print(f"\nframe differencing, public map: {errors} (None = suppressed)")
    assert all(e is None or e >= MIN_M for e in errors)
    # the GeoTIFF is the all-period frame on the public grid: nothing near a lone incident that only it explains
    with __import__("rasterio").open(public_maps / "risk_surface.tif") as ds:
        assert ds.res == (2000.0, 2000.0)
    # control: the former frames (exact points, each frame suppressed on its own) give the lone incidents away
    t = scenario["table"]
    pts = gpd.GeoDataFrame(t, geometry=gpd.points_from_xy(t["x"], t["y"]), crs=M)
    model = routerisk.RiskModel.from_dict(manifest["model"])
    w, bw = _weights_bandwidths(pts, model)  # one weight per incident for every frame, as the maps do
    all_, transform, crs = risk_surface(pts, model=model, cell_m=1000.0, weights=w, bandwidths_m=bw, min_count=5)
    rows, cols = all_.shape
    extent = (transform.c, transform.f - rows * 1000.0, transform.c + cols * 1000.0, transform.f)
    month = (pts["date"].str[:7]).to_numpy()
    old = [all_] + [risk_surface(pts[month == m], model=model, cell_m=1000.0, extent=extent, crs=crs,
                                 weights=w[month == m], bandwidths_m=bw[month == m], min_count=5)[0]
                    for m in ("2023-03", "2023-07")]  # fmt: skip
    cx = transform.c + (np.arange(cols) + 0.5) * 1000.0
    cy = transform.f - (np.arange(rows) + 0.5) * 1000.0
    gx, gy = np.meshgrid(cx, cy)
    control = _frame_attack(np.column_stack([gx.ravel(), gy.ravel()]), [f.ravel() for f in old], scenario["lone"],
                            h, kernel)  # fmt: skip
    print(f"frame differencing, former frames: {control}")
    assert all(e is not None for e in control) and np.median(control) < MIN_M


def _segment_attack(seg_path, scenario, h, kernel):
    """The adversary knows every other record: fit the cluster (free amplitude) plus one lone incident."""
    seg = gpd.read_file(seg_path, layer="segments").to_crs(M)
    seg = seg[seg["incident_exposure"].notna()]
    geoms = seg.geometry.to_numpy()
    cluster = scenario["cluster"]
    errors = []
    g = np.arange(-6000.0, 6100.0, 100.0)
    for j, p in enumerate(scenario["lone"]):
        near = shapely.distance(geoms, shapely.points(*p)) < 25_000
        e = seg["incident_exposure"].to_numpy()[near]
        c = cluster[cluster["incident_id"].str.startswith(f"c{j}-")]
        kc = kernel_2d(shapely.distance(geoms[near][:, None], shapely.points(c["x"], c["y"])[None, :]), h, kernel)
        kc = kc.sum(1)
        cx, cy = np.meshgrid(p[0] + g, p[1] + g)
        cand = shapely.points(cx.ravel(), cy.ravel())
        kl = kernel_2d(shapely.distance(geoms[near][None, :], cand[:, None]), h, kernel)
        # two-term least squares (cluster amplitude, lone amplitude) for every candidate at once
        g11, g12, g22 = kc @ kc, kl @ kc, (kl * kl).sum(1)
        b1, b2 = kc @ e, kl @ e
        det = g11 * g22 - g12**2
        ok = det > 1e-12 * g11 * np.maximum(g22, 1e-300)
        explained = np.where(ok, (g22 * b1**2 - 2 * g12 * b1 * b2 + g11 * b2**2) / np.where(ok, det, 1.0), -np.inf)
        i = int(np.argmax(explained))
        err = float(np.hypot(cx.ravel()[i] - p[0], cy.ravel()[i] - p[1]))
        errors.append(err)
    return errors


def test_segment_fitting_attack_with_every_other_record_known(scenario, public_maps):
    manifest = json.loads((public_maps / "manifest.json").read_text())
    h, kernel = manifest["model"]["bandwidth_m"], manifest["model"]["kernel"]
    public = _segment_attack(public_maps / "segments.gpkg", scenario, h, kernel)
    internal_run = _score(scenario, scenario["tmp"] / "internal")
    internal = _segment_attack(internal_run / "segments.gpkg", scenario, h, kernel)
    print(f"\nsegment fit, public: {np.round(public)}; internal (exact points): {np.round(internal)}")
    assert np.median(internal) < 200.0  # the attack works on numbers computed from exact positions
    assert np.median(public) >= MIN_M


# --- 3. thresholds, dates, crashes -------------------------------------------------------------------------------


@pytest.mark.parametrize("k", ["1", "2"])
def test_min_count_below_three_refused_in_public_mode(scenario, k):
    out = scenario["tmp"] / f"mc{k}"
    res = _invoke("score", "--incidents", scenario["incidents"], "--routes", scenario["routes"], "--privacy",
                  "public", "--min-count", k, "--out", out)  # fmt: skip
    assert res.exit_code == 3, res.output
    assert "at least 3" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_public_dates_are_months(scenario, public_maps):
    days = set(scenario["table"]["date"])  # every exact date of the input
    pattern = re.compile("|".join(re.escape(d) for d in days).encode())
    for path in public_maps.iterdir():
        if path.suffix in (".gpkg", ".parquet", ".png", ".pdf", ".tif"):
            continue  # binary: read below
        assert not pattern.search(path.read_bytes()), path.name
    for path in public_maps.glob("*.gpkg"):
        for layer in gpd.list_layers(path)["name"]:  # every layer, QGIS's layer_styles included
            frame = gpd.read_file(path, layer=layer)
            text = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).to_csv()
            assert not pattern.search(text.encode()), (path.name, layer)
    with __import__("rasterio").open(public_maps / "risk_surface.tif") as ds:
        assert not pattern.search(json.dumps(ds.tags()).encode())
    manifest = json.loads((public_maps / "manifest.json").read_text())
    assert manifest["data"]["incident_dates"] == ["2023-03", "2023-07"]
    assert manifest["score"]["reference_date"] == "2023-07"
    assert set(gpd.read_file(public_maps / "incidents_geomasked.gpkg")["month"]) == {"2023-03", "2023-07"}


def test_public_run_with_sites(scenario, tmp_path):
    shelters = tmp_path / "shelters.geojson"
    routerisk.load_shelters().to_file(shelters, driver="GeoJSON")
    out = _score(scenario, tmp_path / "sites", "--privacy", "public", "--sites", "2", "--shelters", shelters)
    assert (out / "sites.csv").exists() and not (out / "incidents.gpkg").exists()


@pytest.mark.slow
def test_public_demo(tmp_path):
    res = _invoke("demo", "--privacy", "public", "--out", tmp_path / "demo")
    assert res.exit_code == 0, res.output
    names = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"routerisk_demo.html", "risk_surface.tif", "sites.csv"} <= names and "incidents.gpkg" not in names
    assert json.loads((tmp_path / "demo" / "manifest.json").read_text())["data"]["incident_dates"][0][4] == "-"
