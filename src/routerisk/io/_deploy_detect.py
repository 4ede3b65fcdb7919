"""Recognise a state-month deployment table by its columns (``routerisk score --zones`` without a format)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._tables import norm_name
from ._vector import is_vector

__all__ = ["is_deployment_table"]

_YEAR = {"ano", "anio", "year", "a_o"}
_MONTH = {"mes", "month"}
_STATE = {"cve_entidad", "cve_ent", "state_code", "clave_entidad", "entidad", "state", "estado"}
_PERSONNEL = {"despliegue", "personnel", "deployment", "elementos"}
_GEOMETRY = {"geometry", "wkt", "lat", "lon", "latitude", "longitude", "radius_m", "x", "y"}


def is_deployment_table(path: str | os.PathLike[str]) -> bool:
    """Whether a delimited text file's header is that of a state-month deployment table.

    The header must name a year (``ano``/``year``), a month (``mes``/``month``), a state (``cve_entidad``,
    ``entidad``, ``state_code``, ``state``, ``estado``) and the personnel (``despliegue``, ``personnel``,
    ``deployment``, ``elementos``), and no geometry column (``geometry``, ``wkt``, ``lat``/``lon``, ``radius_m``).
    Vector files and unreadable files are not deployment tables (their reader reports the problem).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gn.csv"
    >>> _ = p.write_text("ano,mes,entidad,cve_entidad,despliegue\\n2019,jul,chiapas,07,2500\\n")
    >>> is_deployment_table(p), is_deployment_table(p.with_name("missing.csv"))
    (True, False)
    """
    p = Path(path)
    if is_vector(p):
        return False
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    for enc in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        return False
    line = text.splitlines()[0] if text else ""
    names = {norm_name(c.strip().strip('"')) for c in re.split(r"[,;\t|]", line)}
    return bool(names & _YEAR and names & _MONTH and names & _STATE and names & _PERSONNEL and not names & _GEOMETRY)
