"""Every place user text leaves routerisk, and the one way it is made inert for each.

Text from input files (route, zone and shelter names, incident notes and sources, rejected values), from options
(``--title``) and from file names is hostile: it is data, never markup, code, a template or a formula.

====================  ==========================================================================================
Sink                  Rule (helper)
====================  ==========================================================================================
HTML / JS strings     :func:`html_text`: HTML-escape ``& < > " '`` plus ``\\ ` $`` as character references
Inline ``<script>``   :func:`js_json`: JSON with ``< > &`` and the JS line separators as ``\\uXXXX``
HTML templates        none reach one: the interactive map never puts text into a Jinja2/branca template; data
                      are written after rendering, as JSON read by the page's script (see
                      :mod:`routerisk.maps.interactive`)
matplotlib text       :data:`MPL_TEXT`: ``parse_math=False, usetex=False`` on every ``Text`` (no mathtext, no TeX)
CSV cells             :func:`write_csv` / :func:`csv_safe`: a text cell starting with ``= + - @``, a tab or a
                      carriage return (after optional spaces) gets a leading ``'`` (OWASP CSV injection rule);
                      numbers, and text that is a plain decimal number such as ``-91.5``, are left as they are
====================  ==========================================================================================
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any

import pandas as pd

__all__ = ["CSV_TRIGGERS", "MPL_TEXT", "csv_cell", "csv_safe", "html_text", "js_json", "write_csv"]

_EXTRA = str.maketrans({"\\": "&#92;", "`": "&#96;", "$": "&#36;"})
_JS_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})

#: First characters that make a spreadsheet read a cell as a formula (OWASP), checked after leading spaces.
CSV_TRIGGERS = "=+-@\t\r"
_TRIGGER = re.compile(r"^ *[=+\-@\t\r]")
_NUMERAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

#: Keyword arguments for every matplotlib ``Text`` that may hold user text: shown literally, never as mathtext/TeX.
MPL_TEXT: dict[str, Any] = {"parse_math": False, "usetex": False}


def html_text(value: Any) -> str:
    """Escape a user-derived value for HTML, JavaScript strings and template literals.

    Parameters
    ----------
    value : Any
        Text (or anything, converted with ``str``); ``None`` and NaN become ``""``.

    Returns
    -------
    str
        Text with ``& < > " ' \\ ` $`` replaced by HTML character references; the browser shows it literally
        wherever it is inserted as HTML.

    Examples
    --------
    >>> html_text("<b>${x}</b> `\\\\`")
    '&lt;b&gt;&#36;{x}&lt;/b&gt; &#96;&#92;&#96;'
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True).translate(_EXTRA)


def js_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe inside an inline ``<script>`` block (JS or ``application/json``).

    ``<``, ``>``, ``&`` and the JavaScript line separators are written as ``\\uXXXX`` escapes, so no ``</script``
    or ``<!--`` can appear. Strings must already be escaped with :func:`html_text` when they are shown as HTML.

    Examples
    --------
    >>> js_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).translate(_JS_UNSAFE)


def csv_cell(value: Any) -> Any:
    """Neutralise one CSV cell: text a spreadsheet would read as a formula gets a leading ``'``.

    Numbers (and text that is a plain decimal number) are returned unchanged.

    Examples
    --------
    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("@SUM(A1)"), csv_cell("-2+3"), csv_cell("Arriaga")
    ('\\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3", 'Arriaga')
    >>> csv_cell(-91.5), csv_cell("-91.5")
    (-91.5, '-91.5')
    """
    if isinstance(value, str) and _TRIGGER.match(value) and not _NUMERAL.fullmatch(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot be read as spreadsheet formulas.

    Only columns that can hold text (object, string, category) are examined, vectorised; numeric, boolean and date
    columns are untouched, so negative numbers stay numbers.

    Examples
    --------
    >>> df = pd.DataFrame({"name": ["=1+1", "ok", "-"], "lon": [-92.3, -93.0, 1.0]})
    >>> out = csv_safe(df)
    >>> out["name"].tolist(), out["lon"].tolist()
    (["'=1+1", 'ok', "'-"], [-92.3, -93.0, 1.0])
    """
    out = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
                or isinstance(s.dtype, pd.CategoricalDtype)):
            continue
        text = s.astype("string")
        bad = (text.str.match(_TRIGGER) & ~text.str.fullmatch(_NUMERAL)).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            fixed = s.astype(object).copy()
            fixed[bad] = ("'" + text[bad]).to_numpy(dtype=object)
            out.isetitem(i, fixed)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in frame.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write ``frame`` as CSV (no index) after :func:`csv_safe`: the one CSV writer of routerisk.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : path
        The file (callers make the write atomic: a temporary run folder or :func:`routerisk._atomic.atomic_file`).
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv` (``index=False`` unless given).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "x": [-1]}), p)
    >>> p.read_text().splitlines()[1]
    "'=cmd|' /C calc'!A0,-1"
    """
    kwargs.setdefault("index", False)
    csv_safe(frame).to_csv(path, **kwargs)
