"""``report.pdf``: the report's content paginated for print (A4, figures at 300 dpi), with reportlab.

reportlab parses ``<``, ``>`` and ``&`` in a ``Paragraph`` as markup, so every text is escaped with
:func:`pdf_text` first. The interactive map becomes the run's print map (``map.png``), or one drawn from its
outputs.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .._errors import ConfigError
from .document import ReportSection
from .figures import png_bytes

__all__ = ["INSTALL_HINT", "pdf_text", "render_pdf"]

#: What to do when reportlab is missing.
INSTALL_HINT = "the PDF report needs reportlab (a dependency of routerisk): pip install reportlab, or use --no-pdf"
_DPI = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def pdf_text(value: Any) -> str:
    """Text made inert for a reportlab ``Paragraph`` (``& < >`` escaped; markup is never parsed from data).

    Control characters other than tab and line breaks are dropped (they have no glyph and upset PDF viewers).

    Examples
    --------
    >>> pdf_text("<b>x</b> & <font size=40>")
    '&lt;b&gt;x&lt;/b&gt; &amp; &lt;font size=40&gt;'
    """
    text = "" if value is None else str(value)
    return escape(_CONTROL.sub("", text))


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    ss = getSampleStyleSheet()
    return {
        "h1": ss["Title"], "h2": ss["Heading2"], "h3": ss["Heading3"], "p": ss["BodyText"],
        "cell": ParagraphStyle("cell", parent=ss["BodyText"], fontSize=6.5, leading=8),
        "hash": ParagraphStyle("hash", parent=ss["BodyText"], fontName="Courier", fontSize=5.2, leading=6.5,
                               wordWrap="CJK"),
        "caption": ParagraphStyle("caption", parent=ss["BodyText"], fontSize=8, textColor="#555555"),
    }  # fmt: skip


def _image(png: bytes, width: float) -> Any:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    w, h = ImageReader(io.BytesIO(png)).getSize()
    return Image(io.BytesIO(png), width=width, height=width * h / w)


def _table(rows: Sequence[Sequence[Any]], st: dict[str, Any], width: float) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    hashes = {i for i, c in enumerate(rows[0]) if str(c) == "SHA-256"}
    data = [[Paragraph(pdf_text(c), st["hash"] if (i in hashes and r) else st["cell"]) for i, c in enumerate(row)]
            for r, row in enumerate(rows)]  # fmt: skip
    # widths by the longest word and a quarter of the longest text of each column (hashes wrap anywhere)
    cols = list(zip(*rows, strict=True))
    words = [max(max((len(w) for w in str(c).split()), default=1) for c in col) for col in cols]
    weight = [18.0 if i in hashes else min(max(w, 0.25 * max(len(str(c)) for c in col), 4.0), 40.0)
              for i, (w, col) in enumerate(zip(words, cols, strict=True))]  # fmt: skip
    widths = [width * w / sum(weight) for w in weight]
    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))  # fmt: skip
    return t


def _footer(text: str):
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(doc.leftMargin, 12 * 2.8346, text[:150])  # drawn as text, never parsed as markup
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 12 * 2.8346, f"page {doc.page}")
        canvas.restoreState()

    return draw


def render_pdf(
    sections: Sequence[ReportSection], path: str | os.PathLike[str], *, map_png: bytes | None, title: str,
    privacy: str,
) -> Path:  # fmt: skip
    """Write the report's sections as an A4 PDF into ``path`` (inside an atomic output folder)."""
    try:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=title, author="routerisk", invariant=1)  # fmt: skip
    width = doc.width
    story: list[Any] = []
    for sec in sections:
        story.append(Paragraph(pdf_text(sec.heading), st[f"h{min(max(sec.level, 1), 3)}"]))
        for block in sec.blocks:
            if block[0] == "p":
                story.append(Paragraph(pdf_text(block[1]), st["p"]))
            elif block[0] == "table":
                story.append(_table(block[1], st, width))
            elif block[0] == "figure":
                fig = block[2]()
                story.append(_image(png_bytes(fig, dpi=_DPI), min(width, fig.get_size_inches()[0] * 72)))
                story.append(Paragraph(pdf_text(block[1]), st["caption"]))
            elif block[0] == "map":
                if map_png:
                    story.append(_image(map_png, width * 0.9))
                story.append(Paragraph("The interactive map is in report.html; this is the print map of the run.",
                                       st["caption"]))  # fmt: skip
            story.append(Spacer(1, 2 * mm))
    footer = _footer(f"{title} - routerisk report ({privacy} mode)")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return Path(path)
