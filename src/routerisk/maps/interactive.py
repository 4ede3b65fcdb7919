"""The interactive map: a self-contained, offline folium/Leaflet HTML file.

Every script, stylesheet and image is inlined from installed packages (see :mod:`routerisk.maps._assets`); every
user-derived string passes through :func:`routerisk.maps.escape_text`. The legend, time slider, fullscreen button,
layer control, title and footer are plain HTML/CSS/JS written here, so nothing is fetched from a CDN.

No user text is ever template source. branca renders the output of every folium element a second time as a Jinja2
template, so a route named ``{{ 7*7 }}`` would show as ``49`` (and a crafted name could run code). The map's own
elements therefore bypass Jinja2 entirely: each layer's data (escaped text included) is written as a
``<script type="application/json">`` block and read by fixed JavaScript with ``JSON.parse``; the ``<title>``,
assets and styles are plain strings; the layer control is built by that JavaScript from the data, not by
``folium.LayerControl``. The only folium templates left (the map itself and the optional web tile layer) hold
constants.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_file
from .._errors import ConfigError, OutputError
from ..privacy import DEFAULT_MIN_COUNT, check_privacy, publishable_shelters
from ._assets import asset_tags
from ._basemap import basemap_layers
from ._common import POINT_LIMIT, MapData, check_segments, class_ranges, is_synthetic
from ._deployment import deployment_legend, is_deployment
from ._escape import escape_text, js_json
from ._heat import DEFAULT_POINT_HEAT_MAX, HEAT_UNITS_POINTS, HEAT_UNITS_SURFACE
from ._leaflet import basemap_layer
from ._legend import CSS, footer_html, legend_html, title_html
from .layers import MapLayer, select_layers

__all__ = ["DEFAULT_POINT_HEAT_MAX", "HEAT_UNITS_POINTS", "HEAT_UNITS_SURFACE", "POINT_LIMIT", "heatmap", "save_html"]


def _element_classes():
    """Elements that never go through a template engine: user text in them is data, never template source.

    branca renders every element's output a second time as a Jinja2 template (``Element(script(...))``), so any
    text inside a folium/branca template would be evaluated. These elements write plain strings instead: the layer
    data as ``<script type="application/json">`` blocks (escaped JSON) read by the page's script, and fixed
    JavaScript written here.
    """
    # lazy: folium and branca cost 0.3 s at start-up (measured), paid only when an HTML map is drawn
    from branca.element import Element, MacroElement
    from folium.map import Layer

    class Raw(Element):
        """A string placed in the document as it is (never compiled or rendered as a template)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self._name = "rr_raw"
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    def add_script(element: Any, data: Any, code: str, assign: bool) -> None:
        figure = element.get_root()
        name, parent = element.get_name(), element._parent.get_name()
        figure.header.add_child(Raw(_data_block(name, data)), name=name + "_data")
        call = f"(function (map, D) {{\n{code}\n}})({parent}, {_read_data(name)});\n"
        figure.script.add_child(Raw(f"var {name} = {call}" if assign else call), name=name)

    class JSLayer(Layer):
        """A Leaflet layer built by a small function ``(map, D) -> layer`` over escaped JSON data."""

        def __init__(self, name: str, data: Any, code: str, *, show: bool = True) -> None:
            super().__init__(name=name, overlay=True, control=False, show=show)
            self._name = "rr_layer"
            self.data = data
            self.code = code

        def render(self, **kwargs: Any) -> None:
            add_script(self, self.data, self.code, assign=True)
            if self.show:
                self.get_root().script.add_child(
                    Raw(f"{self.get_name()}.addTo({self._parent.get_name()});\n"), name=self.get_name() + "_add"
                )

    class JSBlock(MacroElement):
        """Script run once, with the map and escaped JSON data."""

        def __init__(self, data: Any, code: str) -> None:
            super().__init__()
            self._name = "rr_block"
            self.data = data
            self.code = code

        def render(self, **kwargs: Any) -> None:
            add_script(self, self.data, self.code, assign=False)

    return Raw, JSLayer, JSBlock


