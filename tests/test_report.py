"""routerisk report: report.html (offline, live map), report.pdf (A4, every section), public mode, URL parameters."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pypdf
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

from browser_utils import PAYLOADS, Page, launch, require_browser
from routerisk import load_corridors, load_shelters, load_zones, synthetic_incidents
from routerisk.cli import cli
from routerisk.report import (
    REPORT_SECTIONS,
    embed_snippet,
    nearest_localities,
    pdf_text,
    riskiest_stretches,
    route_profiles,
)
from test_public_mode import SECRET, URL, _leaks, _public_vertices, _tree, html_coordinates

TITLE = "Report <img src=x onerror=document.title='pwned'> {{ 7*7 }} & co"
ROUTES = ["chiapas_coast", "isthmus"]
BOUNDS = "(() => { const b = window.routerisk.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), " \
         "b.getNorth()]; })()"  # fmt: skip


# ---------------------------------------------------------------- unit, hand-computed


def _line_segments():
    # two routes along the equator-ish latitude of Tapachula; 0.045 deg of longitude there is ~4.8 km
    rows = []
    for r, lat in (("a", 14.90541), ("b", 15.5)):
        for i in range(4):
            lon0 = -92.25891 - 0.045 + 0.045 * i
            rows.append({"segment_id": len(rows) + 1, "route_id": r, "name": f"route {r}", "start_m": i * 5000.0,
                         "end_m": (i + 1) * 5000.0, "risk": 10.0 * (len(rows) + 1), "risk_lo": 1.0, "risk_hi": 99.0,
                         "n_incidents": 10 + len(rows), "enforcement_exposure": 1.0 if i == 2 else 0.0,
                         "suppressed": False,
                         "geometry": LineString([(lon0 - 0.0225, lat), (lon0 + 0.0225, lat)])})  # fmt: skip
    return gpd.GeoDataFrame(rows, crs=4326)


def test_nearest_locality_of_a_point_at_tapachula_is_tapachula_at_zero_km():
    out = nearest_localities(gpd.GeoSeries([Point(-92.25891, 14.90541)], crs=4326))
    assert out.loc[0, "locality"] == "Tapachula" and out.loc[0, "locality_state"] == "Chiapas"
    assert out.loc[0, "locality_km"] == 0.0


def test_riskiest_stretches_order_top_and_suppressed_never_listed():
    seg = _line_segments()
    seg.loc[seg["segment_id"] == 8, ["suppressed", "risk"]] = [True, np.nan]  # the highest would be 80
    seg.loc[seg["segment_id"] == 7, "suppressed"] = True  # suppressed with a number left: still never listed
    t = riskiest_stretches(seg, top=3)
    assert t["segment_id"].tolist() == [6, 5, 4] and t["rank"].tolist() == [1, 2, 3]
    # segment 2 of route a has its midpoint on Tapachula (a 0.045 deg segment centred on it)
    t = riskiest_stretches(seg[seg["route_id"] == "a"], top=4)
    row = t[t["segment_id"] == 2].iloc[0]
    assert row["locality"] == "Tapachula" and row["locality_km"] == 0.0 and row["state"] == "Chiapas"
    assert (row["km_from"], row["km_to"]) == (5.0, 10.0)


def test_route_profile_marks_zones_shelters_and_sites_by_km():
    seg = _line_segments()
    seg.loc[seg["segment_id"] == 3, "risk"] = np.nan
    shelter = gpd.GeoSeries([Point(-92.25891, 14.90541 + 0.01)], crs=4326)  # 1.1 km off the middle of segment 2
    sites = pd.DataFrame({"lon": [-92.25891 + 0.045 - 0.01125], "lat": [14.90541]})  # a quarter into segment 3
    p = {x.route_id: x for x in route_profiles(seg, shelters=shelter, sites=sites)}
    a = p["a"]
    assert a.table["zone"].tolist() == [False, False, True, False]
    assert a.table["risk"].isna().tolist() == [False, False, True, False]
    assert a.shelters_km == [pytest.approx(7.5, abs=0.01)]
    assert a.sites_km == [pytest.approx(11.25, abs=0.05)]
    assert p["b"].shelters_km == []  # 66 km away: beyond the 15 km mark distance


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_pdf_text_is_shown_literally_by_reportlab(text):
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph

    para = Paragraph(pdf_text(text), getSampleStyleSheet()["BodyText"])
    printable = "".join(c for c in text if c in "\t\n\r" or unicodedata.category(c) != "Cc")
    assert " ".join(para.getPlainText().split()) == " ".join(printable.split())


def test_embed_snippet_has_a_fixed_aspect_ratio_and_escapes_its_source():
    s = embed_snippet(src='map.html#route="><script>alert(1)</script>')
    assert "padding-top:62.5%" in s and "<script>" not in s
    s = embed_snippet(srcdoc="<p onclick='x'>a & b</p>", ratio=(4, 3))
    assert 'srcdoc="&lt;p onclick=&#x27;x&#x27;&gt;a &amp; b&lt;/p&gt;"' in s and "padding-top:75%" in s
    with pytest.raises(ValueError):
        embed_snippet()


# ---------------------------------------------------------------- end to end


def _run(tmp, privacy, *, notes=False, maps=True):
    routes = load_corridors()
    routes = routes[routes["route_id"].isin(ROUTES)].copy()
    routes.loc[routes.index[0], "name"] = PAYLOADS[0] + " coast"
    routes.to_file(tmp / "routes.geojson", driver="GeoJSON")
    inc = synthetic_incidents(600, seed=5)
    table = inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y)
    if notes:
        table["notes"] = [f"{SECRET}-{i} <b>victim name</b>" for i in range(len(table))]
        table["source_url"] = [f"https://{URL}/{i}" for i in range(len(table))]
    table.to_csv(tmp / "incidents.csv", index=False)
    load_zones().to_file(tmp / "zones.geojson", driver="GeoJSON")
    load_shelters().to_file(tmp / "shelters.geojson", driver="GeoJSON")
    args = ["score", "--incidents", str(tmp / "incidents.csv"), "--routes", str(tmp / "routes.geojson"),
            "--zones", str(tmp / "zones.geojson"), "--shelters", str(tmp / "shelters.geojson"), "--sites", "2",
            "--privacy", privacy, "--out", str(tmp / "run")] + (["--maps"] if maps else [])  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return tmp / "run", inc


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _pdf_text(path):
    reader = pypdf.PdfReader(path)
    return reader, "\n".join(p.extract_text() for p in reader.pages)


@pytest.fixture(scope="module")
def internal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report_internal")
    run, _ = _run(tmp, "internal")
    before = _hashes(run)
    out = tmp / "report"
    res = CliRunner().invoke(cli, ["report", "--run", str(run), "--out", str(out), "--title", TITLE, "--top", "7"])
    assert res.exit_code == 0, res.output
    assert _hashes(run) == before  # the run folder is only read
    return run, out


@pytest.mark.slow
def test_report_files_manifest_and_sections(internal):
    run, out = internal
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.html", "report.pdf"]
    man = json.loads((out / "manifest.json").read_text())
    recorded = {r["path"].rsplit("/", 1)[-1]: r["sha256"] for r in man["inputs"]}
    assert recorded == _hashes(run)
    assert set(man["outputs"]) == {"report.html", "report.pdf"}
    doc = (out / "report.html").read_text(encoding="utf-8")
    for heading in (*REPORT_SECTIONS[:4], "Shelter coverage and proposed sites", "Methods", "Model parameters",
                    "Data sources", "Privacy", "Intervals", "Hot spots", "Limits"):
        assert f">{heading}</h" in doc, heading
    assert "<img src=x" not in doc.split("<iframe")[0] and "&lt;img src=x onerror=" in doc  # the title is data
    assert "{{ 7*7 }}" in doc  # never a template
    rows = re.findall(r"<tr><td>(\d+)</td>", doc)
    assert rows[:7] == [str(i) for i in range(1, 8)] and "<tr><td>8</td>" not in doc  # --top 7
    assert doc.count('src="data:image/png;base64,') >= 3  # profiles (2 routes) and the coverage curve
    assert re.search(r"<(?:script|img|link)[^>]*\s(?:src|href)=[\"']?(?!data:)[a-z]+:", doc) is None  # offline
    sha = man["inputs"][0]["sha256"]
    run_sha = json.loads((run / "manifest.json").read_text())["inputs"][0]["sha256"]
    assert sha and run_sha in doc  # the methods list the data sources' SHA-256


@pytest.mark.slow
def test_pdf_is_a4_with_every_section_and_300_dpi_figures(internal):
    _, out = internal
    reader, text = _pdf_text(out / "report.pdf")
    flat = " ".join(text.split())
    for heading in ("Interactive map", "Riskiest stretches", "Risk profiles along the routes",
                    "Shelter coverage and proposed sites", "Methods", "Model parameters", "Data sources",
                    "Intervals", "Hot spots", "Limits"):  # fmt: skip
        assert heading in flat, heading
    assert "<img src=x onerror=document.title='pwned'> {{ 7*7 }} & co" in flat  # shown literally
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4
        ops = page.get_contents().get_data()
        assert re.search(rb"\b(?:Tj|TJ|Do|re|l)\b", ops), "a page without drawing operators"
    figures = [img for page in reader.pages for img in page.images]
    widths = sorted(img.image.size[0] for img in figures)
    assert widths[-1] >= 7.2 * 300 - 2  # a profile: 7.2 in at 300 dpi
    if shutil.which("pdftoppm"):
        import subprocess

        from PIL import Image

        png = subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out / "report.pdf")],
                             capture_output=True, check=True).stdout  # fmt: skip
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype="float64")
        assert pixels.std() > 10  # not a blank page


@pytest.mark.slow
def test_refuses_an_out_inside_the_run_and_a_bad_top(internal, tmp_path):
    run, _ = internal
    before = _hashes(run)
    res = CliRunner().invoke(cli, ["report", "--run", str(run), "--out", str(run / "rep")])
    assert res.exit_code == 4 and "inside the input folder" in res.output
    res = CliRunner().invoke(cli, ["report", "--run", str(run), "--out", str(run)])
    assert res.exit_code == 4
    res = CliRunner().invoke(cli, ["report", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "Traceback" not in res.output and not (tmp_path / "o").exists()
    assert _hashes(run) == before


@pytest.mark.slow
def test_a_run_without_maps_gets_a_map_drawn_and_given_trends_and_change(internal, tmp_path):
    run, _ = internal
    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    for name in ("map.html", "map.png", "map.pdf"):
        (bare / name).unlink()
    seg = gpd.read_file(run / "segments.gpkg", layer="segments")
    tr = tmp_path / "trends"
    tr.mkdir()
    pd.DataFrame({"segment_id": seg["segment_id"], "pattern": ["new hot spot"] * 3 + ["no pattern detected"] *
                  (len(seg) - 3), "count_2020": 1, "count_2021": 2}).to_csv(tr / "trends.csv", index=False)
    ch = tmp_path / "change"
    ch.mkdir()
    pd.DataFrame({"segment_id": seg["segment_id"][:5], "rate_ratio": [2.0, 0.5, 1.0, 3.0, 1.5],
                  "rr_lo": 0.4, "rr_hi": 6.0, "p_adjusted": [0.01, 0.2, 1, 0.04, 0.5]}).to_csv(ch / "change.csv",
                                                                                                 index=False)
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["report", "--run", str(bare), "--out", str(out), "--trends", str(tr),
                                   "--change", str(ch), "--no-pdf"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = (out / "report.html").read_text(encoding="utf-8")
    assert "srcdoc=" in doc and "data-routerisk-ready" in doc
    assert ">Trends over time</h2>" in doc and ">Change between two periods</h2>" in doc
    man = json.loads((out / "manifest.json").read_text())
    assert {r["role"] for r in man["inputs"]} == {"run", "trends", "change"}


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report_public")
    run, inc = _run(tmp, "public", notes=True)
    out = tmp / "report"
    res = CliRunner().invoke(cli, ["report", "--run", str(run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return run, out, inc


@pytest.mark.slow
def test_public_report_passes_the_leak_test(public):
    run, out, inc = public
    doc = (out / "report.html").read_text(encoding="utf-8")
    _, text = _pdf_text(out / "report.pdf")
    for blob in (doc, text, (out / "manifest.json").read_text()):
        assert SECRET not in blob and URL not in blob and "victim name" not in blob
    inc_tree, pub_tree = _tree(shapely.get_coordinates(inc.geometry.to_numpy())), _public_vertices(run)
    coords = html_coordinates(doc)
    assert len(coords) > 500  # the detector sees the embedded map's geometry
    leaks = _leaks(coords, inc_tree, pub_tree)
    assert not len(leaks), leaks[:5]
    # no suppressed number: every listed stretch is supported by at least min_count incidents
    seg = gpd.read_file(run / "segments.gpkg", layer="segments")
    table = riskiest_stretches(seg, top=len(seg))
    assert len(table) and (table["n_incidents"] >= 5).all()
    assert len(table) == int((~seg["suppressed"]).sum())
    assert "public mode" in text and 'content="public"' in doc


@pytest.mark.slow
def test_public_report_refuses_an_internal_trends_table(public, tmp_path):
    run, _, _ = public
    tr = tmp_path / "trends"
    tr.mkdir()
    pd.DataFrame({"segment_id": [1], "pattern": ["x"]}).to_csv(tr / "trends.csv", index=False)
    (tr / "manifest.json").write_text(json.dumps({"manifest_version": 1, "inputs": [],
                                                  "privacy": {"mode": "internal"}}))  # fmt: skip
    res = CliRunner().invoke(cli, ["report", "--run", str(run), "--out", str(tmp_path / "o"), "--trends", str(tr)])
    assert res.exit_code != 0 and "public report takes only public tables" in res.output
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_offline_with_a_live_map(browser, internal):
    from PIL import Image

    _, out = internal
    page = Page(browser)
    try:
        page.open(out / "report.html")
        frame = page.page.frame_locator("iframe")
        frame.locator("html[data-routerisk-ready]").wait_for(state="attached", timeout=60_000)
        assert frame.locator(".leaflet-container").count() == 1
        n = frame.locator("path.rr-segment").count()
        assert n > 100
        box = frame.locator("label", has_text="Route segments by risk class").locator("input")
        box.uncheck()
        assert frame.locator("path.rr-segment").count() == 0  # the layer control works
        box.check()
        assert frame.locator("path.rr-segment").count() == n
        assert page.errors == [] and page.failed == [] and page.blocked == []
        assert page.page.title().startswith("Report <img")  # the title shown literally
        assert page.page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        png = page.page.screenshot()
        assert np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype="float64").std() > 10
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_url_parameters_select_the_period_and_the_route(browser, internal):
    run, _ = internal
    page = Page(browser)
    try:
        page.open(run / "map.html")
        labels = page.page.evaluate("window.routerisk.periods")
        d = page.page.evaluate(BOUNDS)
        assert len(labels) > 2 and page.page.evaluate("window.routerisk.selected") == {"period": None, "route": None}
        page.page.goto((run / "map.html").resolve().as_uri() + f"#period={labels[2]}&route=isthmus")
        page.page.wait_for_selector("html[data-routerisk-ready]", state="attached", timeout=60_000)
        sel = page.page.evaluate("window.routerisk.selected")
        assert sel == {"period": labels[2], "route": "isthmus"}
        assert page.page.locator("#rr-time").input_value() == "2"
        assert page.page.locator("#rr-time-label").inner_text() == labels[2]
        b = page.page.evaluate(BOUNDS)
        seg = gpd.read_file(run / "segments.gpkg", layer="segments")
        rb = seg[seg["route_id"] == "isthmus"].total_bounds
        assert b[0] <= rb[0] and b[1] <= rb[1] and b[2] >= rb[2] and b[3] >= rb[3]  # the route is in view
        # centred on it: closer to the route's centre than the view of the whole network is
        rc = np.array([(rb[0] + rb[2]) / 2, (rb[1] + rb[3]) / 2])
        assert np.hypot(*(np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) - rc)) < np.hypot(
            *(np.array([(d[0] + d[2]) / 2, (d[1] + d[3]) / 2]) - rc))  # fmt: skip
        # hostile values: compared, never inserted; unknown ones change nothing
        hostile = "%3Cimg%20src%3Dx%20onerror%3Ddocument.title%3D'pwned'%3E"
        page.page.goto((run / "map.html").resolve().as_uri() + f"?route={hostile}#period={hostile}")
        page.page.wait_for_selector("html[data-routerisk-ready]", state="attached", timeout=60_000)
        assert page.page.evaluate("window.routerisk.selected") == {"period": None, "route": None}
        assert page.page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert "pwned" not in page.page.title()
        # a route name with markup is matched literally (the first route's name holds a payload)
        name = PAYLOADS[0] + " coast"
        page.page.evaluate(f"window.routerisk.showRoute({json.dumps(name)})")
        assert page.page.evaluate("window.routerisk.selected.route") is not None
        assert page.errors == [] and page.blocked == []
    finally:
        page.close()
