"""The lock of an output folder, and the identity of the process that holds it or made a temporary folder.

The lock ``.<target>.lock`` is an ``fcntl.flock`` on a file beside the target: the kernel releases it when its
holder dies, so there is no "stale lock" guess, and two processes can never both hold it (the holder removes the
file while still holding it; a waiter that locked a removed file retries). A lock file of an older routerisk
(a bare pid, no flock) is honoured while that pid is alive. A process is named by its pid and start time, so a
reused pid is another process. Used by :mod:`routerisk._atomic`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from ._errors import OutputError

__all__ = ["NOFOLLOW", "lock_path", "output_lock", "owner_alive", "pid_alive", "process_tag", "start_time"]


def start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22); None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    try:  # the command name (field 2) is in parentheses and may hold spaces or ')'
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def owner_alive(pid: int, start: int) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (a reused pid is another process)."""
    if not pid_alive(pid):
        return False
    now = start_time(pid)
    return now is None or start == 0 or now == start


def process_tag() -> str:
    """``<pid>.<start>.<token>`` of this process, with a fresh random token."""
    return f"{os.getpid()}.{start_time(os.getpid()) or 0}.{secrets.token_hex(8)}"



def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _legacy_holder(lock: Path) -> int | None:
    """Pid of a live holder recorded by an older routerisk (a bare pid, no flock), else None."""
    try:
        with open(lock, "rb") as fh:  # a few bytes: a planted huge file is not read
            text = fh.read(32).decode("ascii", "replace").strip()
    except OSError:
        return None
    if not text.isdigit() or len(text) > 12:
        return None
    pid = int(text)
    return pid if pid_alive(pid) else None


def _holder_text(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("ascii", "replace").split()
    except OSError:
        return ""
    return f" (pid {text[0]})" if text and text[0].isdigit() else ""


#: Open flags of the lock file: never follow a symlink, never block on a FIFO planted in its place.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


@contextlib.contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold the lock of ``target`` for the block; :class:`OutputError` when another run holds it."""
    import fcntl  # POSIX only: imported where a lock is taken, so that the module imports everywhere

    lock = lock_path(target)
    while True:
        try:  # never through a symlink: a planted `.out.lock -> input.csv` would be truncated
            fd = os.open(lock, os.O_CREAT | os.O_RDWR | NOFOLLOW, 0o644)
        except OSError as exc:
            reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            msg = f"cannot create the lock file {str(lock)!r} beside {str(target)!r}: {reason}"
            raise OutputError(msg) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            msg = f"the lock file {str(lock)!r} is not a regular file; remove it"
            raise OutputError(msg)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder_text(fd)
            os.close(fd)
            msg = f"another routerisk run{who} is writing {str(target)!r}; wait for it to finish"
            raise OutputError(msg) from None
        except OSError as exc:
            os.close(fd)
            msg = f"cannot lock {str(lock)!r}: {exc.strerror}"
            raise OutputError(msg) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file between our open and our flock: try again
            os.close(fd)
            continue
        legacy = _legacy_holder(lock)
        if legacy is not None:
            os.close(fd)
            msg = (
                f"another routerisk run (pid {legacy}) is writing {str(target)!r}; wait for it to finish or "
                f"remove {str(lock)!r} if it is stale"
            )
            raise OutputError(msg)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{process_tag().replace('.', ' ')}\n".encode("ascii"))
        except OSError as exc:
            _unlock(lock, fd)
            msg = f"cannot write the lock file {str(lock)!r}: {exc.strerror}"
            raise OutputError(msg) from None
        break
    try:
        yield
    finally:
        _unlock(lock, fd)


def _unlock(lock: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        lock.unlink()  # while still holding the flock: a waiter that opened this file will retry
    os.close(fd)