def _data_block(name: str, data: Any) -> str:
    """``<script type="application/json">`` holding ``data``: never executed, never a template."""
    return f'<script type="application/json" id="{name}-data">{js_json(data)}</script>'


def _read_data(name: str) -> str:
    return f"JSON.parse(document.getElementById('{name}-data').textContent)"


_PANES = """
  map.setMinZoom(3); map.setMaxZoom(18);  // no tile layer sets them; markercluster needs a maxZoom
  [['rrBase', 250], ['rrZones', 410], ['rrHeat', 400], ['rrSegments', 420], ['rrPoints', 450]].forEach(
    function (p) { map.createPane(p[0]).style.zIndex = p[1]; });
"""

_CONTROLS = """
  var heat = D.heat ? window[D.heat] : null;
  if (D.bounds) map.fitBounds(D.bounds, {padding: [30, 30], animate: false});
  map.getContainer().insertAdjacentHTML('beforeend', D.title);
  function box(pos, html, cls) {
    var C = L.Control.extend({options: {position: pos}, onAdd: function () {
      var d = L.DomUtil.create('div', cls || ''); d.innerHTML = html;
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; }});
    return new C().addTo(map);
  }
  box('bottomright', D.legend);
  box('bottomleft', D.footer);
  var slider = '<div class="rr-slider"><label for="rr-time">Heat period</label> ' +
    '<input type="range" id="rr-time" min="0" max="' + (D.labels.length - 1) + '" step="1" value="0">' +
    '<output id="rr-time-label">' + D.labels[0] + '</output></div>';
  box('bottomleft', slider);
  var input = document.getElementById('rr-time'), out = document.getElementById('rr-time-label');
  function setPeriod(k) {
    k = Math.max(0, Math.min(D.labels.length - 1, k | 0));
    input.value = k; out.innerHTML = D.labels[k];
    if (heat && heat.setPeriod) heat.setPeriod(k);
  }
  input.addEventListener('input', function () { setPeriod(parseInt(input.value, 10)); });
  var FS = L.Control.extend({options: {position: 'topleft'}, onAdd: function () {
    var d = L.DomUtil.create('div', 'leaflet-bar rr-fs');
    var a = L.DomUtil.create('a', '', d); a.href = '#'; a.title = 'Full screen'; a.setAttribute('role', 'button');
    a.innerHTML = '<svg width="14" height="14" viewBox="0 0 14 14" style="margin-top:8px">' +
      '<path d="M1 5V1h4M9 1h4v4M13 9v4H9M5 13H1V9" fill="none" stroke="#333" stroke-width="2"/></svg>';
    L.DomEvent.on(a, 'click', function (e) {
      L.DomEvent.preventDefault(e); L.DomEvent.stopPropagation(e);
      var c = map.getContainer();
      if (document.fullscreenElement) { document.exitFullscreen(); }
      else if (c.requestFullscreen && document.fullscreenEnabled) { c.requestFullscreen(); }
      else { c.classList.toggle('rr-fullscreen'); map.invalidateSize(); }
    });
    document.addEventListener('fullscreenchange', function () { map.invalidateSize(); });
    return d; }});
  new FS().addTo(map);
  var layers = {}, overlays = {};
  D.control.forEach(function (c) { overlays[c[0]] = window[c[1]]; });
  L.control.layers({}, overlays, {collapsed: false, position: 'topright'}).addTo(map);
  Object.keys(D.layers).forEach(function (k) { layers[k] = window[D.layers[k]]; });
  // URL parameters (map.html#period=2024-03&route=isthmus, or ?period=...): hostile text, only compared with the
  // escaped labels and route names of the data (escaped here the same way), never inserted into the page
  function esc(s) {
    var r = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '\\\\': '&#92;', '`': '&#96;',
             '$': '&#36;'};
    return String(s).replace(/[&<>"'\\\\`$]/g, function (c) { return r[c]; });
  }
  function urlParams() {
    var q = {};
    (location.search.slice(1) + '&' + location.hash.slice(1)).split('&').forEach(function (p) {
      var i = p.indexOf('=');
      if (i <= 0) return;
      try { q[decodeURIComponent(p.slice(0, i))] = decodeURIComponent(p.slice(i + 1).replace(/\\+/g, ' ')); }
      catch (e) { /* a malformed escape: ignored */ }
    });
    return q;
  }
  var selected = {period: null, route: null};
  function showRoute(name) {
    var key = esc(name), found = null;
    Object.keys(layers).forEach(function (k) {
      var l = layers[k];
      if (l && l.rrRoutes && Object.prototype.hasOwnProperty.call(l.rrRoutes, key)) found = l.rrRoutes[key]; });
    if (!found) return false;
    map.fitBounds(L.featureGroup(found).getBounds(), {padding: [30, 30], animate: false});
    found.forEach(function (p) { p.setStyle({weight: 8}); });
    selected.route = key;
    return true;
  }
  function applyURL() {
    var q = urlParams();
    if (typeof q.period === 'string') {
      var k = D.labels.indexOf(esc(q.period));
      if (k >= 0) { setPeriod(k); selected.period = D.labels[k]; }
    }
    if (typeof q.route === 'string') showRoute(q.route);
  }
  applyURL();
  window.addEventListener('hashchange', applyURL);
  window.routerisk = {map: map, heat: heat, layers: layers, periods: D.labels, setPeriod: setPeriod,
                      showRoute: showRoute, selected: selected};
  document.documentElement.setAttribute('data-routerisk-ready', '1');
"""


