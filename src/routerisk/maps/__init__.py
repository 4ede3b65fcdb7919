"""Maps of a scored run: the interactive offline HTML map, static print maps, and their helpers.

The core (scoring, surface) never imports this package.
"""

from __future__ import annotations

from ._escape import escape_text
from .interactive import heatmap, save_html

__all__ = ["escape_text", "heatmap", "save_html"]
