"""The map-layer registry (routerisk.maps.layers): one record per layer, drawn by both renderers.

The map-layer walk: a layer registered in ONE place (:func:`routerisk.maps.register_layer`) appears in the HTML
layer control, is drawn on the print map with its legend key, and is a choice of ``routerisk map --layers``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from browser_utils import make_incidents, make_segments, make_shelters, make_zones
from routerisk._errors import ConfigError
from routerisk.cli import cli
from routerisk.maps import (
    LAYERS,
    MapLayer,
    escape_text,
    heatmap,
    register_layer,
    save_html,
    select_layers,
    static_map,
    write_run_maps,
)
from routerisk.maps.layers import Leaflet, layer_names
from test_maps_cli import _run_folder

LABEL = "Checkpoints <b>{{ 7*7 }}</b>"  # hostile label: must stay text in the control, never markup or template


def _midpoints(frame):
    return shapely.get_coordinates(shapely.line_interpolate_point(frame.geometry.to_numpy(), 0.5, normalized=True))


def _checkpoints_folium(d):
    xy = _midpoints(d.segments.to_crs(4326))
    data = {"lat": np.round(xy[:, 1], 5).tolist(), "lon": np.round(xy[:, 0], 5).tolist()}
    code = """
  var g = L.featureGroup([]);
  for (var i = 0; i < D.lat.length; i++) L.circleMarker([D.lat[i], D.lon[i]], {radius: 3}).addTo(g);
  return g;
"""
    return Leaflet(data, code)


def _checkpoints_mpl(ax, d):
    from matplotlib.lines import Line2D

    xy = _midpoints(d.segments.to_crs("EPSG:6372"))
    ax.scatter(xy[:, 0], xy[:, 1], s=12, c="#ff00ff", zorder=16, gid="rr-checkpoints")
    return [Line2D([], [], marker="o", color="none", markerfacecolor="#ff00ff", label=LABEL)]


@pytest.fixture
def checkpoints():
    """A new layer, registered in one place (and removed afterwards)."""
    saved = dict(LAYERS)
    layer = register_layer(MapLayer("checkpoints", LABEL, _checkpoints_folium, _checkpoints_mpl))
    yield layer
    LAYERS.clear()
    LAYERS.update(saved)


def _controls(html: str) -> dict:
    """The JSON data block the page's script builds the layer control from."""
    for block in re.findall(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', html, flags=re.S):
        doc = json.loads(block)
        if isinstance(doc, dict) and "control" in doc:
            return doc
    raise AssertionError("no controls block in the HTML")


def _legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_the_default_registry():
    assert layer_names() == ("heat", "zones", "segments", "shelters", "gaps", "sites", "detention", "access",
                             "incidents")
    assert [k for k, v in LAYERS.items() if not v.public] == ["incidents"]
    assert not LAYERS["incidents"].show and LAYERS["incidents"].assets == ("markercluster",)


def test_a_registered_layer_appears_in_the_html_control_and_on_the_print_map(checkpoints, tmp_path):
    seg = make_segments()
    html = save_html(heatmap(seg, web_tiles=False), tmp_path / "m.html")[0].read_text(encoding="utf-8")
    controls = _controls(html)
    labels = [label for label, _ in controls["control"]]
    assert escape_text(LABEL) in labels  # escaped, as every label
    assert labels[-1] == escape_text(LABEL)  # registered last: drawn last
    assert LABEL not in html  # the raw label (markup, template braces) never reaches the page
    var = dict(controls["control"])[escape_text(LABEL)]
    assert f'id="{var}-data"' in html  # its data block, read by JSON.parse
    fig = static_map(seg)
    assert LABEL in _legend_labels(fig)  # the static legend, as plain text
    assert any(c.get_gid() == "rr-checkpoints" for c in fig.axes[0].collections)


def test_a_registered_layer_is_a_cli_choice(checkpoints, tmp_path):
    run = _run_folder(tmp_path / "run")
    out = tmp_path / "m.html"
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(out), "--layers", "segments,checkpoints"])
    assert res.exit_code == 0, res.output
    labels = [label for label, _ in _controls(out.read_text(encoding="utf-8"))["control"]]
    assert labels[2:] == ["Route segments by risk class", escape_text(LABEL)]  # after basemap and web tiles
    png = tmp_path / "m.png"
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(png), "--layers", "checkpoints"])
    assert res.exit_code == 0, res.output


def test_layer_selection_draws_only_the_chosen_layers(tmp_path):
    written = write_run_maps(
        tmp_path, segments=make_segments(), incidents=make_incidents(), zones=make_zones(), shelters=make_shelters(),
        formats=("html", "png"), layers=["zones", "segments"],
    )
    html = written[[p.suffix for p in written].index(".html")].read_text(encoding="utf-8")
    labels = [label for label, _ in _controls(html)["control"]]
    assert labels[2:] == ["Enforcement zones", "Route segments by risk class"]
    assert _controls(html)["heat"] is None
    fig = static_map(make_segments(), incidents=make_incidents(), zones=make_zones(), layers="segments")
    assert len(fig.axes) == 1  # no heat colour bar
    assert "enforcement zone" not in _legend_labels(fig)


def test_public_maps_never_draw_a_non_public_layer():
    assert "incidents" not in select_layers(None, "public")
    assert "incidents" in select_layers(None, "internal")
    with pytest.raises(ConfigError, match="cannot be drawn on a public map"):
        select_layers("segments,incidents", "public")
    with pytest.raises(ConfigError, match="cannot be drawn on a public map"):
        heatmap(make_segments(), incidents=make_incidents(), privacy="public", layers=["incidents"])
    with pytest.raises(ConfigError, match="unknown map layer"):
        select_layers(["segments", "roads"])


def test_cli_layer_errors(tmp_path):
    run = _run_folder(tmp_path / "pub", privacy="public")
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(tmp_path / "m.html"), "--layers", "roads"])
    assert res.exit_code == 2 and "is not a layer" in res.output
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(tmp_path / "m.html"),
                                   "--layers", "segments,incidents"])
    assert res.exit_code == 3 and "cannot be drawn on a public map" in res.output
    assert not (tmp_path / "m.html").exists()


def test_register_layer_checks_the_name():
    with pytest.raises(ConfigError):
        register_layer(MapLayer("bad name", "x", lambda d: None, lambda ax, d: []))


def test_the_docs_list_every_registered_layer():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "maps.md").read_text(encoding="utf-8")
    for name, layer in LAYERS.items():
        assert f"| `{name}` | {layer.label} |" in text
