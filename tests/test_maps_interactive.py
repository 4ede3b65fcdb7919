"""The interactive map without a browser: self-contained HTML, escaping, privacy modes, time frames."""

from __future__ import annotations

import re

import folium
import numpy as np
import pandas as pd
import pytest

from browser_utils import PAYLOADS, make_incidents, make_segments, make_shelters, make_zones
from routerisk import maps
from routerisk._errors import ConfigError, InputError, OutputError
from routerisk.maps import _legend, escape_text, heatmap, save_html
from routerisk.maps._escape import js_json
from routerisk.maps._frames import period_index


@pytest.fixture(scope="module")
def internal_html(tmp_path_factory):
    path = tmp_path_factory.mktemp("maps") / "m.html"
    m = heatmap(
        make_segments(), incidents=make_incidents(), zones=make_zones(), shelters=make_shelters(),
        provenance={"inputs": ["a.csv"], "dates": "2024-01-01 to 2024-12-26"},
    )
    save_html(m, path)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_text_leaves_no_active_character(payload):
    out = escape_text(payload)
    assert not set(out) & set("<>\"'`$\\")
    assert "&lt;" in out or "&#" in out


def test_escape_text_none_and_nan():
    assert escape_text(None) == "" and escape_text(float("nan")) == ""
    assert escape_text(3) == "3"


def test_js_json_cannot_close_a_script():
    assert "</" not in js_json({"a": "</script><!--"}) and "<" not in js_json(["<"])


def test_html_is_self_contained(internal_html):
    doc = internal_html
    assert not re.search(r"<script[^>]*\ssrc=", doc)
    # inline scripts and the layers' JSON data blocks
    blocks = r"<script(?: type=\"application/json\" id=\"[a-z0-9_]+-data\")?>.*?</script>"
    markup = re.sub(blocks, "", doc, flags=re.DOTALL)
    assert not re.search(r"<link\b", markup) and not re.search(r"\ssrc=", markup)
    assert "cdn." not in doc and "cdnjs" not in doc and "bootstrap" not in doc.lower()
    assert "<script" not in markup  # every script block ends where it should
    assert "Leaflet 1.9.3" in doc or '"1.9.3"' in doc
    assert "url(images/" not in doc
    assert "L.Icon.Default.mergeOptions" in doc
    assert "d3.js" not in doc and "d3.min" not in doc


def test_html_holds_no_raw_payload(internal_html):
    doc = internal_html
    for payload in PAYLOADS:
        assert payload not in doc
    assert "<img src=x" not in doc and "\\u003cimg" not in doc
    assert "${document" not in doc and "`tick" not in doc
    assert "\\u0026lt;img src=x onerror=document.title=\\u0026#x27;pwned" in doc


def test_layers_and_controls_present(internal_html):
    for name in ("Offline basemap", "Incident heat", "Route segments", "Enforcement zones", "Shelters", "Incidents"):
        assert name in internal_html
    for key in ("rr-legend", "rr-time", "rr-footer", "rr-title", "internal map", "L.control.scale", "Synthetic"):
        assert key in internal_html
    assert "L.heatLayer" in internal_html and "markerClusterGroup" in internal_html


def test_folium_class_state_untouched(internal_html):
    assert folium.Map.default_js and folium.Map.default_js[0][1].startswith("https://")


def test_public_mode_has_no_points_or_notes():
    inc = make_incidents()
    inc.loc[10, "notes"] = "secret witness statement"
    segs = make_segments()
    doc = heatmap(segs, incidents=inc, privacy="public", min_count=5).get_root().render()
    assert "public map" in doc
    assert "secret witness" not in doc and "inc-1" not in doc
    assert "markerClusterGroup(" not in doc and "L.heatLayer(" not in doc
    assert "data:image/png;base64," in doc
    for lon, lat in zip(inc.geometry.x[:50], inc.geometry.y[:50], strict=True):
        assert f"{lat:.4f}" not in doc or f"{lon:.4f}" not in doc
    # segments with fewer than min_count incidents carry class 0 and no numbers
    data = re.search(r'"k":\[([0-9,]+)\]', doc).group(1).split(",")
    assert data.count("0") == int((segs["n_incidents"] < 5).sum())


