"""Check a run's ``manifest.json`` before ``rerun`` trusts it: every field it uses, with its type and range.

A manifest is an input like any other (it may have been edited by hand or by an attacker): a missing key, a
wrong type, an unknown role or a map name that would leave the run folder is one clear :class:`InputError`
naming the file and the field, never a ``KeyError`` deep inside the pipeline.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from .._errors import InputError
from .formats import incident_format_names

__all__ = ["check_rerun_manifest", "check_run_manifest"]

_ROLES = ("incidents", "routes", "zones", "shelters", "detention")
_FORMATS = {
    "incidents": incident_format_names,  # read when checked: formats registered later count
    "routes": ("auto",),
    "zones": ("auto", "deployments"),
    "shelters": ("auto",),
    "detention": ("auto",),
}
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def _fail(path: str, field: str, what: str) -> InputError:
    return InputError(f"manifest {path!r} cannot be rerun: `{field}` {what}", path=path)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_rerun_manifest(doc: dict[str, Any], path: str | os.PathLike[str]) -> list[Path]:
    """Raise :class:`InputError` when ``doc`` lacks or mistypes a field ``rerun`` uses; return its input files.

    Parameters
    ----------
    doc : dict
        The manifest as read by :func:`routerisk.manifest.read_manifest`.
    path : path
        Where it was read from (for messages).

    Returns
    -------
    list of pathlib.Path
        The input files it records (embedded data excluded).

    Examples
    --------
    >>> doc = {"inputs": [{"role": "routes", "path": "embedded:corridors.csv", "sha256": "0" * 64}],
    ...        "model": {}, "privacy": {"mode": "internal", "min_count": 5}}
    >>> check_rerun_manifest(doc, "manifest.json")
    []
    """
    where = str(path)
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _fail(where, "inputs", "must be a non-empty list")
    files: list[Path] = []
    seen: set[str] = set()
    for i, rec in enumerate(inputs):
        field = f"inputs[{i}]"
        if not isinstance(rec, dict):
            raise _fail(where, field, "must be a table with role, path and sha256")
        role, p, sha = rec.get("role"), rec.get("path"), rec.get("sha256")
        if role not in _ROLES or role in seen:
            raise _fail(where, f"{field}.role", f"was {role!r}; expected one of {_ROLES}, each at most once")
        seen.add(role)
        if not isinstance(p, str) or not p or "\x00" in p:
            raise _fail(where, f"{field}.path", f"was {p!r}; expected a file path")
        if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
            raise _fail(where, f"{field}.sha256", "must be 64 lower-case hexadecimal digits")
        fmt, allowed = rec.get("format", "auto"), _FORMATS[role]
        allowed = allowed() if callable(allowed) else allowed
        if fmt not in allowed:
            raise _fail(where, f"{field}.format", f"was {fmt!r}; expected one of {allowed}")
        if p.startswith("embedded:"):
            name = p.split(":", 1)[1]
            if not _NAME_RE.fullmatch(name):
                raise _fail(where, f"{field}.path", f"names no embedded data file ({name!r})")
        else:
            files.append(Path(p))
    if not isinstance(doc.get("model"), dict):
        raise _fail(where, "model", "must be a table of model parameters")
    privacy = doc.get("privacy")
    if not isinstance(privacy, dict) or not isinstance(privacy.get("mode"), str):
        raise _fail(where, "privacy", "must be a table with `mode` and `min_count`")
    mc = privacy.get("min_count")
    if not isinstance(mc, int) or isinstance(mc, bool) or mc < 1:
        raise _fail(where, "privacy.min_count", f"was {mc!r}; expected a whole number >= 1")
    gm = privacy.get("geomask_m")
    if gm is not None and not (isinstance(gm, list) and len(gm) == 2 and all(_number(v) and v > 0 for v in gm)
                               and gm[0] <= gm[1]):
        raise _fail(where, "privacy.geomask_m", f"was {gm!r}; expected [min_m, max_m] with 0 < min_m <= max_m")
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise _fail(where, "options", "must be a table")
    if not isinstance(options.get("maps", False), bool):
        raise _fail(where, "options.maps", "must be true or false")
    name = options.get("map_name", "map")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise _fail(where, "options.map_name", f"was {name!r}; expected a plain file name (letters, digits, _.-)")
    sites = options.get("sites", 0)
    if not isinstance(sites, int) or isinstance(sites, bool) or not 0 <= sites <= 10_000:
        raise _fail(where, "options.sites", f"was {sites!r}; expected a whole number 0..10000")
    radius = options.get("sites_radius_km", 30.0)
    if not _number(radius) or not 0 < radius <= 20_000:
        raise _fail(where, "options.sites_radius_km", f"was {radius!r}; expected a number in (0, 20000]")
    return files


def check_run_manifest(doc: Any, path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` when the manifest of a run folder lacks or mistypes a field ``map`` reads.

    Parameters
    ----------
    doc : object
        The parsed ``manifest.json`` of a run folder (an empty dict when the folder has none).
    path : path
        Where it was read from (for messages).

    Examples
    --------
    >>> check_run_manifest({"privacy": {"mode": "public", "min_count": 5}, "data": {}}, "run/manifest.json")
    >>> check_run_manifest({"privacy": 5}, "run/manifest.json")
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: manifest 'run/manifest.json' cannot be used: `privacy` must be a table
    """
    where = str(path)

    def fail(field: str, what: str) -> InputError:
        return InputError(f"manifest {where!r} cannot be used: `{field}` {what}", path=where)

    if not isinstance(doc, dict):
        raise fail("(document)", "must be a JSON object")
    for key in ("privacy", "data", "model", "options"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise fail(key, "must be a table")
    if doc.get("inputs") is not None and not isinstance(doc["inputs"], list):
        raise fail("inputs", "must be a list")
    privacy = doc.get("privacy") or {}
    if privacy.get("mode", "internal") not in ("internal", "public"):
        raise fail("privacy.mode", f"was {privacy.get('mode')!r}; expected 'internal' or 'public'")
    mc = privacy.get("min_count", 5)
    if not isinstance(mc, int) or isinstance(mc, bool) or mc < 1:
        raise fail("privacy.min_count", f"was {mc!r}; expected a whole number >= 1")
    dates = (doc.get("data") or {}).get("incident_dates")
    if dates is not None and not (isinstance(dates, list) and all(isinstance(d, str) for d in dates)):
        raise fail("data.incident_dates", "must be a list of dates")
