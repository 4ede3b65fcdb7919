"""The one escaping helper for user-derived text in maps, and a JSON encoder safe inside ``<script>``.

folium does not escape text in popups, tooltips or layer names, and strings end up in HTML, in JavaScript string
and template literals, and in ``<script>`` blocks. :func:`escape_text` makes any string inert in all of them: it
HTML-escapes ``& < > " '`` and also turns the backslash, the backtick and ``$`` into character references, so the
result has no character that can end a tag, a string, a template literal or open ``${...}``. The browser shows
the escaped text literally wherever it is inserted as HTML.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["escape_text", "js_json"]

_EXTRA = str.maketrans({"\\": "&#92;", "`": "&#96;", "$": "&#36;"})
_JS_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def escape_text(value: Any) -> str:
    """Escape a user-derived value for HTML, JavaScript strings and template literals.

    Parameters
    ----------
    value : Any
        Text (or anything, converted with ``str``); ``None`` and NaN become ``""``.

    Returns
    -------
    str
        Text with ``& < > " ' \\ ` $`` replaced by HTML character references.

    Examples
    --------
    >>> escape_text("<b>${x}</b> `\\\\`")
    '&lt;b&gt;&#36;{x}&lt;/b&gt; &#96;&#92;&#96;'
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True).translate(_EXTRA)


def js_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe to place inside an inline ``<script>`` block.

    ``<``, ``>``, ``&`` and the JavaScript line separators are written as ``\\uXXXX`` escapes, so no ``</script``
    or ``<!--`` can appear. Strings must already be escaped with :func:`escape_text` when they are shown as HTML.

    Examples
    --------
    >>> js_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).translate(_JS_UNSAFE)
