"""Layer data (compact arrays, every string escaped) and the small JavaScript that draws each layer.

Each ``*_layer`` function returns ``(data, code)``: ``data`` is JSON-serialisable and holds only escaped text;
``code`` is the body of ``function (map, D) {...}`` returning a Leaflet layer. Building tooltips in the browser from
arrays keeps the file small (a segment costs ~60 bytes instead of a GeoJSON feature's ~300).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from ._escape import escape_text
from ._legend import (
    COVERAGE_COLOR,
    GAP_COLOR,
    HEAT_COLORS,
    NO_DATA_COLOR,
    RISK_COLORS,
    SHELTER_COLORS,
    SITE_COLOR,
    ZONE_COLOR,
)

__all__ = [
    "basemap_layer",
    "cluster_layer",
    "gaps_layer",
    "heat_image_layer",
    "heat_points_layer",
    "segments_layer",
    "shelters_layer",
    "sites_layer",
    "zones_layer",
]

_DIGITS = 5  # ~1 m


def _codes(values: pd.Series) -> tuple[list[int], list[str]]:
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)
    return codes.tolist(), [escape_text(u) for u in uniques]


def _num(values: Any, digits: int = 1) -> list[Any]:
    a = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    return [None if not np.isfinite(v) else round(float(v), digits) for v in a]


def _line_coords(geom) -> list[Any]:
    """``[[lat, lon], ...]`` of a line; ``[[[lat, lon], ...], ...]`` (one list per part) of a multi-line."""
    if geom is None or geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        return [_line_coords(part) for part in geom.geoms]
    coords = shapely.get_coordinates(geom)
    return np.round(coords[:, ::-1], _DIGITS).tolist()


def segments_layer(segments: Any, *, min_count: int, public: bool) -> tuple[dict[str, Any], str]:
    """Segments coloured by ``risk_class``, one SVG path each, with a tooltip built from escaped fields."""
    seg = segments.to_crs(4326)
    n = len(seg)
    route_src = seg["name"] if "name" in seg else seg.get("route_id", pd.Series([""] * n, index=seg.index))
    route, route_names = _codes(route_src)
    rid, rid_names = _codes(seg.get("route_id", route_src))  # ?route= matches id or name
    hot, hot_names = _codes(seg["hotspot"] if "hotspot" in seg else pd.Series(["not tested"] * n))
    evidence, evidence_names = _codes(seg["evidence"] if "evidence" in seg else pd.Series(["–"] * n))
    cls = pd.to_numeric(seg.get("risk_class", pd.Series([np.nan] * n)), errors="coerce").to_numpy(dtype="float64")
    n_inc = pd.to_numeric(seg.get("n_incidents", pd.Series([np.nan] * n)), errors="coerce").to_numpy("float64")
    suppressed = np.zeros(n, dtype=bool)
    if "suppressed" in seg:
        suppressed |= seg["suppressed"].fillna(False).to_numpy(dtype=bool)
    if public:
        suppressed |= ~(n_inc >= min_count)
    cls = np.where(suppressed | ~np.isfinite(cls), 0, cls).astype(int)
    hide = suppressed
    data = {
        "c": [_line_coords(g) for g in seg.geometry],
        "k": cls.tolist(),
        "r": route,
        "rn": route_names,
        "ri": rid,
        "rin": rid_names,
        "a": _num(seg.get("start_m", np.nan) / 1000.0, 1),
        "b": _num(seg.get("end_m", np.nan) / 1000.0, 1),
        "v": _num(np.where(hide, np.nan, seg.get("risk", np.nan)), 1),
        "lo": _num(np.where(hide, np.nan, seg.get("risk_lo", np.nan)), 1),
        "hi": _num(np.where(hide, np.nan, seg.get("risk_hi", np.nan)), 1),
        "n": _num(np.where(hide, np.nan, n_inc), 0),
        "h": hot,
        "hn": hot_names,
        "e": evidence,
        "en": evidence_names,
        "colors": [NO_DATA_COLOR, *RISK_COLORS],
        "min_count": int(min_count),
    }
    code = """
  var g = L.featureGroup([], {pane: 'rrSegments'});
  g.rrRoutes = Object.create(null);
  function f(x) { return x === null ? '&ndash;' : x; }
  for (var i = 0; i < D.c.length; i++) {
    var k = D.k[i];
    var tip = '<b>' + D.rn[D.r[i]] + '</b><br>km ' + f(D.a[i]) + '&ndash;' + f(D.b[i]) + '<br>';
    if (k === 0 && D.v[i] === null) {
      tip += 'risk: suppressed (fewer than ' + D.min_count + ' incidents)';
    } else {
      tip += 'risk: ' + f(D.v[i]) + ' (' + f(D.lo[i]) + '&ndash;' + f(D.hi[i]) + ')' + ', class ' + k +
             '<br>incidents: ' + f(D.n[i]) + ' (evidence: ' + D.en[D.e[i]] + ')<br>hot spot: ' + D.hn[D.h[i]];
    }
    var line = L.polyline(D.c[i], {color: D.colors[k], weight: k >= 4 ? 5 : 4, opacity: 0.95,
      className: 'rr-segment', pane: 'rrSegments'}).bindTooltip(tip, {sticky: true, className: 'rr-tip-segment'});
    line.addTo(g);
    [D.rn[D.r[i]], D.rin[D.ri[i]]].forEach(function (key) {  // escaped names: looked up, never inserted
      (g.rrRoutes[key] = g.rrRoutes[key] || []).push(line); });
  }
  return g;
