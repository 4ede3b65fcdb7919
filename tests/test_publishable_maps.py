"""Maps a report author can publish: neighbouring countries, non-overlapping labels, credits, unclipped legends."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from shapely import LineString, Point

from routerisk.attribution import BASEMAP, SOURCES, attributions
from routerisk.maps import save_static, static_map
from routerisk.maps._basemap import _CHAR_DEG, _HEIGHT_DEG, BASE_ZOOM, MAX_LABEL_ZOOM, basemap_layers, label_zooms
from routerisk.maps._common import PLOT_CRS, class_ranges
from routerisk.maps._legend import footer_html


def _segments() -> gpd.GeoDataFrame:
    lines = [LineString([(-117.0, 32.5), (-115.5, 32.6)]), LineString([(-92.3, 14.9), (-93.9, 16.2)])]
    return gpd.GeoDataFrame({"segment_id": ["a", "b"], "risk": [10.0, 90.0], "risk_class": [1, 5]},
                            geometry=lines, crs=4326)  # fmt: skip


def test_neighbouring_countries_are_in_the_basemap():
    bounds, _ = basemap_layers()
    names = set(bounds.loc[bounds["kind"] == "country", "state_name"])
    assert {"United States of America", "Guatemala", "Belize"} <= names
    assert (bounds["kind"] == "state").sum() == 32


def test_print_map_draws_the_neighbours():
    fig = static_map(_segments())
    ax = fig.axes[0]
    fig.canvas.draw() if fig.canvas is not None else None
    # points in Texas, Guatemala and Belize, in the plot CRS: some drawn polygon contains each
    pts = gpd.GeoSeries([Point(-99.0, 31.0), Point(-90.5, 15.5), Point(-88.7, 17.2)], crs=4326).to_crs(PLOT_CRS)
    for p in pts:
        hit = any(path.contains_point((p.x, p.y)) for coll in ax.collections for path in coll.get_paths())
        assert hit, p


def test_tijuana_and_mexicali_labels_do_not_overlap():
    _, loc = basemap_layers()
    z = loc.set_index("name")["minzoom"]
    assert z["Tijuana"] == BASE_ZOOM and z["Mexicali"] > BASE_ZOOM  # Mexicali's label appears when zoomed in
    labelled = loc.loc[loc["label"], "name"].tolist()
    assert "Tijuana" in labelled and "Mexicali" not in labelled


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-118, -86), st.floats(14, 33), st.text("abcdefgh", min_size=1, max_size=20)),
                min_size=1, max_size=30))
def test_property_labels_never_overlap_at_any_zoom(items):
    lon = np.array([i[0] for i in items])
    lat = np.array([i[1] for i in items])
    names = [i[2] for i in items]
    z = label_zooms(lon, lat, names)
    width = (np.array([len(n) for n in names]) + 1.0) * _CHAR_DEG
    for zoom in range(BASE_ZOOM, MAX_LABEL_ZOOM + 1):
        s = 2.0 ** (BASE_ZOOM - zoom)
        shown = np.flatnonzero(z <= zoom)
        for a in shown:
            for b in shown:
                if a < b:
                    apart_x = lon[a] + width[a] * s <= lon[b] or lon[b] + width[b] * s <= lon[a]
                    assert apart_x or abs(lat[a] - lat[b]) >= _HEIGHT_DEG * s


def test_class_ranges_read_well():
    seg = pd.DataFrame({"risk": [1.0, 4.8, 5.02, 5.04, 5.3, 9.0], "risk_class": [1, 1, 2, 2, 3, 4]})
    ranges = class_ranges(seg)
    assert ranges == ["1.0–4.8", "4.8–5.0", "5.0–5.3", "5.3–9.0", "none"]  # one precision, contiguous
    # never "5–5": every non-empty class shows two different ends or one value
    for r in ranges:
        if "–" in r:
            lo, hi = r.split("–")
            assert lo != hi


def test_attributions_name_every_source(tmp_path):
    iom = tmp_path / "iom.csv"
    iom.write_text("Web ID,Cause of Death,Location Coordinates\n1,Drowning,\"25.9, -97.5\"\n")
    zones = gpd.GeoDataFrame({"kind": ["deployment", "deployment"], "state_code": ["07", "07"]},
                             geometry=[Point(0, 0).buffer(1)] * 2, crs=4326)  # fmt: skip
    credits = attributions(iom, zones)
    assert credits == [SOURCES["iom"], SOURCES["deployments"], BASEMAP]
    for word in ("IOM Missing Migrants Project", "FelipeSaNa", "GeoNames", "INEGI", "Natural Earth"):
        assert word in " ".join(credits)
    html = footer_html({"attribution": credits[:2]}, synthetic=False, privacy="public")
    assert html.index("IOM Missing Migrants") < html.index("<details>")  # visible, not folded away
    assert "GeoNames" in html


def test_static_legend_is_never_clipped(tmp_path):
    seg = _segments()
    fig = static_map(seg, title="A long title", source={"attribution": [SOURCES["iom"], SOURCES["deployments"]]})
    ax_texts = " ".join(t.get_text() for t in fig.texts)
    assert "IOM Missing Migrants Project" in ax_texts and "Natural Earth" in ax_texts
    path = save_static(fig, tmp_path / "m.png", dpi=60)
    with Image.open(path) as img:
        a = np.asarray(img.convert("L"), dtype="float64")
    # nothing is cut at the right or bottom edge: the last columns and rows are background
    assert a[:, -2:].min() > 200 and a[-2:, :].min() > 200
    legend = fig.legends[0]
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).x1 <= fig.get_tightbbox(renderer).x1 * fig.dpi + 1


@pytest.mark.parametrize("name", ["Tijuana", "Mexico City"])
def test_html_basemap_carries_label_zooms(name):
    from routerisk.maps._leaflet import basemap_layer

    bounds, loc = basemap_layers()
    data, code = basemap_layer(bounds, loc)
    i = data["name"].index(name)
    assert data["minzoom"][i] == BASE_ZOOM and "zoomend" in code
    assert "United States of America" in data["country"]
