"""Output directories: the lock a command holds on one, and the check that a new one is free.

Every command that writes a directory (train, eval, evaluate, merge, report,
sweep) holds :func:`lock_run_dir` on it while it writes, and a command that
needs a new directory refuses a used one with :func:`refuse_used`, before it
writes anything. The lock is an OS file lock on ``DIR/.lock``: ``flock`` where
there is ``fcntl`` (Linux, macOS), a byte-range lock by ``msvcrt`` on Windows;
the kernel releases it when its owner dies, so a killed command never leaves
a directory locked.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None

LOCK_FILE = ".lock"
_WINDOWS_LOCK_OFFSET = 1 << 20  # msvcrt locks bytes: lock one far past the pid, so others can still read the pid


class RunDirectoryError(ValueError):
    """The output directory cannot take this command."""


def refuse_used(out: Path, advice: str = "choose another --out") -> None:
    """Refuse an ``out`` that is a file, or a directory holding anything but a lock file (``advice``: what to do)."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"{out} is a file, not a directory; {advice}")
    if out.exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise RunDirectoryError(f"{out} exists and is not empty; {advice}")


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of the open lock file ``fd`` without waiting; False if another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    finally:
        os.lseek(fd, 0, os.SEEK_SET)
    return True


@contextmanager
def lock_run_dir(out: Path):
    """Hold an exclusive lock on the directory ``out`` (which must exist), or raise RunDirectoryError.

    The lock file ``out/.lock`` holds the owner's pid, for the error a second
    command gets; it is removed at the end, so a finished directory holds only results.
    """
    if fcntl is None and msvcrt is None:
        raise RunDirectoryError(
            "this platform has neither fcntl nor msvcrt, so fairlead cannot lock its output "
            "directories; run it on Linux, macOS or Windows"
        )
    path = out / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_lock(fd):
            pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunDirectoryError(
                f"{out} is in use by another run (pid {pid}); wait for it to end, or choose another directory"
            )
        if path.exists() and os.path.samestat(os.fstat(fd), path.stat()):
            break
        os.close(fd)  # its owner removed the file as we locked it: lock the file there now
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        if fcntl is not None:  # POSIX removes an open file; Windows only a closed one
            path.unlink(missing_ok=True)
            os.close(fd)
        else:
            os.close(fd)
            path.unlink(missing_ok=True)