"""
    return data, code


def heat_points_layer(lat, lon, weight, period, labels, *, heat_max: float, radius: int) -> tuple[dict, str]:
    """Client-side Leaflet.heat layer; ``setPeriod(k)`` shows period ``k`` (0 = all)."""
    data = {
        "lat": np.round(np.asarray(lat, "float64"), 4).tolist(),
        "lon": np.round(np.asarray(lon, "float64"), 4).tolist(),
        "w": np.round(np.asarray(weight, "float64"), 3).tolist(),
        "p": np.asarray(period, "int64").tolist(),
        "labels": [escape_text(x) for x in labels],
        "max": float(heat_max),
        "radius": int(radius),
        "gradient": {str(round(0.2 * (i + 1), 1)): c for i, c in enumerate(HEAT_COLORS)},
    }
    code = """
  var frames = [];
  for (var k = 0; k < D.labels.length; k++) frames.push([]);
  for (var i = 0; i < D.lat.length; i++) {
    var pt = [D.lat[i], D.lon[i], D.w[i]];
    frames[0].push(pt);
    if (D.p[i] > 0) frames[D.p[i]].push(pt);
  }
  var layer = L.heatLayer(frames[0], {max: D.max, radius: D.radius, blur: Math.round(D.radius * 0.8),
                                      minOpacity: 0.05, gradient: D.gradient, pane: 'rrHeat'});
  layer.setPeriod = function (k) { layer.setLatLngs(frames[k]); };
  layer.frameSizes = frames.map(function (f) { return f.length; });
  return layer;
"""
    return data, code


def heat_image_layer(uris: list[str], bounds, labels) -> tuple[dict, str]:
    """Pre-computed surface images (PNG data URIs), one per period; ``setPeriod(k)`` swaps the image."""
    data = {"uris": uris, "bounds": bounds, "labels": [escape_text(x) for x in labels]}
    code = """
  var layer = L.imageOverlay(D.uris[0], D.bounds, {opacity: 1, pane: 'rrHeat', className: 'rr-heat-image'});
  layer.setPeriod = function (k) { layer.setUrl(D.uris[k]); };
  return layer;
