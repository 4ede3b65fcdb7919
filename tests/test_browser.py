"""The interactive map in headless Chromium, with every non-file request blocked."""

from __future__ import annotations

import io

import numpy as np
import pytest

from browser_utils import (
    PAYLOADS,
    Page,
    launch,
    make_incidents,
    make_segments,
    make_shelters,
    make_zones,
    require_browser,
)
from routerisk.maps import heatmap, save_html

pytestmark = pytest.mark.browser
TITLE = "Browser test map"


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def maps_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    segments = make_segments()
    internal = heatmap(
        segments, incidents=make_incidents(), zones=make_zones(), shelters=make_shelters(), title=TITLE,
        provenance={"inputs": ["synthetic"], "date range": "2024"},
    )
    save_html(internal, out / "internal.html", embed_snippet=True)
    public = heatmap(segments, incidents=make_incidents(), privacy="public", title=TITLE, time_step="month")
    save_html(public, out / "public.html")
    return out


@pytest.fixture(scope="module")
def internal(browser, maps_dir):
    page = Page(browser)
    page.open(maps_dir / "internal.html")
    yield page
    page.close()


def test_loads_offline_without_errors(internal):
    assert internal.failed == []
    assert internal.errors == []
    assert internal.blocked == []


def test_structure(internal):
    p = internal.page
    assert p.locator(".leaflet-container").count() == 1
    assert p.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert p.locator("path.rr-segment").count() == len(make_segments())
    assert p.locator(".rr-legend").is_visible()
    assert p.locator(".leaflet-control-layers").is_visible()
    assert p.locator("#rr-time").is_visible()
    assert p.locator(".leaflet-control-scale").count() == 1
    assert p.locator(".rr-fs").count() == 1
    assert "internal map" in p.locator(".rr-title").inner_text()
    assert "Synthetic" in p.locator(".rr-footer").inner_text()
    labels = p.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("Route segments" in t for t in labels) and any("Incident heat" in t for t in labels)


def test_hover_shows_escaped_tooltip(internal):
    p = internal.page
    x, y = p.evaluate(
        """() => { const el = document.querySelectorAll('path.rr-segment')[8];
        const pt = el.getPointAtLength(el.getTotalLength() / 2).matrixTransform(el.getScreenCTM());
        return [pt.x, pt.y]; }"""
    )
    p.mouse.move(x - 5, y - 5)
    p.mouse.move(x, y, steps=3)
    tip = p.locator(".leaflet-tooltip.rr-tip-segment")
    tip.wait_for(timeout=15_000)
    text = tip.inner_text()
    assert "km" in text and "risk" in text and "hot spot" in text and "evidence: moderate" in text
    assert PAYLOADS[1] + " route 1" in text  # shown literally, not executed
    assert p.title().startswith(TITLE)


def _heat_pixels(page) -> bytes:
    # Leaflet.heat redraws on the next animation frame: wait for two frames before reading the canvas
    return page.evaluate(
        """() => new Promise(res => requestAnimationFrame(() => requestAnimationFrame(() =>
            res(document.querySelector('canvas.leaflet-heatmap-layer').toDataURL('image/png')))))"""
    )


def test_slider_changes_heat(internal):
    p = internal.page
    before = _heat_pixels(p)
    slider = p.locator("#rr-time")
    slider.focus()
    for _ in range(3):
        p.keyboard.press("ArrowRight")
    assert p.locator("#rr-time-label").inner_text() == "2024-03"
    after = _heat_pixels(p)
    assert before != after
    p.keyboard.press("Home")
    assert p.locator("#rr-time-label").inner_text() == "all"
    assert _heat_pixels(p) == before


def test_payloads_do_not_execute_and_show_literally(browser, maps_dir):
    page = Page(browser)  # its own page: it zooms and opens layers
    page.open(maps_dir / "internal.html")
    p = page.page
    texts = p.evaluate(
        """async () => {
        const rr = window.routerisk;
        const out = [];
        const shelters = rr.layers['Shelters and asylum offices'];
        shelters.eachLayer(l => { l.openTooltip(); out.push(l.getTooltip().getElement().innerText); });
        const g = rr.layers['Incidents (individual records)'];
        rr.map.addLayer(g);
        const ms = g.getLayers().filter(m => /<b>inc-[0-5]<[/]b>/.test(m.getPopup().getContent()));
        for (const m of ms) {
            await new Promise(res => g.zoomToShowLayer(m, res));
            m.openPopup();
            out.push(m.getPopup().getElement().innerText);
        }
        return out;
    }"""
    )
    joined = "\n".join(texts)
    for payload in PAYLOADS:
        assert payload in joined
    assert p.title().startswith(TITLE)
    assert p.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.errors == [] and page.failed == []
    page.close()


def test_screenshot_is_not_blank(internal):
    from PIL import Image

    png = internal.page.screenshot()
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype="float64")
    assert pixels.std() > 10


def test_public_map_uses_surface_images(browser, maps_dir):
    page = Page(browser)
    try:
        page.open(maps_dir / "public.html")
        p = page.page
        assert page.errors == [] and page.failed == []
        img = p.locator("img.rr-heat-image")
        assert img.count() == 1
        src0 = img.get_attribute("src")
        p.evaluate("window.routerisk.setPeriod(2)")
        assert img.get_attribute("src") != src0
        assert p.locator("canvas.leaflet-heatmap-layer").count() == 0
        assert "public map" in p.locator(".rr-title").inner_text()
        assert p.locator(".leaflet-marker-icon").count() == 0
    finally:
        page.close()


def test_embed_snippet_renders_in_iframe(browser, maps_dir):
    page = Page(browser)
    try:
        snippet = maps_dir / "internal.embed.html"
        page.page.goto(snippet.resolve().as_uri())
        frame = page.page.frame_locator("iframe")
        frame.locator("html[data-routerisk-ready]").wait_for(state="attached", timeout=60_000)
        assert frame.locator("path.rr-segment").count() == len(make_segments())
        assert page.errors == [] and page.failed == [] and page.blocked == []
    finally:
        page.close()


def test_a_registered_layer_shows_in_the_rendered_layer_control(browser, tmp_path):
    """The map-layer walk in the browser: one register_layer call, and Leaflet's control lists and toggles it."""
    from routerisk.maps import LAYERS, MapLayer, register_layer
    from routerisk.maps.layers import Leaflet

    label = "Checkpoints <i>{{ 7*7 }}</i>"
    code = """
  var g = L.featureGroup([]);
  for (var i = 0; i < D.lat.length; i++)
    L.circleMarker([D.lat[i], D.lon[i]], {radius: 4, className: 'rr-checkpoint'}).addTo(g);
  return g;
"""
    saved = dict(LAYERS)
    register_layer(MapLayer("checkpoints", label, lambda d: Leaflet({"lat": [17.0, 17.2], "lon": [-94.0, -94.1]}, code),
                            lambda ax, d: []))
    try:
        save_html(heatmap(make_segments(), title=TITLE), tmp_path / "m.html")
    finally:
        LAYERS.clear()
        LAYERS.update(saved)
    page = Page(browser)
    try:
        page.open(tmp_path / "m.html")
        assert page.errors == [] and page.blocked == []
        labels = [t.strip() for t in page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
        assert labels[-1] == label  # shown literally: no markup, no template evaluation
        assert page.page.locator("path.rr-checkpoint").count() == 2
        page.page.locator(".leaflet-control-layers-overlays label").last.locator("input").uncheck()
        assert page.page.locator("path.rr-checkpoint").count() == 0
    finally:
        page.close()
