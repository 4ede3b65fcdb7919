"""``report.html``: one self-contained offline file (inline CSS, figures as PNG data URIs, the live map in an
``<iframe srcdoc>``), and the embed snippet for web reports.

Every text from the run (route and locality names, manifest values, the title) passes through
:func:`routerisk.maps.escape_text` (:func:`routerisk._sinks.html_text`): it is data, never markup or a template.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import Any

from ..maps import escape_text
from .document import ReportSection
from .figures import png_bytes

__all__ = ["embed_snippet", "render_html"]

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1100px;margin:0 auto;
 padding:16px 24px}
h1{font-size:26px;margin:8px 0}h2{font-size:20px;margin:28px 0 8px;border-bottom:1px solid #ddd}h3{font-size:16px}
table{border-collapse:collapse;font-size:12.5px;width:100%;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.h{word-break:break-all;font-family:monospace;font-size:11px}
figure{margin:10px 0}figure img{max-width:100%;height:auto}figcaption{font-size:12.5px;color:#555}
.rr-embed iframe{position:absolute;top:0;left:0;width:100%;height:100%;border:0}
@media print{.rr-embed{display:none}}
"""


def embed_snippet(*, src: str | None = None, srcdoc: str | None = None, title: str = "routerisk map",
                  ratio: tuple[int, int] = (16, 10)) -> str:  # fmt: skip
    """An ``<iframe>`` with a fixed aspect ratio (CSS ``aspect-ratio``, padding-top fallback) for web reports.

    Give ``src`` (a URL of ``map.html``, e.g. ``"map.html#period=2024-03&route=isthmus"``) or ``srcdoc`` (the
    whole map document, embedded). Both are escaped as attribute values; the map reads its URL parameters itself.

    Examples
    --------
    >>> s = embed_snippet(src="map.html#route=isthmus")
    >>> 'padding-top:62.5%' in s and 'src="map.html#route=isthmus"' in s
    True
    """
    if (src is None) == (srcdoc is None):
        msg = "give exactly one of `src` and `srcdoc`"
        raise ValueError(msg)
    pad = 100.0 * ratio[1] / ratio[0]
    target = f'src="{html.escape(src, quote=True)}"' if src is not None else \
        f'srcdoc="{html.escape(srcdoc or "", quote=True)}"'  # fmt: skip
    return (
        f'<div class="rr-embed" style="position:relative;width:100%;height:0;padding-top:{pad:g}%">'
        f'<iframe title="{escape_text(title)}" {target} sandbox="allow-scripts" loading="lazy" '
        'style="position:absolute;top:0;left:0;width:100%;height:100%;border:0"></iframe></div>\n'
    )


def _table(rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape_text(c)}</th>" for c in rows[0])
    hashes = {i for i, c in enumerate(rows[0]) if str(c) == "SHA-256"}
    body = "".join(
        "<tr>" + "".join(f'<td{" class=h" if i in hashes else ""}>{escape_text(c)}</td>' for i, c in enumerate(r))
        + "</tr>" for r in rows[1:]
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(caption: str, make: Callable[[], Any]) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png_bytes(make(), dpi=110)).decode("ascii")
    return (f'<figure><img src="{uri}" alt="{escape_text(caption)}">'
            f"<figcaption>{escape_text(caption)}</figcaption></figure>")  # fmt: skip


def render_html(sections: Sequence[ReportSection], *, map_doc: str | None, title: str, privacy: str) -> str:
    """The report as one HTML document (no external resource)."""
    parts = []
    for sec in sections:
        level = min(max(sec.level, 1), 3)
        parts.append(f"<h{level}>{escape_text(sec.heading)}</h{level}>")
        for block in sec.blocks:
            if block[0] == "p":
                parts.append(f"<p>{escape_text(block[1])}</p>")
            elif block[0] == "table":
                parts.append(_table(block[1]))
            elif block[0] == "figure":
                parts.append(_figure(block[1], block[2]))
            elif block[0] == "map":
                parts.append(embed_snippet(srcdoc=map_doc, title=f"{title} (map)") if map_doc else
                             "<p>No map could be drawn for this run.</p>")  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="routerisk-privacy" content="{escape_text(privacy)}">'
        f"<title>{escape_text(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(parts)
        + '\n<script>document.documentElement.setAttribute("data-routerisk-ready", "1");</script>\n</body></html>\n'
    )