"""
    return data, code


def zones_layer(zones: Any) -> tuple[dict, str]:
    """Enforcement zones as dashed polygons with an escaped tooltip."""
    z = zones.to_crs(4326)
    geoms = shapely.simplify(z.geometry.values, 0.001)
    feats = []
    for i, geom in enumerate(geoms):
        row = z.iloc[i]
        parts = [f"<b>{escape_text(row.get('name', ''))}</b>"]
        for key in ("agency", "kind", "intensity"):
            if key in z.columns:
                parts.append(f"{key}: {escape_text(row[key])}")
        if "start_date" in z.columns:
            start = row["start_date"]
            end = row.get("end_date")
            parts.append(
                f"active: {escape_text(str(start)[:10])} to "
                f"{escape_text('present' if pd.isna(end) else str(end)[:10])}"
            )
        feats.append({"type": "Feature", "properties": {"t": "<br>".join(parts)},
                      "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-5))})
    data = {"type": "FeatureCollection", "features": feats, "color": ZONE_COLOR}
    code = """
  return L.geoJSON(D, {pane: 'rrZones', style: function () {
      return {color: D.color, weight: 2, dashArray: '5 4', fillOpacity: 0.08}; },
    onEachFeature: function (f, l) { l.bindTooltip(f.properties.t, {sticky: true}); }});
"""
    return data, code


def shelters_layer(shelters: Any) -> tuple[dict, str]:
    """Shelters and asylum offices as coloured circles with an escaped tooltip."""
    s = shelters.to_crs(4326)
    kinds = s["kind"].astype(str) if "kind" in s else pd.Series(["shelter"] * len(s), index=s.index)
    tips = []
    for _, row in s.iterrows():
        tip = f"<b>{escape_text(row.get('name', ''))}</b><br>{escape_text(str(row.get('kind', '')).replace('_', ' '))}"
        if "locality" in s.columns:
            tip += f"<br>{escape_text(row['locality'])}"
        tips.append(tip)
    data = {
        "lat": np.round(s.geometry.y.to_numpy(), _DIGITS).tolist(),
        "lon": np.round(s.geometry.x.to_numpy(), _DIGITS).tolist(),
        "color": [SHELTER_COLORS.get(k, "#333333") for k in kinds],
        "t": tips,
    }
    code = """
  var g = L.featureGroup([], {pane: 'rrPoints'});
  for (var i = 0; i < D.lat.length; i++) {
    L.circleMarker([D.lat[i], D.lon[i]], {radius: 6, color: '#fff', weight: 1.5, fillColor: D.color[i],
      fillOpacity: 1, pane: 'rrPoints', className: 'rr-shelter'}).bindTooltip(D.t[i]).addTo(g);
  }
  return g;
"""
    return data, code


def cluster_layer(incidents: Any) -> tuple[dict, str]:
    """Individual incidents, clustered (internal mode only); popups hold escaped fields and notes."""
    inc = incidents
    cat, cat_names = _codes(inc["category"] if "category" in inc else pd.Series([""] * len(inc)))
    dates = pd.to_datetime(inc["date"], errors="coerce") if "date" in inc else pd.Series(pd.NaT, index=inc.index)
    notes = inc["notes"] if "notes" in inc else pd.Series([""] * len(inc), index=inc.index)
    data = {
        "lat": np.round(inc.geometry.y.to_numpy(), _DIGITS).tolist(),
        "lon": np.round(inc.geometry.x.to_numpy(), _DIGITS).tolist(),
        "id": [escape_text(v) for v in inc.get("incident_id", pd.Series(range(len(inc))))],
        "d": [escape_text("" if pd.isna(d) else d.strftime("%Y-%m-%d")) for d in dates],
        "c": cat,
        "cn": cat_names,
        "v": _num(inc.get("victims", np.nan), 0),
        "note": [escape_text(v) for v in notes],
    }
    code = """
  var g = L.markerClusterGroup({chunkedLoading: true});
  var ms = [];
  for (var i = 0; i < D.lat.length; i++) {
    var html = '<b>' + D.id[i] + '</b> ' + D.d[i] + '<br>' + D.cn[D.c[i]] + ', victims: ' +
               (D.v[i] === null ? '?' : D.v[i]) +
               (D.note[i] ? '<br><span class="rr-note">' + D.note[i] + '</span>' : '');
    ms.push(L.marker([D.lat[i], D.lon[i]]).bindPopup(html));
  }
  g.addLayers(ms);
  return g;
