"""The map layers: one record per layer, drawn by both renderers (HTML and print), in one registry.

:data:`LAYERS` maps a layer's name to its :class:`MapLayer`: the label shown in the HTML layer control, the
function that builds its Leaflet layer (``draw_folium(data) -> Leaflet | None``), the function that draws it on the
print map (``draw_mpl(ax, data) -> legend handles``), whether it is visible when the HTML opens and whether a
public map may show it. :func:`routerisk.maps.heatmap`, :func:`routerisk.maps.static_map`,
:func:`routerisk.maps.write_run_maps`, :func:`routerisk.pipeline.run` and ``routerisk map --layers`` all read it,
so a layer added with :func:`register_layer` appears in the layer control, on the print map and in its legend.

Every layer receives a :class:`MapData` whose shelters are already publishable; a layer returning None (nothing
to draw) is left out of the control. User text must go through :func:`routerisk.maps.escape_text` into the
layer's JSON data (never into ``code``, which is fixed JavaScript).

Examples
--------
>>> list(LAYERS)
['heat', 'zones', 'segments', 'shelters', 'gaps', 'sites', 'detention', 'access', 'incidents']
>>> [name for name, layer in LAYERS.items() if not layer.public]
['incidents']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigError
from ._access import access_folium, access_mpl
from ._common import Leaflet, MapData
from ._deployment import deployment_layer, is_deployment
from ._detention import detention_folium, detention_mpl
from ._heat import heat_folium, heat_mpl
from ._leaflet import cluster_layer, gaps_layer, segments_layer, shelters_layer, sites_layer, zones_layer
from ._mpl import gaps_mpl, incidents_mpl, segments_mpl, shelters_mpl, sites_mpl, zones_mpl

__all__ = ["LAYERS", "Leaflet", "MapData", "MapLayer", "layer_names", "register_layer", "select_layers"]


@dataclass(frozen=True)
class MapLayer:
    """One map layer, for both renderers.

    Attributes
    ----------
    name : str
        Key in :data:`LAYERS` and choice of ``routerisk map --layers``.
    label : str
        Name in the HTML layer control.
    draw_folium : callable
        ``draw_folium(data: MapData) -> Leaflet | None``; None when there is nothing to draw.
    draw_mpl : callable
        ``draw_mpl(ax, data: MapData) -> list`` of matplotlib legend handles (empty for none).
    show : bool
        Visible when the HTML map opens (the reader can switch it on in the layer control otherwise).
    public : bool
        Whether a public map may draw it at all (False for anything showing individual records).
    assets : tuple of str
        Extra inlined JavaScript it needs (``"markercluster"``).
    description : str
        One line for ``routerisk map --help`` and the docs.
    """

    name: str
    label: str
    draw_folium: Callable[[MapData], Leaflet | None]
    draw_mpl: Callable[[Any, MapData], list[Any]]
    show: bool = True
    public: bool = True
    assets: tuple[str, ...] = ()
    description: str = ""


def _leaflet(result: tuple[Any, str] | None) -> Leaflet | None:
    return None if result is None else Leaflet(*result)


def _zones_folium(d: MapData) -> Leaflet | None:
    if is_deployment(d.zones):  # a state-month table: one choropleth of the window, not stacked month polygons
        return _leaflet(deployment_layer(d.zones, d.model))
    return _leaflet(zones_layer(d.zones)) if d.zones is not None and len(d.zones) else None


def _segments_folium(d: MapData) -> Leaflet | None:
    return _leaflet(segments_layer(d.segments, min_count=d.min_count, public=d.public))


def _shelters_folium(d: MapData) -> Leaflet | None:
    return _leaflet(shelters_layer(d.shelters)) if d.shelters is not None and len(d.shelters) else None


def _gaps_folium(d: MapData) -> Leaflet | None:
    gaps = d.site_layer("gaps")
    return None if gaps is None else _leaflet(gaps_layer(gaps))


def _sites_folium(d: MapData) -> Leaflet | None:
    sites = d.site_layer("sites")
    return None if sites is None else _leaflet(sites_layer(sites, d.site_layer("coverage")))


def _incidents_folium(d: MapData) -> Leaflet | None:
    inc = d.incidents
    if d.public or inc is None or not 0 < len(inc) <= d.point_limit:
        return None
    placed = inc[~inc.geometry.is_empty & inc.geometry.notna()].to_crs(4326)
    return _leaflet(cluster_layer(placed))


#: The registered layers, in drawing and layer-control order.
LAYERS: dict[str, MapLayer] = {}


def register_layer(layer: MapLayer, *, before: str | None = None) -> MapLayer:
    """Add (or replace) a layer in :data:`LAYERS`, at the end or just before the layer named ``before``.

    Examples
    --------
    >>> noop = MapLayer("demo", "Demo", draw_folium=lambda d: None, draw_mpl=lambda ax, d: [])
    >>> _ = register_layer(noop, before="incidents")
    >>> list(LAYERS)[-2:]
    ['demo', 'incidents']
    >>> _ = LAYERS.pop("demo")
    """
    if not layer.name or not layer.name.replace("_", "").isalnum():
        msg = f"a map layer's name was {layer.name!r} but must be letters, digits and underscores"
        raise ConfigError(msg)
    items = [(k, v) for k, v in LAYERS.items() if k != layer.name]
    at = next((i for i, (k, _) in enumerate(items) if k == before), len(items))
    items.insert(at, (layer.name, layer))
    LAYERS.clear()
    LAYERS.update(items)
    return layer


def layer_names() -> tuple[str, ...]:
    """Names of the registered layers, in order (the choices of ``routerisk map --layers``).

    Examples
    --------
    >>> layer_names()[:3]
    ('heat', 'zones', 'segments')
    """
    return tuple(LAYERS)


def select_layers(
    layers: Iterable[str] | Mapping[str, MapLayer] | str | None, privacy: str = "internal"
) -> dict[str, MapLayer]:
    """The layers a map draws: all registered ones (public-safe only in public mode), named ones, or a mapping.

    Parameters
    ----------
    layers : None, str, iterable of str or mapping of str to MapLayer
        None: every registered layer a map in ``privacy`` may show. Names (a list, or one comma-separated
        string): those layers, in registry order. A mapping: those layer records as given (a caller's own).
    privacy : {"internal", "public"}
        A public map refuses a layer that is not public-safe when it is named, and leaves it out by default.

    Raises
    ------
    ConfigError
        For an unknown name, or a layer that is not public-safe named for a public map.

    Examples
    --------
    >>> list(select_layers("segments,heat"))
    ['heat', 'segments']
    >>> "incidents" in select_layers(None, "public")
    False
    >>> select_layers(["incidents"], "public")
    Traceback (most recent call last):
    ...
    routerisk._errors.ConfigError: map layer 'incidents' shows individual records and cannot be drawn on a public map
    """
    public = privacy == "public"
    if layers is None:
        return {k: v for k, v in LAYERS.items() if v.public or not public}
    if isinstance(layers, Mapping):
        chosen = dict(layers)
    else:
        names = [n.strip() for n in (layers.split(",") if isinstance(layers, str) else layers) if n.strip()]
        unknown = [n for n in names if n not in LAYERS]
        if unknown:
            msg = f"unknown map layer(s) {unknown}; choose from {list(LAYERS)}"
            raise ConfigError(msg)
        chosen = {k: v for k, v in LAYERS.items() if k in names}
    for layer in chosen.values():
        if public and not layer.public:
            msg = f"map layer {layer.name!r} shows individual records and cannot be drawn on a public map"
            raise ConfigError(msg)
    return chosen


for _layer in (
    MapLayer("heat", "Incident heat", heat_folium, heat_mpl,
             description="incident heat: kernel surface (or client-side points), one frame per period"),
    MapLayer("zones", "Enforcement zones", _zones_folium, zones_mpl, description="enforcement zones (dashed)"),
    MapLayer("segments", "Route segments by risk class", _segments_folium, segments_mpl,
             description="route segments coloured by risk class (grey where suppressed)"),
    MapLayer("shelters", "Shelters and asylum offices", _shelters_folium, shelters_mpl,
             description="shelters and asylum offices (sensitive ones at locality level in public mode)"),
    MapLayer("gaps", "Protection gaps", _gaps_folium, gaps_mpl,
             description="protection gaps of a siting result: high risk, no shelter in reach"),
    MapLayer("sites", "Proposed shelter sites", _sites_folium, sites_mpl,
             description="proposed shelter sites of a siting result and the stretches they cover"),
    MapLayer("detention", "Detention sites (city level)", detention_folium, detention_mpl,
             description="migration stations and checkpoints (city level, public reporting; routerisk access)"),
    MapLayer("access", "Access to asylum offices (network km)", access_folium, access_mpl,
             description="network km to the nearest asylum office (segments with access columns only)"),
    MapLayer("incidents", "Incidents (individual records)", _incidents_folium, incidents_mpl, show=False,
             public=False, assets=("markercluster",),
             description="individual incident records (internal maps only)"),
):
    register_layer(_layer)
