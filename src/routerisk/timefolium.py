"""The interactive trends map: a folium (Leaflet) map, offline, with the pattern layer and a period slider.

Leaflet's script and style are inlined from the ``xstatic-leaflet`` package (a dependency), folium's CDN links are
dropped, and the file is written by :func:`routerisk.maps.save_html`, which refuses any external reference. No web
tiles: the states' outlines are drawn from the embedded states layer. Every text (segment ids, periods, patterns)
reaches the page as JSON data, escaped by :func:`routerisk.maps.escape_text`, never as HTML source.
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["trends_folium"]


@functools.lru_cache(maxsize=1)
def _leaflet_assets() -> str:
    import xstatic.pkg.leaflet as xl

    base = Path(xl.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for png in sorted((base / "images").glob("*.png")):
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{png.name})", f"url({uri})")
    css = css.replace("behavior: url(#default#VML);", "")
    js = (base / "leaflet.js").read_text(encoding="utf-8").replace("</", "<\\/")
    css = css.replace("</", "<\\/")
    return f"<style>{css}</style>\n<script>{js}</script>"


def _coords(geom) -> list:
    import shapely

    if geom is None or geom.is_empty:
        return []
    parts = getattr(geom, "geoms", [geom])
    return [np.round(np.asarray(shapely.get_coordinates(p))[:, [1, 0]], 5).tolist() for p in parts]


_JS = """
document.addEventListener('DOMContentLoaded', function () {
  var D = JSON.parse(document.getElementById('rr-trends-data').textContent);
  var map = window[D.map];
  var base = L.featureGroup().addTo(map);
  D.states.forEach(function (c) { L.polyline(c, {color: '#9a9a9a', weight: 0.8, interactive: false}).addTo(base); });
  function mix(a, b, t) { return Math.round(a + (b - a) * t); }
  function zcol(z) {
    if (z === null) return '#d9d9d9';
    var x = Math.max(-1, Math.min(1, z / D.clip)), to = x > 0 ? [200, 30, 30] : [30, 80, 200], t = Math.abs(x);
    return 'rgb(' + mix(215, to[0], t) + ',' + mix(215, to[1], t) + ',' + mix(215, to[2], t) + ')';
  }
  var pattern = L.featureGroup(), period = L.featureGroup(), lines = [];
  for (var i = 0; i < D.c.length; i++) {
    var k = D.p[i];
    var col = k === null ? '#eeeeee' : D.colours[D.names[k]];
    var tip = D.ids[i] + ': ' + (k === null ? 'suppressed' : D.names[k]) + '<br>trend tau ' + D.tau[i];
    L.polyline(D.c[i], {color: col, weight: 4, opacity: 0.95}).bindTooltip(tip, {sticky: true}).addTo(pattern);
    var pl = L.polyline(D.c[i], {color: '#d9d9d9', weight: 4, opacity: 0.95}).bindTooltip('', {sticky: true});
    pl.addTo(period);
    lines.push(pl);
  }
  pattern.addTo(map);
  function setPeriod(t) {
    for (var i = 0; i < lines.length; i++) {
      var z = D.z[i][t];
      lines[i].setStyle({color: zcol(z)});
      lines[i].setTooltipContent(D.ids[i] + ' ' + D.periods[t] + ': z = ' + (z === null ? 'suppressed' : z));
    }
    document.getElementById('rr-period-label').textContent = D.periods[t];
  }
  L.control.layers({}, {'Emerging hot-spot pattern': pattern, 'Hot-spot z of the period (slider)': period,
                        'States': base}, {collapsed: false}).addTo(map);
  var Box = L.Control.extend({options: {position: 'bottomleft'}, onAdd: function () {
    var d = L.DomUtil.create('div', 'rr-box');
    d.innerHTML = D.slider; L.DomEvent.disableClickPropagation(d); return d; }});
  new Box().addTo(map);
  var Legend = L.Control.extend({options: {position: 'bottomright'}, onAdd: function () {
    var d = L.DomUtil.create('div', 'rr-box'); d.innerHTML = D.legend; return d; }});
  new Legend().addTo(map);
  var input = document.getElementById('rr-period');
  input.addEventListener('input', function () { setPeriod(parseInt(input.value, 10)); });
  setPeriod(D.periods.length - 1);
  if (D.bounds) map.fitBounds(D.bounds, {padding: [20, 20]});
  document.documentElement.setAttribute('data-routerisk-ready', '1');
});
"""


def _legend(colours: dict[str, str], clip: float, attribution: str, title: str) -> str:
    from .maps import escape_text

    rows = "".join(f'<div><i style="display:inline-block;width:18px;height:4px;background:{c};margin-right:4px">'
                   f"</i>{escape_text(k)}</div>" for k, c in colours.items())  # fmt: skip
    return (f"<b>{escape_text(title)}</b>{rows}<div style='margin-top:4px'>period layer: z of the neighbourhood "
            f"count, blue below / red above expectation, clipped at +-{clip:g}</div>"
            f"<div style='font-size:10px;color:#555'>{escape_text(attribution)}</div>")  # fmt: skip


def trends_folium(segments, table: pd.DataFrame, periods, path, *, title: str = "Emerging hot spots",
                  attribution: str = "", clip: float = 4.0) -> list[Path]:  # fmt: skip
    """Write the interactive trends map (one offline HTML file) and return the files written.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        The segments, in the order of ``table``.
    table : pandas.DataFrame
        :func:`routerisk.trends.trend_table` output (``segment_id``, ``pattern``, ``trend_tau``, ``z_<period>``).
    periods : sequence of str
    path : path
        The ``.html`` file.
    title, attribution : str
        Shown on the map (escaped).
    clip : float
        The colour scale of the period layer ends at ``+-clip``.
    """
    import folium

    from .datasets import load_states
    from .maps import escape_text, save_html
    from .timemaps import PATTERN_COLOURS

    periods = [str(p) for p in periods]
    last = max(len(periods) - 1, 0)
    seg = segments.to_crs(4326)
    names = [p for p in PATTERN_COLOURS if p in set(table["pattern"].dropna())]
    code = {p: i for i, p in enumerate(names)}
    z = np.column_stack([table[f"z_{p}"].to_numpy(dtype=np.float64) for p in periods]).round(2)
    b = seg.total_bounds
    states = [c for g in load_states().geometry.boundary for c in _coords(g)]
    data = {
        "c": [_coords(g) for g in seg.geometry], "ids": [escape_text(v) for v in table["segment_id"].astype(str)],
        "p": [None if pd.isna(v) else code[v] for v in table["pattern"]], "names": [escape_text(n) for n in names],
        "colours": {escape_text(n): PATTERN_COLOURS[n] for n in names},
        "tau": [None if not np.isfinite(v) else round(float(v), 3) for v in table["trend_tau"].astype("float64")],
        "z": [[None if not np.isfinite(v) else float(v) for v in row] for row in z], "clip": float(clip),
        "periods": [escape_text(p) for p in periods], "states": states,
        "bounds": [[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]] if np.isfinite(b).all() else None,
        "slider": (f'<label for="rr-period">Period</label> <input type="range" id="rr-period" min="0" '
                   f'max="{last}" value="{last}"> <b id="rr-period-label"></b>'),
        "legend": _legend({n: PATTERN_COLOURS[n] for n in names}, clip, attribution, title),
    }  # fmt: skip
    m = folium.Map(tiles=None, location=[23.0, -102.0], zoom_start=5, control_scale=True)
    m.default_js, m.default_css = [], []  # no CDN: Leaflet is inlined below
    root = m.get_root()
    root.header.add_child(folium.Element(_leaflet_assets()), name="rr_leaflet")
    root.header.add_child(folium.Element("<style>.rr-box{background:#fff;padding:6px 8px;border-radius:4px;"
                                         "font:12px sans-serif;max-width:320px}.leaflet-container{background:#fff}"
                                         "</style>"), name="rr_style")  # fmt: skip
    data["map"] = m.get_name()
    doc = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")
    root.html.add_child(folium.Element(f'<script type="application/json" id="rr-trends-data">{doc}</script>'))
    root.script.add_child(folium.Element(_JS), name="rr_trends")
    return save_html(m, path)
