"""Locality labels on the HTML map appear as it zooms in (headless Chromium, every non-file request blocked)."""

from __future__ import annotations

import pytest

from browser_utils import Page, launch, make_segments, require_browser
from routerisk.maps import heatmap, save_html

pytestmark = pytest.mark.browser

_COUNT = "document.querySelectorAll('.leaflet-tooltip.rr-label').length"
_MAP = "window[Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].getZoom)]"


def test_more_labels_when_zoomed_in(tmp_path):
    require_browser()
    from playwright.sync_api import sync_playwright

    save_html(heatmap(make_segments(), title="labels"), tmp_path / "m.html")
    with sync_playwright() as p:
        browser = launch(p)
        page = Page(browser)
        try:
            page.open(tmp_path / "m.html")
            page.page.evaluate(f"{_MAP}.setView([19.4, -99.1], 5, {{animate: false}})")
            page.page.wait_for_timeout(300)
            national = page.page.evaluate(_COUNT)
            page.page.evaluate(f"{_MAP}.setView([19.4, -99.1], 9, {{animate: false}})")
            page.page.wait_for_timeout(300)
            zoomed = page.page.evaluate(_COUNT)
            names = page.page.evaluate(
                "Array.from(document.querySelectorAll('.leaflet-tooltip.rr-label')).map(e => e.textContent)")
            assert 0 < national < zoomed, (national, zoomed)
            assert "Toluca" in " ".join(names) or len(names) > national  # towns near Mexico City get names
            assert page.errors == [] and page.blocked == []
        finally:
            page.close()
            browser.close()