"""
    return data, code


def basemap_layer(states: Any, localities: Any) -> tuple[dict, str]:
    """Offline basemap: simplified state boundaries and the largest localities (names escaped)."""
    st = states.to_crs(4326)
    geoms = shapely.set_precision(shapely.simplify(st.geometry.values, 0.01), 1e-3)
    names = st["state_name"] if "state_name" in st else pd.Series([""] * len(st))
    feats = [
        {"type": "Feature", "properties": {"n": escape_text(n)}, "geometry": shapely.geometry.mapping(g)}
        for n, g in zip(names, geoms, strict=True)
        if g is not None and not g.is_empty
    ]
    loc = localities
    data = {
        "states": {"type": "FeatureCollection", "features": feats},
        "lat": np.round(loc["lat"].to_numpy("float64"), 3).tolist(),
        "lon": np.round(loc["lon"].to_numpy("float64"), 3).tolist(),
        "name": [escape_text(v) for v in loc["name"]],
        "label": [bool(v) for v in loc["label"]],
        # first zoom at which a label is shown (routerisk.maps._basemap.label_zooms: labels never overlap)
        "minzoom": [int(v) for v in loc["minzoom"]] if "minzoom" in loc else [5 if v else 99 for v in loc["label"]],
        "country": [escape_text(n) for n, k in zip(names, st.get("kind", pd.Series(["state"] * len(st))),
                                                     strict=True) if k == "country"],
    }
    code = """
  var g = L.featureGroup([], {pane: 'rrBase'});
  L.geoJSON(D.states, {pane: 'rrBase', style: function (f) {
      var other = D.country.indexOf(f.properties.n) >= 0;  // neighbouring countries: greyer, no state lines
      return {color: '#7a7a7a', weight: other ? 0.8 : 1, fillColor: other ? '#e4e1da' : '#f2efe9',
              fillOpacity: 0.9}; },
    onEachFeature: function (f, l) { l.bindTooltip(f.properties.n, {sticky: true}); }}).addTo(g);
  var ms = [], map = null;
  for (var i = 0; i < D.lat.length; i++) {
    var m = L.circleMarker([D.lat[i], D.lon[i]], {radius: 2.5, color: '#333', weight: 1, fillColor: '#333',
                                                  fillOpacity: 1, pane: 'rrBase'});
    m.bindTooltip(D.name[i], {});
    m.addTo(g);
    ms.push(m);
  }
  function show() {  // permanent labels from each locality's minzoom on: more names as the map zooms in
    var z = map ? map.getZoom() : 5;
    for (var i = 0; i < ms.length; i++) {
      var on = D.minzoom[i] <= z;
      if (ms[i].rrOn === on) { continue; }
      ms[i].unbindTooltip();
      ms[i].bindTooltip(D.name[i], on ? {permanent: true, direction: 'right', className: 'rr-label'} : {});
      ms[i].rrOn = on;
    }
  }
  g.on('add', function () { map = g._map; map.on('zoomend', show); show(); });
  g.on('remove', function () { if (map) { map.off('zoomend', show); } });
  return g;
