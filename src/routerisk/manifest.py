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

__all__ = [
    "MANIFEST_NAME",
    "compare_rerun",
    "package_versions",
    "peak_memory_mb",
    "read_manifest",
    "sha256_file",
    "write_manifest",
]

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
    "networkx",
    "rasterio",
    "folium",
    "matplotlib",
    "pyarrow",
    "pulp",
    "statsmodels",
    "osmnx",  # optional ([osm] extra): "not installed" without it
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
    """Installed versions of the packages a result depends on (plus Python, PROJ and GDAL).

    Versions are read from the installed distributions' metadata, without importing the packages; a package that
    is not installed (an optional one) is recorded as ``"not installed"``.

    Examples
    --------
    >>> v = package_versions(["numpy", "no-such-package"])
    >>> v["no-such-package"], sorted(v)[:2]
    ('not installed', ['GDAL', 'PROJ'])
    """
    import pyogrio  # lazy: GDAL's import costs 0.1 s and 48 MB; a manifest is written at the end of a run
    import pyproj

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out["PROJ"] = pyproj.proj_version_str
    out["GDAL"] = pyogrio.__gdal_version_string__
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


#: Outputs computed from masked positions: in public mode every incident-derived file, else only the points.
_MASKED_PUBLIC = ("segments", "risk_surface", "sites", "gaps", "coverage", "incidents_geomasked")
#: Files whose bytes change between identical runs (timestamps in GeoPackages and PDFs, random ids in HTML).
_BYTES_VARY = (".gpkg", ".pdf", ".html")


def _masked_output(name: str, mode: str, map_name: str) -> bool:
    if name.startswith("incidents_geomasked"):
        return True
    return mode == "public" and (name.startswith(_MASKED_PUBLIC) or name.startswith(map_name + "."))


def _same_content(a: Path, b: Path) -> bool | None:
    """Whether two GeoPackages hold the same layers and features (None when they cannot be read)."""
    try:
        import pyogrio  # lazy: see package_versions

        layers = [str(x) for x in pyogrio.list_layers(a)[:, 0]]
        if layers != [str(x) for x in pyogrio.list_layers(b)[:, 0]]:
            return False
        for layer in layers:
            fa = pyogrio.read_dataframe(a, layer=layer)
            fb = pyogrio.read_dataframe(b, layer=layer)
            drop = {"columns": "geometry", "errors": "ignore"}
            same_attrs = fa.drop(**drop).equals(fb.drop(**drop))
            geoms = "geometry" not in fa or fa.geometry.equals(fb.geometry)  # layer_styles has no geometry
            if not (same_attrs and geoms):
                return False
        return True
    except Exception:  # pragma: no cover - a damaged file: report it as not compared
        return None


def compare_rerun(
    recorded: Mapping[str, Any], new: Mapping[str, Any], *, recorded_folder: str | os.PathLike[str] | None,
    new_folder: str | os.PathLike[str], key_given: bool = False,
) -> list[str]:
    """What a rerun reproduced: one line per finding, for the ``rerun`` command to print.

    Outputs computed from masked positions cannot be reproduced when the recorded run drew its displacements from
    OS entropy, or from a key file that was not given again: the lines say so. Every other output is compared:
    by SHA-256 (from the manifests), and GeoPackages, whose bytes hold timestamps, by their features when the
    recorded folder is at hand.

    Examples
    --------
    >>> compare_rerun({"outputs": {"a.csv": {"sha256": "x"}}}, {"outputs": {"a.csv": {"sha256": "x"}}},
    ...               recorded_folder=None, new_folder=".")
    ['reproduced: a.csv']
    """
    disclosure = recorded.get("disclosure") or {}
    source = disclosure.get("geomask_source")
    mode = (recorded.get("privacy") or {}).get("mode", "internal")
    map_name = (recorded.get("options") or {}).get("map_name", "map")
    redrawn = source == "os-entropy" or (source == "key-file" and not key_given)
    lines: list[str] = []
    if redrawn:
        why = (
            "drew its geomask displacements from OS entropy (nothing recorded can regenerate them)"
            if source == "os-entropy"
            else "drew its geomask displacements from a key file, which was not given (--geomask-key)"
        )
        what = (
            "the masked points and every number computed from them (segments, surface, maps, sites)"
            if mode == "public"
            else "the masked points (incidents_geomasked.gpkg)"
        )
        lines.append(f"not reproducible: the recorded run {why}; {what} come from a new draw")
    old_out = recorded.get("outputs") or {}
    new_out = new.get("outputs") or {}
    same, differ, expected, missing = [], [], [], []
    for name in sorted(old_out):
        if name not in new_out:
            missing.append(name)
        elif redrawn and _masked_output(name, mode, map_name):
            expected.append(name)
        elif old_out[name].get("sha256") == new_out[name].get("sha256"):
            same.append(name)
        elif name.endswith(".gpkg") and recorded_folder is not None and (Path(recorded_folder) / name).exists():
            (same if _same_content(Path(recorded_folder) / name, Path(new_folder) / name) else differ).append(name)
        elif name.endswith(_BYTES_VARY):
            expected.append(name)
        else:
            differ.append(name)
    if same:
        lines.append("reproduced: " + ", ".join(same))
    if expected:
        lines.append("not compared (new draw, or bytes vary between identical runs): " + ", ".join(expected))
    if differ:
        lines.append("DIFFERENT: " + ", ".join(differ))
    if missing:
        lines.append("missing from the rerun: " + ", ".join(missing))
    return lines
