"""Maps of a scored run: the interactive offline HTML map, static print maps, and their helpers.

The core (scoring, surface) never imports this package.
"""

from __future__ import annotations

from ._escape import escape_text
from .interactive import heatmap, save_html
from .run import load_run, publishable_shelters, write_run_maps
from .static import save_static, static_map

__all__ = [
    "escape_text",
    "heatmap",
    "load_run",
    "publishable_shelters",
    "save_html",
    "save_static",
    "static_map",
    "write_run_maps",
]