def _check_args(privacy: str, min_count: int, time_step: str) -> None:
    check_privacy(privacy, min_count)
    if time_step not in ("auto", "month", "year"):
        msg = f"`time_step` was {time_step!r} but must be one of ('auto', 'month', 'year')"
        raise ConfigError(msg)


def _new_map(title: str, privacy: str, assets: set[str], web_tiles: bool) -> tuple[Any, Any, Any]:
    """The folium map with its inlined assets, styles, title, panes and offline basemap (no user layer yet)."""
    # lazy: folium and branca cost 0.3 s at start-up (measured), paid only when an HTML map is drawn
    import folium

    Raw, JSLayer, JSBlock = _element_classes()
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_start=5, location=[23.0, -102.0])
    m.default_js = []  # per instance: never touch folium's class-level lists
    m.default_css = []
    root = m.get_root()
    # nothing below is a template: plain strings, user text escaped (see _element_classes)
    root.header.add_child(Raw(asset_tags(markercluster="markercluster" in assets)), name="rr_assets")
    root.header.add_child(Raw(f"<style>{CSS}</style>"), name="rr_css")
    root.header.add_child(Raw(f"<title>{escape_text(title)} ({escape_text(privacy)} map)</title>"), name="rr_title")
    m.add_child(JSBlock({}, _PANES), name="rr_panes")
    states, localities = basemap_layers()
    if privacy == "public":
        localities = localities.assign(lon=localities["lon"].round(2), lat=localities["lat"].round(2))
    m.add_child(JSLayer("Offline basemap: states and major localities", *basemap_layer(states, localities)))
    tiles = None
    if web_tiles:
        tiles = folium.TileLayer("OpenStreetMap", name="Web tiles (online, OpenStreetMap)", overlay=True, show=False,
                                 control=False)
        tiles.add_to(m)
    return m, tiles, (Raw, JSLayer, JSBlock)