def test_many_incidents_use_surface_images():
    inc = make_incidents(300)
    doc = heatmap(make_segments(), incidents=inc, point_limit=100, time_step="month").get_root().render()
    assert "L.imageOverlay(" in doc and "L.heatLayer(" not in doc
    assert doc.count("data:image/png;base64,") >= 13  # "all" + 12 months


def test_surface_only_heat():
    from routerisk.surface import risk_surface

    surf = risk_surface(make_incidents().to_crs(6372), cell_m=2000, bandwidths_m=np.full(400, 8000.0))
    doc = heatmap(make_segments(), surface=surf).get_root().render()
    assert "L.imageOverlay(" in doc


def test_period_index_by_month_and_year():
    idx, labels = period_index(pd.to_datetime(["2020-01-05", None, "2024-03-01"]))
    assert labels == ["all", "2020", "2021", "2022", "2023", "2024"] and idx.tolist() == [1, 0, 5]
    idx, labels = period_index(pd.to_datetime(["2020-01-05", "2020-03-01"]), "month")
    assert labels == ["all", "2020-01", "2020-02", "2020-03"] and idx.tolist() == [1, 3]
    assert period_index(pd.Series([pd.NaT]))[1] == ["all"]
    with pytest.raises(ValueError, match="time_step"):
        period_index([], "week")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"privacy": "open"}, "privacy"), ({"min_count": 0}, "min_count"), ({"time_step": "day"}, "time_step")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        heatmap(make_segments(), **kwargs)


def test_segments_must_be_geodataframe():
    with pytest.raises(InputError, match="segments"):
        heatmap(pd.DataFrame({"a": [1]}))


def test_save_html_embed_and_suffix(tmp_path):
    m = heatmap(make_segments())
    written = save_html(m, tmp_path / "map.html", embed_snippet=True)
    snippet = written[1].read_text()
    assert snippet.startswith("<iframe") and "srcdoc=" in snippet
    assert "<script" not in snippet  # the whole document is an escaped attribute
    with pytest.raises(OutputError, match=r"\.html"):
        save_html(m, tmp_path / "map.png")


def test_legend_has_fixed_documented_scale():
    html = _legend.legend_html(heat_min=0, heat_max=12.5, heat_units="weighted incidents per km²", suppressed=True)
    assert ">0<" in html and ">12.5<" in html and "suppressed" in html


def test_public_names():
    import routerisk

    assert routerisk.heatmap is heatmap and routerisk.save_html is save_html
    assert routerisk.static_map is maps.static_map and callable(routerisk.risk_surface)
    with pytest.raises(AttributeError, match="no attribute"):
        _ = routerisk.not_a_name


def test_multiline_segments_and_unplaced_incidents():
    from shapely import MultiLineString

    segs = make_segments().iloc[:2].copy()
    segs.loc[segs.index[0], "geometry"] = MultiLineString([[(-99, 19), (-98.9, 19)], [(-98.8, 19), (-98.7, 19.1)]])
    inc = make_incidents(20).assign(location_precision="state")
    for privacy in ("internal", "public"):
        doc = heatmap(segs, incidents=inc, privacy=privacy).get_root().render()
        assert "[[[19.0,-99.0],[19.0,-98.9]],[[19.0,-98.8],[19.1,-98.7]]]" in doc
        assert "L.heatLayer(" not in doc and "L.imageOverlay(" not in doc and "Incident heat" not in doc


def test_public_map_moves_sensitive_shelters():
    shelters = make_shelters()
    doc = heatmap(make_segments(), shelters=shelters, privacy="public").get_root().render()
    sensitive = shelters.geometry.iloc[0]
    assert f"{sensitive.y:.5f}" not in doc and "shelter (Puebla)" in doc
    doc = heatmap(make_segments(), shelters=shelters).get_root().render()
    assert f"{sensitive.y:.2f}" in doc
