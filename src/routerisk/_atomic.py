"""Atomic, locked output folders that never touch an input.

A run writes into a temporary folder beside its target and renames it into place only when every file is
complete; an interrupted or failed run leaves the previous outputs as they were and no temporary folder behind.

Ownership is explicit. A temporary folder is named ``.routerisk-tmp-<target>.<pid>.<start>.<token>``: the pid of
the process that made it, that process's start time (clock ticks since boot, from ``/proc/<pid>/stat``; 0 where
there is no ``/proc``) and a random token. It is removed by its owner, or by a later run into the same target
when the owner is provably dead (no such pid, or the pid now belongs to a process started at another time).
Names are matched exactly (a run into ``run`` never sees the folders of a run into ``run-2``).

The lock ``.<target>.lock`` is an ``fcntl.flock`` on a file beside the target: the kernel releases it when its
holder dies, so there is no "stale lock" guess, and two processes can never both hold it (the holder removes the
file while still holding it; a waiter that locked a removed file retries). A lock file of an older routerisk
(a bare pid, no flock) is honoured while that pid is alive.

:func:`refuse_inputs` refuses an output path that is, contains or lies inside an input, and
``atomic_dir(..., overwrite=True)`` replaces only an empty folder or a routerisk output folder (one holding a
``manifest.json`` written by routerisk); anything else is refused, never deleted.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from ._errors import OutputError
from ._locks import NOFOLLOW as _NOFOLLOW
from ._locks import lock_path as _lock_path  # noqa: F401 (tests/test_attack_fs.py)
from ._locks import output_lock as _lock
from ._locks import owner_alive as _owner_alive
from ._locks import pid_alive as _pid_alive  # noqa: F401 (tests/test_attack_fs.py)
from ._locks import process_tag as _me
from ._locks import start_time as _start_time  # noqa: F401 (tests/test_attack_fs.py)

__all__ = ["atomic_dir", "atomic_file", "refuse_inputs"]

_TMP_PREFIX = ".routerisk-tmp-"
#: What follows ``.routerisk-tmp-<target>.`` in a temporary folder's name: pid, start time, token [, "old"].
_OWNER = r"(?P<pid>\d+)\.(?P<start>\d+)\.(?P<token>[0-9a-f]{16})"
_OWNER_RE = re.compile(_OWNER + r"(?P<old>\.old)?")
#: Extensions of a shapefile's sidecar files: writing any of them destroys the shapefile.
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".shp.xml")

#: Errors of the operating system that mean "the output location cannot be written" (exit 4).
OUTPUT_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EACCES, errno.EPERM, errno.EROFS) if e
)


# ------------------------------------------------------------------------------------------ inputs are sacred
def _family(path: Path) -> list[Path]:
    """A file and, for a shapefile, its sidecars (``x.shp`` -> ``x.dbf``, ``x.shx``, ``x.prj``...)."""
    if path.suffix.lower() not in _SIDECARS:
        return [path]
    stem = path.with_suffix("")
    return [path, *(stem.with_name(stem.name + ext) for e in _SIDECARS for ext in (e, e.upper()))]


def _real(path: Path) -> Path:
    try:
        return path.expanduser().resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return path.expanduser().absolute()


def refuse_inputs(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], *, option: str = "--out"
) -> None:
    """Raise :class:`OutputError` when ``output`` is an input, holds one, or lies inside an input folder.

    Symlinks are resolved and hard links detected; a shapefile counts with its sidecar files. Call it before
    reading anything: nothing has been written when it raises.

    Parameters
    ----------
    output : path
        The file or folder about to be written (or replaced).
    inputs : iterable of path or None
        Input files or folders (None entries are skipped).
    option : str, default "--out"
        Name of the option to change, for the message.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.csv").write_text("x")
    >>> refuse_inputs(d / "out", [d / "in.csv"])
    >>> refuse_inputs(d, [d / "in.csv"])
    Traceback (most recent call last):
    ...
    routerisk._errors.OutputError: ...
    """
    out = _real(Path(output))
    for item in inputs:
        if item is None or str(item) == "":
            continue
        given = Path(item)
        for inp in _family(given):
            real = _real(inp)
            same = real == out
            if not same and inp.exists() and out.exists():
                with contextlib.suppress(OSError):
                    same = os.path.samefile(inp, out)
            if same:
                msg = (f"{option} {str(output)!r} is the input {str(given)!r}; refusing to overwrite an input "
                       f"(choose another {option})")
                raise OutputError(msg)
            if out in real.parents:
                msg = (f"{option} {str(output)!r} holds the input {str(given)!r}; refusing to replace a folder "
                       f"that holds an input (choose another {option})")
                raise OutputError(msg)
            if real.is_dir() and real in out.parents:
                msg = (f"{option} {str(output)!r} lies inside the input folder {str(given)!r}; inputs are never "
                       f"modified (choose another {option})")
                raise OutputError(msg)


#: Names of the files routerisk writes into an output folder (run, demo, sites). The map stems are the defaults.
OUTPUT_NAMES = frozenset(
    {
        "manifest.json", "segments.gpkg", "segments.parquet", "segments_ranked.csv", "rejected_rows.csv",
        "input_notes.csv", "zones.gpkg", "shelters.gpkg", "incidents.gpkg", "incidents_geomasked.gpkg",
        "risk_surface.tif", "sites.gpkg", "sites.csv", "gaps.csv", "coverage_curve.csv", "coverage_curve.png",
        "sensitivity.csv", "risk_surface.qml", "report.html", "report.pdf",
    }
    | {f"{stem}.{ext}" for stem in ("map", "routerisk_demo") for ext in ("html", "embed.html", "png", "pdf", "svg")}
)
#: Pictures committed beside the demo's outputs that a run cannot make itself (a browser screenshot of the demo's
#: HTML map, in the repository's ``maps/``): accepted in an output folder and carried into its replacement.
KEPT_NAMES = frozenset({"routerisk_demo_html.png"})
OUTPUT_NAMES = OUTPUT_NAMES | KEPT_NAMES


def _carry_kept(target: Path, tmp: Path) -> None:
    """Copy the :data:`KEPT_NAMES` files of the folder being replaced into the new one (unless the run wrote them)."""
    for name in sorted(KEPT_NAMES):
        src, dst = target / name, tmp / name
        if src.is_file() and not src.is_symlink() and not dst.exists():
            shutil.copy2(src, dst)


def is_routerisk_output(folder: Path) -> bool:
    """Whether ``folder`` is a routerisk output folder: it holds a ``manifest.json`` written by routerisk (a run or
    a siting folder), or nothing but files with the names routerisk writes (:data:`OUTPUT_NAMES`, e.g. the
    repository's ``maps/`` with only ``routerisk_demo.png``)."""
    try:
        doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        doc = None
    if (
        isinstance(doc, dict) and "manifest_version" in doc
        and isinstance(doc.get("software"), dict) and "routerisk" in doc["software"]
    ):
        return True
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    names = OUTPUT_NAMES - {"manifest.json"}  # a manifest.json that is not routerisk's belongs to something else
    return all(e.name in names and e.is_file(follow_symlinks=False) for e in entries)


# ------------------------------------------------------------------------------------------ folders
def _check_target(target: Path, *, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        msg = f"output folder {str(target)!r} exists and is a file; choose another --out"
        raise OutputError(msg)
    if target.is_dir():
        try:
            full = any(target.iterdir())
        except OSError as exc:
            msg = f"cannot read output folder {str(target)!r}: {exc.strerror}"
            raise OutputError(msg) from None
        if full and not overwrite:
            msg = f"output folder {str(target)!r} already holds files; pass --overwrite to replace them"
            raise OutputError(msg)
        if full and not is_routerisk_output(target):
            msg = (
                f"output folder {str(target)!r} holds files but is not a routerisk output folder (no manifest.json "
                "written by routerisk, and files routerisk does not write); --overwrite replaces only such folders "
                "or empty ones: choose another --out"
            )
            raise OutputError(msg)
    parent = target.parent
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        msg = f"cannot write in {str(parent)!r} (permission denied) to create {target.name!r}"
        raise OutputError(msg)


def _owned_tmps(target: Path) -> Iterator[tuple[Path, int, int, bool]]:
    """Temporary folders of runs into exactly ``target``: ``(path, pid, start, is_old)``."""
    prefix = f"{_TMP_PREFIX}{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _OWNER_RE.fullmatch(entry.name[len(prefix):])
        if m is not None:
            yield Path(entry.path), int(m["pid"]), int(m["start"]), m["old"] is not None


def _remove_dead_tmps(target: Path) -> None:
    """Remove the temporary folders of dead runs into ``target`` (called with the lock held).

    A dead run's ``.old`` folder holds the previous outputs when it died between moving them aside and moving
    the new ones in: they are put back when ``target`` is missing.
    """
    for path, pid, start, old in _owned_tmps(target):
        if _owner_alive(pid, start):
            continue
        if old and not target.exists() and path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):
                os.rename(path, target)
                continue
        _remove(path)


def _located(path: Path) -> Path:
    """``path`` with its folder resolved (symlinks and ``..`` as the kernel sees them); the last component kept,
    so a symlink given as the output is replaced itself, never the folder it points to."""
    path = path.expanduser().absolute()
    if path.name in ("", ".", ".."):
        return _real(path)
    return _real(path.parent) / path.name


def _remove_dead_tmp_files(path: Path) -> None:
    """Remove the temporary files of dead writers of exactly ``path`` (see :func:`atomic_file`)."""
    prefix = f"{_TMP_PREFIX}{path.name}."
    owner = re.compile(_OWNER + re.escape(path.suffix))
    try:
        entries = [e for e in os.scandir(path.parent) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        m = owner.fullmatch(entry.name[len(prefix):])
        if m is not None and entry.is_file(follow_symlinks=False) and not _owner_alive(int(m["pid"]), int(m["start"])):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _remove(path: Path) -> None:
    """Remove a folder, or only the link when ``path`` is a symlink (never the folder it points to)."""
    if path.is_symlink():
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


#: Free space below which a failed write is blamed on a full disk.
_FULL_BYTES = 1 << 20


def _disk_full(folder: Path) -> str | None:
    """"No space left on device (N bytes free)" when the file system of ``folder`` is (nearly) full, else None."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    free = st.f_bavail * st.f_frsize
    if free < _FULL_BYTES or (st.f_files and st.f_favail == 0):
        return f"{os.strerror(errno.ENOSPC)} ({free:,} bytes free)"
    return None


def _output_error(exc: OSError, action: str, where: Path) -> OutputError:
    return OutputError(f"cannot {action} {str(where)!r}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``target`` when the block completes without error.

    Parameters
    ----------
    target : path
        The folder the outputs must end up in.
    overwrite : bool, default False
        Replace an existing, non-empty ``target``, which must be a routerisk output folder (it holds a
        ``manifest.json`` written by routerisk); otherwise :class:`OutputError` is raised before anything is
        computed or written.
    inputs : iterable of path, optional
        Input files or folders; ``target`` must not be, hold or lie inside one (:func:`refuse_inputs`).

    Yields
    ------
    pathlib.Path
        The temporary folder to write into (on the same file system as ``target``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_dir(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> (out / "a.txt").read_text()
    'x'
    """
    target = _located(Path(target))
    refuse_inputs(target, inputs)
    _check_target(target, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(exc, "create", target.parent) from None
    with _lock(target):
        _remove_dead_tmps(target)
        _check_target(target, overwrite=overwrite)
        me = _me()
        tmp = target.parent / f"{_TMP_PREFIX}{target.name}.{me}"
        try:
            os.mkdir(tmp, 0o700)
        except OSError as exc:
            raise _output_error(exc, "write in", target.parent) from None
        try:
            try:
                yield tmp
            except Exception as exc:
                full = _disk_full(target.parent)
                if full is not None:  # GDAL and SQLite report a full disk in their own words
                    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                    msg = f"cannot write the outputs in {str(target.parent)!r}: {full} (while writing: {detail})"
                    raise OutputError(msg) from exc
                raise
            os.chmod(tmp, 0o755)
            _carry_kept(target, tmp)
            old = None
            if target.exists():
                old = target.parent / f"{_TMP_PREFIX}{target.name}.{me}.old"
                try:
                    os.rename(target, old)
                except OSError as exc:
                    if exc.errno in OUTPUT_ERRNOS:
                        raise _output_error(exc, "replace", target) from None
                    raise
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if old is not None:
                    os.rename(old, target)
                if exc.errno in OUTPUT_ERRNOS:
                    raise _output_error(exc, "move the outputs into", target) from None
                raise
            if old is not None:
                _remove(old)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def atomic_file(path: str | os.PathLike[str]) -> contextlib.AbstractContextManager[Path]:
    """Yield a temporary path beside ``path`` that replaces it when the block completes.

    Parameters
    ----------
    path : path
        The file to write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_file(p) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> p.read_text()
    'hello'
    """
    return _atomic_file(_located(Path(path)))


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[Path]:
    if path.is_dir():
        msg = f"output {str(path)!r} is a folder; give a file name"
        raise OutputError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_tmp_files(path)
        # owned like the temporary folders: pid, start time, token; the suffix kept for writers that read it
        tmp = path.parent / f"{_TMP_PREFIX}{path.name}.{_me()}{path.suffix}"
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW, 0o600))
    except OSError as exc:
        msg = f"cannot write {str(path)!r}: {exc.strerror}"
        raise OutputError(msg) from None
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno in OUTPUT_ERRNOS:
                raise _output_error(exc, "write", path) from None
            raise
    finally:
        tmp.unlink(missing_ok=True)