"""
    return data, code


def _text(frame: Any, column: str, default: str = "") -> list[str]:
    values = frame[column] if column in frame else pd.Series([default] * len(frame), index=frame.index)
    return [escape_text("" if pd.isna(v) else v) for v in values]


def sites_layer(sites: Any, coverage: Any = None) -> tuple[dict, str]:
    """Proposed shelter sites (squares with their rank) and the route stretches each covers.

    ``sites`` and ``coverage`` are the layers of :func:`routerisk.siting.sites_layers`.
    """
    s = sites.to_crs(4326)
    cov = coverage.to_crs(4326) if coverage is not None and len(coverage) else None
    data = {
        "lat": np.round(s.geometry.y.to_numpy(), _DIGITS).tolist(),
        "lon": np.round(s.geometry.x.to_numpy(), _DIGITS).tolist(),
        "rank": _num(s.get("rank", pd.Series(range(1, len(s) + 1))), 0),
        "loc": _text(s, "locality"),
        "state": _text(s, "state"),
        "gain": _num(s.get("marginal_risk_covered", np.nan), 1),
        "cum": _num(100 * pd.to_numeric(s.get("cum_share_covered", np.nan), errors="coerce"), 1),
        "near": _num(s.get("nearest_existing_km", np.nan), 1),
        "cov": [] if cov is None else [_line_coords(g) for g in cov.geometry],
        "site": SITE_COLOR,
        "line": COVERAGE_COLOR,
    }
    code = """
  var g = L.featureGroup([]);
  for (var j = 0; j < D.cov.length; j++) {
    L.polyline(D.cov[j], {color: D.line, weight: 9, opacity: 0.45, pane: 'rrZones', interactive: false}).addTo(g);
  }
  function f(v) { return v === null ? '–' : v; }
  for (var i = 0; i < D.lat.length; i++) {
    var tip = '<b>Proposed site ' + f(D.rank[i]) + ': ' + D.loc[i] + '</b> (' + D.state[i] + ')' +
              '<br>risk covered beyond earlier sites: ' + f(D.gain[i]) +
              '<br>cumulative share of route risk covered: ' + f(D.cum[i]) + ' %' +
              '<br>nearest existing shelter: ' + f(D.near[i]) + ' km';
    var icon = L.divIcon({className: 'rr-site', iconSize: [18, 18], html: '<div style="background:' + D.site +
      ';color:#fff;font:bold 11px sans-serif;width:18px;height:18px;line-height:18px;text-align:center;' +
      'border:1.5px solid #fff">' + f(D.rank[i]) + '</div>'});
    L.marker([D.lat[i], D.lon[i]], {icon: icon, pane: 'rrPoints'}).bindTooltip(tip).addTo(g);
  }
  return g;
"""
    return data, code


def gaps_layer(gaps: Any) -> tuple[dict, str]:
    """Protection gaps: high-risk stretches with no shelter within reach, dashed, with a ranked tooltip."""
    gp = gaps.to_crs(4326)
    data = {
        "c": [_line_coords(g) for g in gp.geometry],
        "rank": _num(gp.get("rank", pd.Series(range(1, len(gp) + 1))), 0),
        "name": _text(gp, "name") if "name" in gp else _text(gp, "route_id"),
        "a": _num(gp.get("from_km", np.nan), 1),
        "b": _num(gp.get("to_km", np.nan), 1),
        "len": _num(gp.get("length_km", np.nan), 1),
        "risk": _num(gp.get("mean_risk", np.nan), 1),
        "color": GAP_COLOR,
    }
    code = """
  var g = L.featureGroup([]);
  function f(v) { return v === null ? '–' : v; }
  for (var i = 0; i < D.c.length; i++) {
    var tip = '<b>Protection gap ' + f(D.rank[i]) + '</b><br>' + D.name[i] + ', km ' + f(D.a[i]) + '–' + f(D.b[i]) +
              '<br>length: ' + f(D.len[i]) + ' km, mean risk ' + f(D.risk[i]) + '<br>no shelter within reach';
    L.polyline(D.c[i], {color: D.color, weight: 3, dashArray: '2 6', opacity: 0.95, pane: 'rrPoints',
                        className: 'rr-gap'}).bindTooltip(tip, {sticky: true}).addTo(g);
  }
  return g;
"""
    return data, code