def heatmap(
    segments: Any,
    *,
    incidents: Any = None,
    zones: Any = None,
    shelters: Any = None,
    surface: tuple[np.ndarray, Any, Any] | None = None,
    privacy: str = "internal",
    min_count: int = DEFAULT_MIN_COUNT,
    model: Any = None,
    title: str = "Risk along migration routes",
    provenance: Mapping[str, Any] | None = None,
    synthetic: bool | None = None,
    point_limit: int = POINT_LIMIT,
    time_step: str = "auto",
    heat_max: float | None = None,
    cell_m: float = 2000.0,
    web_tiles: bool = True,
    sites: Mapping[str, Any] | None = None,
    layers: Iterable[str] | Mapping[str, MapLayer] | str | None = None,
    detention: Any = None,
) -> Any:
    """Build the interactive risk map as a self-contained, offline :class:`folium.Map`.

    Parameters
    ----------
    segments : GeoDataFrame
        Scored segments (``route_id``, ``name``, ``start_m``, ``end_m``, ``risk``, ``risk_lo``, ``risk_hi``,
        ``risk_class``, ``n_incidents``, ``hotspot``; missing columns show as "–").
    incidents : GeoDataFrame, optional
        Canonical incidents: the heat layer (points when at most ``point_limit`` are placed, in internal mode;
        otherwise the kernel surface as images) and, in internal mode, the clustered incident markers.
    zones, shelters : GeoDataFrame, optional
        Enforcement zones; shelters and asylum offices (``name``, ``kind``, ``locality``).
    surface : (array, transform, crs), optional
        A pre-computed :func:`routerisk.risk_surface` used for the heat (a single frame unless ``incidents``
        is also given).
    privacy : {"internal", "public"}
        ``"public"``: no incident points or free text; heat from the surface with cells of fewer than
        ``min_count`` incidents removed; segments with fewer than ``min_count`` incidents drawn grey without
        numbers; sensitive shelters moved to their locality (see :func:`routerisk.privacy.publishable_shelters`).
    min_count : int, default 5
        Public-mode threshold.
    model : RiskModel, optional
        Bandwidth, kernel, weights and decay of the heat.
    title : str
        Map title; the privacy mode is appended.
    provenance : mapping, optional
        Footer entries (inputs, date range, model parameters...); ``synthetic=True`` in it adds the notice.
    synthetic : bool, optional
        Force the "synthetic / illustrative data" notice on or off; by default it shows when incidents are
        ``synthetic`` or zones/shelters ``illustrative``.
    point_limit : int, default 20000
        Most incidents drawn as client-side heat points (:data:`routerisk.maps.POINT_LIMIT`).
    time_step : {"auto", "month", "year"}
        Step of the time slider.
    heat_max : float, optional
        Top of the fixed heat scale (the same for every time step); default 2 weighted incidents per heat cell
        (points) or the 99th percentile of the all-period surface's non-empty cells (images).
    cell_m : float, default 2000
        Cell of the surface computed for image heat.
    web_tiles : bool, default True
        Add an (online) OpenStreetMap tile layer, off by default.
    sites : mapping, optional
        Layers of a shelter-siting result (:func:`routerisk.siting.sites_layers`): ``"sites"`` and
        ``"coverage"`` become the "Proposed shelter sites" layer, ``"gaps"`` the "Protection gaps" layer.
    layers : None, names or mapping, optional
        Which layers of :data:`routerisk.maps.layers.LAYERS` to draw (see
        :func:`routerisk.maps.layers.select_layers`); default every layer the privacy mode allows.
    detention : geopandas.GeoDataFrame, optional
        Detention sites (:func:`routerisk.detention.load_detention`), drawn as the "detention" layer.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"name": ["A"], "risk": [50.0], "risk_class": [3]},
    ...                        geometry=[LineString([(-99, 19), (-98, 19.5)])], crs=4326)
    >>> m = heatmap(seg, title="Demo")
    >>> type(m).__name__
    'Map'
    """
    _check_args(privacy, min_count, time_step)
    check_segments(segments)
    chosen = select_layers(layers, privacy)
    if privacy == "public" and shelters is not None:
        shelters = publishable_shelters(shelters, "public")  # sensitive ones at locality level only
    data = MapData(
        segments, incidents=incidents, zones=zones, shelters=shelters, sites=sites, surface=surface,
        privacy=privacy, min_count=min_count, model=model, point_limit=point_limit, time_step=time_step,
        heat_max=heat_max, cell_m=cell_m, detention=detention,
    )
    drawn = [(layer, out) for layer in chosen.values() if (out := layer.draw_folium(data)) is not None]
    m, tiles, (_, JSLayer, JSBlock) = _new_map(title, privacy, {a for layer, _ in drawn for a in layer.assets},
                                               web_tiles)
    heat_name, labels, scale = None, ["all"], (0.0, 1.0, HEAT_UNITS_SURFACE)
    for layer, out in drawn:
        element = JSLayer(layer.label, out.data, out.code, show=layer.show)
        m.add_child(element)
        if out.periods is not None and heat_name is None:  # the layer the time slider drives
            heat_name, labels, scale = element.get_name(), list(out.periods), out.scale or scale
    names = {layer.name for layer, _ in drawn}
    syn = is_synthetic(incidents, zones, shelters, provenance) if synthetic is None else bool(synthetic)
    ours = [c for c in m._children.values() if isinstance(c, JSLayer)]
    control = [(c.layer_name, c.get_name()) for c in ours[:1]]
    control += [(tiles.layer_name, tiles.get_name())] if tiles is not None else []
    control += [(c.layer_name, c.get_name()) for c in ours[1:]]
    b = segments.to_crs(4326).total_bounds
    public_segments = privacy == "public" or (
        "suppressed" in segments and segments["suppressed"].fillna(False).astype(bool).any()
    )
    controls = {
        "layers": {c.layer_name: c.get_name() for c in ours},
        "control": [[escape_text(label), var] for label, var in control],
        "bounds": [[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]] if np.isfinite(b).all() else None,
        "heat": heat_name,
        "labels": [escape_text(x) for x in labels],
        "title": title_html(title, privacy),
        "legend": legend_html(
            heat_min=scale[0], heat_max=scale[1], heat_units=scale[2], class_ranges=class_ranges(segments),
            suppressed=bool(public_segments), shelters="shelters" in names, zones="zones" in names,
            deployment=deployment_legend(zones, model) if "zones" in names and is_deployment(zones) else None,
            min_count=min_count, heat=heat_name is not None, sites="sites" in names, gaps="gaps" in names,
            layer=segments.attrs.get("routerisk", {}).get("risk_layer") or getattr(model, "risk_layer", None),
        ),
        "footer": footer_html(provenance, synthetic=syn, privacy=privacy),
    }
    m.add_child(JSBlock(controls, _CONTROLS), name="rr_controls")
    return m


