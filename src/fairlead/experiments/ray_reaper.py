"""The reaper of a local Ray instance: kills what is left of it once its owner (``fairlead train``) is gone.

Run by :func:`fairlead.experiments.ray_backend.start_reaper` as the script
``python ray_reaper.py MARKER=VALUE OWNER_PID`` with a
pipe from the owner as stdin, on which the owner writes the session directory
of its instance (a line) once it has started. It ignores the signals a
terminal sends a whole process group (Ctrl-C, hang-up), so it outlives its
owner; at EOF (the owner closed the pipe, or died however it died) it kills
(SIGKILL, as the kernel kills Ray's fate-shared daemons) every process of the
instance and no other, for at most 10 s: those whose environment holds the
marker, and those titled ``ray::...`` with a file open in the session
directory (the agents, whose environment ``setproctitle`` overwrites). Linux
only (it reads /proc). As a script it imports nothing of fairlead, so it starts fast.
"""

import os
import signal
import sys
import time


def of_the_instance(proc: str, marker: bytes, session: bytes | None) -> bool:
    """Whether the process at ``proc`` (``/proc/PID``) belongs to the instance."""
    with open(proc + "/environ", "rb") as environ:
        if marker in environ.read().split(b"\0"):
            return True
    if session is None:
        return False
    with open(proc + "/cmdline", "rb") as cmdline:
        if not cmdline.read().startswith(b"ray::"):
            return False
    for fd in os.listdir(proc + "/fd"):
        try:
            if os.readlink(os.fsencode(proc + "/fd/" + fd)).startswith(session):
                return True
        except OSError:
            pass
    return False


def marked(marker: bytes, session: bytes | None, spared: set[int]) -> list[int]:
    """The pids of the instance's processes, but those ``spared``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in spared:
            try:
                if of_the_instance("/proc/" + entry, marker, session):
                    found.append(int(entry))
            except OSError:  # gone meanwhile, or not ours to read
                pass
    return found


def main(marker: bytes, owner: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    spared, session = {os.getpid(), owner}, None
    for line in sys.stdin.buffer:  # until EOF: the owner closed the pipe or died
        if line.strip():
            session = os.path.realpath(line.strip()) + b"/"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = marked(marker, session, spared)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1].encode(), int(sys.argv[2]))
