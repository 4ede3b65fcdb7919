"""Reports of a run: ``report.html`` (offline, with the live map), ``report.pdf`` (A4, 300 dpi figures) and the
embed snippet for web reports. ``routerisk report`` calls :func:`write_report`.

Modules: :mod:`.content` (what is shown), :mod:`.figures` (matplotlib), :mod:`.methods` (the methods section from
the manifest), :mod:`.document` (sections shared by both outputs), :mod:`.html` and :mod:`.pdf` (the two sinks,
each with its escaping rule), :mod:`.core` (the atomic output folder and its manifest).
"""

from __future__ import annotations

from .content import nearest_localities, riskiest_stretches, route_profiles
from .core import DEFAULT_TITLE, DEFAULT_TOP, write_report
from .document import REPORT_SECTIONS
from .html import embed_snippet
from .pdf import pdf_text

__all__ = [
    "DEFAULT_TITLE",
    "DEFAULT_TOP",
    "REPORT_SECTIONS",
    "embed_snippet",
    "nearest_localities",
    "pdf_text",
    "riskiest_stretches",
    "route_profiles",
    "write_report",
]
