"""Provenance: what every run records about its inputs, parameters, software and outputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import resource
import sys
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._errors import InputError

__all__ = ["MANIFEST_NAME", "package_versions", "peak_memory_mb", "read_manifest", "sha256_file", "write_manifest"]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

_PACKAGES = (
    "routerisk",
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "scipy",
    "numba",
    "mapclassify",
    "rasterio",
    "folium",
    "matplotlib",
    "pyarrow",
    "libpysal",
    "spopt",
    "pulp",
)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions(names: Iterable[str] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages a result depends on (plus Python, PROJ and GDAL)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    try:
        import pyproj

        out["PROJ"] = pyproj.proj_version_str
    except ImportError:  # pragma: no cover
        pass
    try:
        import pyogrio

        out["GDAL"] = pyogrio.__gdal_version_string__
    except ImportError:  # pragma: no cover
        pass
    return out


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``, which belongs to this program alone. ``ru_maxrss`` is
    the fallback elsewhere; on Linux it is not used because it survives ``exec``: a command started by a large
    process (a notebook kernel, a benchmark driver) would report its parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def write_manifest(folder: str | os.PathLike[str], content: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` into ``folder`` with a SHA-256 of every other file already there.

    Parameters
    ----------
    folder : path
        The (temporary) run folder, complete but for the manifest.
    content : mapping
        Inputs, parameters, privacy mode, command line... JSON-serialisable.

    Returns
    -------
    pathlib.Path
        The manifest's path.
    """
    folder = Path(folder)
    outputs = {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST_NAME
    }
    doc = {
        "manifest_version": MANIFEST_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **content,
        "software": package_versions(),
        "platform": {"system": platform.system(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "peak_memory_mb": peak_memory_mb(),
        "outputs": outputs,
    }
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a run's ``manifest.json`` (or the one inside a run folder).

    Raises
    ------
    InputError
        When the file is missing or is not a routerisk manifest.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"no manifest at {str(path)!r}"
        raise InputError(msg, path=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{str(path)!r} is not a readable manifest: {exc}"
        raise InputError(msg, path=str(path)) from None
    if not isinstance(doc, dict) or "manifest_version" not in doc or "inputs" not in doc:
        msg = f"{str(path)!r} is JSON but not a routerisk manifest (no `manifest_version`/`inputs`)"
        raise InputError(msg, path=str(path))
    return doc
