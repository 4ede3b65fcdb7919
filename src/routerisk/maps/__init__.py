"""Maps of a scored run: the interactive offline HTML map, static print maps, and their helpers.

Every layer is drawn by both renderers from one registry (:mod:`routerisk.maps.layers`). The core (scoring,
surface) never imports this package.
"""

from __future__ import annotations

from ..privacy import publishable_shelters
from ._common import POINT_LIMIT
from ._escape import escape_text
from .interactive import heatmap, save_html
from .layers import LAYERS, MapData, MapLayer, register_layer, select_layers
from .outputs import load_run, model_from_manifest, provenance_of, write_run_maps
from .static import save_static, static_map

__all__ = [
    "LAYERS",
    "POINT_LIMIT",
    "MapData",
    "MapLayer",
    "escape_text",
    "heatmap",
    "load_run",
    "model_from_manifest",
    "provenance_of",
    "publishable_shelters",
    "register_layer",
    "save_html",
    "save_static",
    "select_layers",
    "static_map",
    "write_run_maps",
]
