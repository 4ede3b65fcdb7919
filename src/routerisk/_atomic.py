"""Atomic, locked output folders.

A run writes into a temporary folder beside its target and renames it into place only when every file is
complete; an interrupted or failed run leaves the previous outputs as they were and no temporary folder behind
(a killed process can leave one; the next run removes stale ones it owns). A lock file stops two runs writing
the same target at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ._errors import OutputError

__all__ = ["atomic_dir", "atomic_file"]

_TMP_PREFIX = ".routerisk-tmp-"


def _check_target(target: Path, *, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        msg = f"output folder {str(target)!r} exists and is a file; choose another --out"
        raise OutputError(msg)
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        msg = f"output folder {str(target)!r} already holds files; pass --overwrite to replace them"
        raise OutputError(msg)
    parent = target.parent
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        msg = f"cannot write in {str(parent)!r} (permission denied) to create {target.name!r}"
        raise OutputError(msg)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    lock = target.parent / f".{target.name}.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                msg = (
                    f"another routerisk run (pid {pid}) is writing {str(target)!r}; wait for it to finish "
                    f"or remove {str(lock)!r} if it is stale"
                )
                raise OutputError(msg) from None
            lock.unlink(missing_ok=True)  # stale lock of a killed run
            continue
        except OSError as exc:
            msg = f"cannot create a lock file beside {str(target)!r}: {exc.strerror}"
            raise OutputError(msg) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _remove_stale_tmp(parent: Path, target: Path) -> None:
    for old in parent.glob(f"{_TMP_PREFIX}{target.name}-*"):
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``target`` when the block completes without error.

    Parameters
    ----------
    target : path
        The folder the outputs must end up in.
    overwrite : bool, default False
        Replace an existing, non-empty ``target``; otherwise :class:`OutputError` is raised before anything
        is computed or written.

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
    target = Path(target).absolute()
    _check_target(target, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create {str(target.parent)!r}: {exc.strerror}"
        raise OutputError(msg) from None
    with _lock(target):
        _check_target(target, overwrite=overwrite)
        _remove_stale_tmp(target.parent, target)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{target.name}-", dir=target.parent))
        except OSError as exc:
            msg = f"cannot write in {str(target.parent)!r}: {exc.strerror}"
            raise OutputError(msg) from None
        try:
            yield tmp
            os.chmod(tmp, 0o755)
            old = None
            if target.exists():
                old = target.parent / f"{_TMP_PREFIX}{target.name}-old-{os.getpid()}"
                os.rename(target, old)
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if old is not None:
                    os.rename(old, target)
                if exc.errno in (errno.EACCES, errno.EPERM):
                    msg = f"cannot move outputs into {str(target)!r}: permission denied"
                    raise OutputError(msg) from None
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
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
    return _atomic_file(Path(path).absolute())


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[Path]:
    if path.is_dir():
        msg = f"output {str(path)!r} is a folder; give a file name"
        raise OutputError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        msg = f"cannot write {str(path)!r}: {exc.strerror}"
        raise OutputError(msg) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