def _check_offline(doc: str) -> None:
    bad = re.findall(r"<(?:script|img|iframe)[^>]*\ssrc\s*=\s*[\"']?(?!data:)[^\s>]+|<link[^>]*href=[^>]*>", doc)
    if bad:
        msg = f"the map HTML still references external resources: {bad[:3]}"
        raise RuntimeError(msg)


def save_html(m: Any, path: str | os.PathLike[str], *, embed_snippet: bool = False) -> list[Path]:
    """Write a map from :func:`heatmap` as one self-contained HTML file, atomically.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : path
        The ``.html`` file.
    embed_snippet : bool, default False
        Also write ``<stem>.embed.html``: an ``<iframe srcdoc="...">`` holding the whole map, to paste into a
        report or a web page.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"risk_class": [2]}, geometry=[LineString([(-99, 19), (-98, 19)])], crs=4326)
    >>> out = save_html(heatmap(seg), pathlib.Path(tempfile.mkdtemp()) / "m.html", embed_snippet=True)
    >>> [p.name for p in out]
    ['m.html', 'm.embed.html']
    """
    doc = m.get_root().render()
    _check_offline(doc)
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        msg = f"`path` was {str(path)!r} but an interactive map must be written to a .html file"
        raise OutputError(msg)
    written = []
    with atomic_file(path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    written.append(path)
    if embed_snippet:
        snippet = (
            '<iframe title="routerisk map" style="width:100%;height:640px;border:0" '
            f'sandbox="allow-scripts" srcdoc="{html.escape(doc, quote=True)}"></iframe>\n'
        )
        embed = path.with_name(path.stem + ".embed.html")
        with atomic_file(embed) as tmp:
            tmp.write_text(snippet, encoding="utf-8")
        written.append(embed)
    return written
