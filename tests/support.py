"""Helpers several test modules share: directory digests, and the processes of a command under test."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from fairlead.cli import main

# A training slowed to ~20 ms per episode, so that a signal reliably arrives mid-run. Ctrl-C acts as in a
# terminal even when the test runs where SIGINT is ignored (a background job of a shell inherits SIG_IGN).
SLOW = """import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from fairlead.trainers.jamql import Trainer
real = Trainer.train_episode
Trainer.train_episode = lambda self: (time.sleep(0.02), real(self))[1]
from fairlead.cli import main
sys.exit(main(sys.argv[1:]))
"""


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.append(pid)
    return living


def wait_dead(pids: list[int], seconds: float = 5) -> list[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


# a small run of the CLI, and a run as if killed before its last result
SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--seeds", "2", "--episodes", "40", "--no-progress"]


def train(out, *extra, method="jamql,catch-up", jobs="1"):
    return main(["train", *SMALL, "--method", method, "--out", str(out), "--jobs", jobs, *extra])


def interrupt(out: Path) -> None:
    """As if the run was killed before its last result and the reports were written."""
    (out / "catch-up" / "seed_1" / "result.json").unlink()
    (out / "metrics.csv").unlink()


def listed(text: str) -> dict[str, str]:
    """``fairlead list``'s rows as ``{name: description}``, a wrapped description joined again."""
    rows: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("   ") and name is not None:  # a description's continuation
            rows[name] += " " + line.strip()
        elif line.startswith("  "):
            name, _, description = line.strip().partition(" ")
            rows[name] = description.strip()
    return rows
