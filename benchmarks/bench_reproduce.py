"""Wall time of ``fairlead reproduce`` (the whole grid of docs/results.md) on this machine, against issue 12's targets.

Three measurements, each in a fresh directory:

* **warm**: ``fairlead reproduce --out DIR --jobs N --no-progress`` as a user
  runs it (a new process), with numba's cache of the engine already built;
* **cold**: the same with an empty numba cache (``NUMBA_CACHE_DIR`` pointed at
  a new directory for that process: your own cache is left alone), so the
  engine is compiled first;
* **x K** (``--scale K``, default 10): the same grid with ``K`` times the
  training episodes (every other setting, curve points every ``log_every``
  included, as the grid has them), trained by ``runs.run_all`` in this process.

    python benchmarks/bench_reproduce.py              # warm, cold and x10 with --jobs 2
    python benchmarks/bench_reproduce.py --only warm

Targets (issue 12, 2 cores): warm <= 15 s, cold <= 60 s, x10 <= 120 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from fairlead.engine import compile_ahead
from fairlead.experiments.reproduce import grid_specs
from fairlead.experiments.runs import run_all

TARGETS = {"warm": 15.0, "cold": 60.0, "scaled": 120.0}  # seconds on 2 cores


def reproduce_seconds(jobs: int, env: dict | None = None) -> float:
    """Seconds of ``fairlead reproduce`` of the whole grid in a new process (``env``: its environment)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fairlead.cli",
                "reproduce",
                "--out",
                str(Path(folder) / "grid"),
                "--jobs",
                str(jobs),
                "--no-progress",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def scaled_seconds(jobs: int, scale: int) -> float:
    """Seconds of the grid with ``scale`` times the training episodes, trained in this process."""
    compile_ahead()
    specs = {
        name: replace(
            spec, hp=replace(spec.hp, training=replace(spec.hp.training, episodes=spec.hp.training.episodes * scale))
        )
        for name, spec in grid_specs().items()
    }
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_all([(spec, Path(folder) / name) for name, spec in specs.items()], jobs=jobs, progress=False)
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2, the issue's machine)")
    parser.add_argument("--scale", type=int, default=10, help="episodes multiple of the scaled grid (default 10)")
    parser.add_argument(
        "--only",
        choices=("warm", "cold", "scaled"),
        action="append",
        help="run only these measurements (repeatable; default all three)",
    )
    args = parser.parse_args(argv)
    wanted = args.only or ["warm", "cold", "scaled"]
    seconds = {}
    if "warm" in wanted:
        compile_ahead()  # builds numba's cache if it is not there yet
        seconds["warm"] = reproduce_seconds(args.jobs)
    if "cold" in wanted:
        with tempfile.TemporaryDirectory() as cache:
            seconds["cold"] = reproduce_seconds(args.jobs, {**os.environ, "NUMBA_CACHE_DIR": cache})
    if "scaled" in wanted:
        seconds["scaled"] = scaled_seconds(args.jobs, args.scale)
    print(f"fairlead reproduce, whole grid, --jobs {args.jobs} ({os.cpu_count()} CPUs here)")
    names = {"warm": "warm numba cache", "cold": "cold numba cache", "scaled": f"x{args.scale} episodes (warm)"}
    for key, value in seconds.items():
        target = TARGETS[key]
        print(
            f"  {names[key]:<22} {value:6.1f} s   target <= {target:.0f} s: {'met' if value <= target else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
