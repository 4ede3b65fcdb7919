"""Hand-made map inputs (with XSS payloads) and a headless Chromium helper for the map tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point, box

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PAYLOADS = (
    "<img src=x onerror=document.title='pwned'>",
    "</script><script>document.title='pwned'</script>",
    "${document.title='pwned'}",
    "back\\slash",
    "back`tick",
    "<i>{{ 7*7 }}</i> {# {% if %}",  # template syntax: shown as typed, never evaluated (tests/test_attack_text.py)
)


def make_segments(n_routes: int = 2, per_route: int = 6) -> gpd.GeoDataFrame:
    """Scored segments along straight routes in central Mexico; route names hold XSS payloads."""
    rows = []
    sid = 0
    for r in range(n_routes):
        lat = 19.0 + 0.6 * r
        for s in range(per_route):
            lon0 = -99.2 + 0.25 * s
            sid += 1
            rows.append(
                {
                    "segment_id": sid,
                    "route_id": f"r{r}",
                    "seq": s,
                    "start_m": s * 25_000.0,
                    "end_m": (s + 1) * 25_000.0,
                    "length_m": 25_000.0,
                    "name": PAYLOADS[r % len(PAYLOADS)] + f" route {r}",
                    "mode": "road",
                    "state_name": "Puebla",
                    "incident_exposure": float(s),
                    "incident_density": float(s) / 25,
                    "n_incidents": s * 2,
                    "enforcement_exposure": 0.1,
                    "risk": 10.0 + 15 * s,
                    "risk_class": min(5, 1 + s),
                    "risk_lo": 5.0 + 15 * s,
                    "risk_hi": 15.0 + 15 * s,
                    "evidence": "moderate",
                    "hotspot": "hot 95%" if s == per_route - 1 else "not significant",
                    "p_value": 0.5,
                    "geometry": LineString([(lon0, lat), (lon0 + 0.25, lat + 0.02)]),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def make_incidents(n: int = 400, seed: int = 1) -> gpd.GeoDataFrame:
    """Synthetic incidents near the segments over 2024; the first ones carry the XSS payloads in notes."""
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    notes = np.array([""] * n, dtype=object)
    notes[: len(PAYLOADS)] = PAYLOADS
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"inc-{i}" for i in range(n)],
            "date": dates,
            "date_precision": "day",
            "category": rng.choice(["homicide", "robbery", "extortion"], n),
            "perpetrator": "unknown",
            "victims": rng.integers(1, 4, n),
            "severity": rng.uniform(0.3, 1.5, n),
            "location_precision": "exact",
            "source": "test",
            "source_url": "",
            "notes": notes,
            "synthetic": True,
        },
        geometry=[Point(x, y) for x, y in zip(rng.uniform(-99.2, -97.7, n), rng.uniform(18.9, 19.7, n), strict=True)],
        crs="EPSG:4326",
    )


def make_zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "zone_id": ["z1"],
            "name": [PAYLOADS[0] + " checkpoint"],
            "agency": ["guardia_nacional"],
            "kind": ["checkpoint"],
            "start_date": [pd.Timestamp("2024-01-01")],
            "end_date": [pd.NaT],
            "intensity": [1.0],
            "illustrative": [True],
        },
        geometry=[box(-98.6, 19.0, -98.4, 19.3)],
        crs="EPSG:4326",
    )


def make_shelters() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "shelter_id": ["s1", "s2", "s3"],
            "name": [PAYLOADS[1], PAYLOADS[2] + " office", PAYLOADS[3] + PAYLOADS[4]],
            "kind": ["shelter", "asylum_office", "shelter"],
            "locality": ["Puebla", "Tlaxcala", "Puebla"],
            "state": ["Puebla", "Tlaxcala", "Puebla"],
            "sensitive": [True, False, False],
            "illustrative": [True, True, True],
        },
        geometry=[Point(-98.2, 19.04), Point(-98.24, 19.32), Point(-98.1, 19.1)],
        crs="EPSG:4326",
    )


def browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def require_browser() -> None:
    """Skip when no browser exists, unless ``ROUTERISK_REQUIRE_BROWSER=1`` turns the skip into a failure."""
    if browser_available():
        return
    msg = f"headless Chromium not available (expected {CHROMIUM} and the playwright package)"
    if os.environ.get("ROUTERISK_REQUIRE_BROWSER") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


class Page:
    """A page with every non-file request aborted, and counters of failed requests and console errors."""

    def __init__(self, browser, width: int = 1200, height: int = 800) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: Path, timeout_ms: int = 60_000) -> None:
        self.page.goto(Path(path).resolve().as_uri())
        self.page.wait_for_selector("html[data-routerisk-ready]", state="attached", timeout=timeout_ms)

    def close(self) -> None:
        self.page.close()


def launch(playwright):
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    return playwright.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
