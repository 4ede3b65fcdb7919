"""Static print maps and the run-folder helpers (publishable shelters, write_run_maps)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from PIL import Image

from browser_utils import make_incidents, make_segments, make_shelters, make_zones
from routerisk._errors import ConfigError, InputError, OutputError
from routerisk.maps.outputs import provenance_of, write_run_maps
from routerisk.maps.static import save_static, static_map
from routerisk.privacy import publishable_shelters


@pytest.fixture(scope="module")
def figure():
    return static_map(
        make_segments(), incidents=make_incidents(), zones=make_zones(), shelters=make_shelters(),
        source={"inputs": "synthetic"},
    )


def _texts(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    return "\n".join(out)


def test_static_map_elements(figure):
    text = _texts(figure)
    for needle in ("internal map", "SYNTHETIC / ILLUSTRATIVE", "Source: inputs: synthetic", "km", "N",
                   "5 highest", "enforcement zone", "asylum office", "Segment risk class"):
        assert needle in text
    assert len(figure.axes) == 2  # map + heat colour bar


def test_png_is_300_dpi_and_not_blank(figure, tmp_path):
    path = save_static(figure, tmp_path / "m.png")
    with Image.open(path) as img:
        assert round(img.info["dpi"][0]) == 300
        assert 2400 <= img.size[0] <= 3600  # 10 in at 300 dpi, trimmed or grown to hold the legend (bbox tight)
        assert np.asarray(img.convert("L"), dtype="float64").std() > 10


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_vector_formats(figure, tmp_path, fmt):
    path = save_static(figure, tmp_path / f"m.{fmt}")
    head = path.read_bytes()[:200]
    assert (b"%PDF" in head) if fmt == "pdf" else (b"<svg" in path.read_bytes()[:2000])


def test_bad_format_and_privacy(figure, tmp_path):
    with pytest.raises(OutputError, match="format"):
        save_static(figure, tmp_path / "m.jpg")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="privacy"):
        static_map(make_segments(), privacy="secret")
    with pytest.raises(InputError, match="segments"):
        static_map(None)


def test_public_static_greys_small_segments():
    fig = static_map(make_segments(), incidents=make_incidents(), privacy="public", synthetic=False)
    text = _texts(fig)
    assert "public map" in text and "suppressed (< 5 incidents)" in text and "SYNTHETIC" not in text
    assert not fig.axes[0].collections or all(c.get_offsets().shape[0] < 100 for c in fig.axes[0].collections)


def test_publishable_shelters_moves_sensitive_to_locality():
    shelters = make_shelters()
    pub = publishable_shelters(shelters, "public")
    assert len(pub) == 3
    moved = pub.iloc[0]
    assert moved["name"] == "shelter (Puebla)"
    assert moved.geometry.distance(shelters.geometry.iloc[0]) > 0.01
    assert pub.iloc[1]["name"] == shelters.iloc[1]["name"]  # not sensitive: unchanged
    unknown = shelters.assign(locality="Nowhere-on-earth", sensitive=True)
    assert len(publishable_shelters(unknown, "public")) == 0
    assert publishable_shelters(shelters, "internal").equals(shelters)


def test_write_run_maps_public(tmp_path):
    inc = make_incidents()
    written = write_run_maps(
        tmp_path, segments=make_segments(), incidents=inc, zones=make_zones(), shelters=make_shelters(),
        privacy="public", min_count=5, formats=("html", "png"), embed=True,
    )
    names = sorted(p.name for p in written)
    assert names == ["map.embed.html", "map.html", "map.png", "risk_surface.qml", "risk_surface.tif"]
    doc = (tmp_path / "map.html").read_text()
    assert "public map" in doc and "inc-1" not in doc
    sensitive = make_shelters().geometry.iloc[0]
    assert f"{sensitive.y:.5f}" not in doc
    with rasterio.open(tmp_path / "risk_surface.tif") as ds:
        assert ds.tags()["privacy"] == "public"
        data = ds.read(1, masked=True)
        assert data.mask.any() and data.count() > 0


def test_provenance_from_manifest():
    prov = provenance_of(manifest={"inputs": [{"role": "incidents", "path": "/x/a.csv"}],
                                   "data": {"incident_dates": ["2024-01-01", "2024-12-01"]},
                                   "model": {"bandwidth_m": 1000, "kernel": "quartic"}})
    assert prov["inputs"] == ["incidents: a.csv"] and prov["date range"] == "2024-01-01 to 2024-12-01"
    assert prov["model"] == {"bandwidth_m": 1000, "kernel": "quartic"}
