"""The escaping helpers of the maps: user-derived text in HTML, and JSON safe inside ``<script>``.

They are the map side of :mod:`routerisk._sinks`, the one place that decides how user text is made inert for each
output (HTML, JavaScript, matplotlib text, CSV). folium does not escape text in popups, tooltips or layer names,
and strings end up in HTML, in JavaScript string and template literals, and in ``<script>`` blocks.
:func:`escape_text` makes any string inert in all of them: it HTML-escapes ``& < > " '`` and also turns the
backslash, the backtick and ``$`` into character references, so the result has no character that can end a tag, a
string, a template literal or open ``${...}``. The browser shows the escaped text literally wherever it is
inserted as HTML. No user text is ever given to a template engine (see :mod:`routerisk.maps.interactive`).
"""

from __future__ import annotations

from .._sinks import html_text as escape_text
from .._sinks import js_json

__all__ = ["escape_text", "js_json"]
