"""``write_report``: a run folder in, a report folder out (``report.html``, ``report.pdf``, ``manifest.json``)."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from .._atomic import atomic_dir
from ..manifest import MANIFEST_NAME, sha256_file, write_manifest
from ..privacy import DEFAULT_MIN_COUNT
from .content import ReportData, load_report_data
from .document import build_document
from .html import render_html
from .pdf import render_pdf

__all__ = ["DEFAULT_TITLE", "DEFAULT_TOP", "write_report"]

DEFAULT_TITLE = "Risk along migration routes"
DEFAULT_TOP = 20


def _maps(data: ReportData) -> tuple[str | None, bytes | None]:
    """The run's map document and print map; drawn from its outputs when the run has none."""
    doc = data.map_html.read_text(encoding="utf-8") if data.map_html else None
    png = data.map_png.read_bytes() if data.map_png else None
    if doc is not None and png is not None:
        return doc, png
    from ..maps import model_from_manifest, write_run_maps  # lazy: folium and matplotlib, only to draw

    priv = data.manifest.get("privacy") or {}
    with tempfile.TemporaryDirectory(prefix="routerisk-report-") as tmp:
        formats = tuple(f for f, have in (("html", doc), ("png", png)) if have is None)
        write_run_maps(
            tmp, segments=data.segments, incidents=data.incidents, zones=data.zones, shelters=data.shelters,
            model=model_from_manifest(data.manifest), privacy=data.privacy,
            min_count=int(priv.get("min_count") or DEFAULT_MIN_COUNT), formats=formats, surface_tif=False,
            manifest=data.manifest,
        )  # fmt: skip
        if doc is None:
            doc = (Path(tmp) / "map.html").read_text(encoding="utf-8")
        if png is None:
            png = (Path(tmp) / "map.png").read_bytes()
    return doc, png


def _inputs(data: ReportData) -> list[dict[str, Any]]:
    files = sorted(p for p in data.run.iterdir() if p.is_file())
    recs = [{"role": "run", "path": str(p.absolute()), "sha256": sha256_file(p)} for p in files]
    recs += [{"role": p.stem, "path": str(p.absolute()), "sha256": sha256_file(p)} for p in data.extra_inputs]
    return recs


def write_report(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    title: str = DEFAULT_TITLE,
    top: int = DEFAULT_TOP,
    trends: str | os.PathLike[str] | None = None,
    change: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    pdf: bool = True,
    command: str | None = None,
) -> Path:
    """Write a report of a run folder: ``report.html`` (offline, with the live map), ``report.pdf`` (A4) and
    ``manifest.json``, atomically into ``out``.

    The run folder is only read (an ``out`` that is, holds or lies inside it is refused). A public run gives a
    public report: no incident coordinates, no free text, no suppressed numbers, and trend/change tables only from
    public analyses.

    Parameters
    ----------
    run : path
        A run folder (``routerisk score`` / ``demo``).
    out : path
        The report folder (created; replaced only with ``overwrite=True``).
    title : str
        Report title (shown literally).
    top : int, default 20
        Rows of the table of riskiest stretches.
    trends, change : path, optional
        Output folders of ``routerisk trends`` / ``routerisk change``; by default ``trends.csv`` / ``change.csv``
        of the run folder are used when present.
    overwrite : bool, default False
        Replace an existing report folder.
    pdf : bool, default True
        Also write ``report.pdf`` (needs reportlab).
    command : str, optional
        The command line to record.

    Returns
    -------
    pathlib.Path
        The report folder.

    Examples
    --------
    >>> write_report("/nonexistent", "/tmp/never-written")
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: run folder '/nonexistent' does not exist or is not a folder
    """
    if int(top) < 1:
        from .._errors import ConfigError

        msg = f"`top` was {top!r} but must be at least 1"
        raise ConfigError(msg)
    data = load_report_data(run, trends=trends, change=change)  # fails on a bad run before any output
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite, inputs=(run, trends, change)) as tmp:
        sections = build_document(data, title=title, top=int(top))
        map_doc, map_png = _maps(data)
        (tmp / "report.html").write_text(render_html(sections, map_doc=map_doc, title=title, privacy=data.privacy),
                                         encoding="utf-8")  # fmt: skip
        if pdf:
            render_pdf(sections, tmp / "report.pdf", map_png=map_png, title=title, privacy=data.privacy)
        priv = data.manifest.get("privacy") or {}
        write_manifest(tmp, {
            "command": command if command is not None else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "inputs": _inputs(data),
            "report": {"title": title, "top": int(top), "run": str(data.run.absolute()),
                       "run_manifest_sha256": sha256_file(data.run / MANIFEST_NAME)
                       if (data.run / MANIFEST_NAME).is_file() else None},
            "privacy": {"mode": data.privacy, "min_count": priv.get("min_count")},
        })  # fmt: skip
    return out
