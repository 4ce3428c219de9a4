"""Train (method, seed) pairs as Ray tasks, on one machine or a cluster, with the local backend's bytes.

Each task is :func:`fairlead.experiments.runs.train_seed`, exactly what a local
worker runs: it trains its pair and writes that pair's checkpoints and result
into the run directory, so on a cluster the run directory must be on a file
system every node sees (the usual shared home or scratch). The main process
collects the results and writes the reports, as locally.

Without an address a local Ray instance of ``jobs`` CPUs is started for the
run and shut down when it ends (success, error or Ctrl-C), so no Ray process
outlives the command; with one, the run connects to that cluster and only
disconnects. Ray is the optional ``ray`` extra.

When the main process dies without a chance to shut Ray down (kill -9, a crash,
the OOM killer), Ray's own fate sharing (``PR_SET_PDEATHSIG`` on the processes
``ray.init`` starts: the GCS server, the raylet, the dashboard and monitors)
kills its daemons at once, but not what the raylet started: its workers see
the raylet die and exit within seconds, but its agents (``ray::DashboardAgent``,
``ray::RuntimeEnvAgent``), which see it too, then spend up to a minute trying to
report it to the dead GCS (``publish_error_to_driver``, a 60 s timeout) before
they exit. On Linux a small reaper process owned by this call
closes that gap: it waits for the end of a pipe from the main process (EOF when
the main process closes it, or dies however it dies) and then kills the
processes of this instance and no other: those with this call's marker in their
environment (every process of the instance inherits it, no other process has
it), and those titled ``ray::...`` with a file open in this instance's session
directory (the agents, whose environment ``setproctitle`` overwrites).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tqdm import tqdm


def require_ray():
    """The ``ray`` module, or a RuntimeError saying how to install it (checked before a run writes anything)."""
    try:
        import ray
    except ImportError as err:
        raise RuntimeError('the Ray backend needs Ray, which is not installed: pip install "fairlead[ray]"') from err
    return ray


MARKER = "FAIRLEAD_RAY_INSTANCE"  # in the environment of every process of a local instance: "<owner pid>-<uuid>"
REAPER = Path(__file__).with_name("ray_reaper.py")  # run as a script: it starts without importing fairlead


def start_reaper() -> tuple[subprocess.Popen | None, str]:
    """The reaper of a local instance about to start, and the marker (``NAME=VALUE``) its processes must inherit.

    No reaper (None) where there is no /proc to find the marked processes in (not Linux): there only Ray's own
    fate sharing applies.
    """
    marker = f"{MARKER}={os.getpid()}-{uuid.uuid4().hex}"
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc"):
        return None, marker
    env = {key: value for key, value in os.environ.items() if key != MARKER}
    reaper = subprocess.Popen(
        [sys.executable, str(REAPER), marker, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        close_fds=True,
    )
    return reaper, marker


def tell_reaper(reaper: subprocess.Popen | None, session_dir: str | None) -> None:
    """Give the reaper the instance's session directory (where every process of the instance has files open)."""
    if reaper is None or not session_dir:
        return
    try:
        reaper.stdin.write(os.fsencode(session_dir) + b"\n")
        reaper.stdin.flush()
    except OSError:  # the reaper is gone (killed by hand): nothing to tell, and no reason to fail the run
        pass


def stop_reaper(reaper: subprocess.Popen | None) -> None:
    """Close the reaper's pipe (after ``ray.shutdown``): it kills what Ray's shutdown left, and ends."""
    if reaper is None:
        return
    try:
        reaper.stdin.close()
    except OSError:
        pass
    try:
        reaper.wait(timeout=15)
    except subprocess.TimeoutExpired:  # never expected (it gives up after 10 s); do not hang the command on it
        pass


def init_local_instance(ray, jobs: int, marker: str) -> str | None:
    """``ray.init`` of a local instance whose every process (started now, or later by its raylet) has ``marker``.

    Returns the instance's session directory.
    """
    name, value = marker.split("=", 1)
    previous = os.environ.get(name)
    os.environ[name] = value  # inherited by the daemons ray.init starts, and by the raylet's agents and workers
    try:
        context = ray.init(
            address=None,
            num_cpus=jobs,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=True,
        )
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous
    return (getattr(context, "address_info", None) or {}).get("session_dir")


def train_with_ray(
    spec, out: Path, tasks: list, jobs: int, progress: bool, address: str | None, engine: str = "auto"
) -> dict:
    """``{(method, seed): result}`` of every task, run as Ray tasks of one CPU each."""
    from fairlead.experiments.runs import train_seed

    ray = require_ray()
    if ray.is_initialized():
        raise RuntimeError(
            "Ray is already initialised in this process; the Ray backend starts (or connects) "
            "and stops its own session: call it from a process without one"
        )
    reaper = None
    pending: list = []
    try:
        if address:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=True,
            )
        else:  # a local instance: the reaper kills what is left of it however this process ends (kill -9 too)
            reaper, marker = start_reaper()
            tell_reaper(reaper, init_local_instance(ray, jobs, marker))
        remote = ray.remote(num_cpus=1, max_retries=0)(train_seed)
        owner = {remote.remote(spec, method, seed, out, engine=engine): (method, seed) for method, seed in tasks}
        pending, results = list(owner), {}
        with tqdm(
            total=len(tasks) * spec.hp.training.episodes,
            desc="training",
            unit="episode",
            disable=not progress,
            mininterval=0.5,
        ) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in done:
                    try:
                        results[owner[ref]] = ray.get(ref)
                    except ray.exceptions.RayTaskError as err:  # the task's own error, as a local worker's
                        raise err.cause from None
                    bar.update(spec.hp.training.episodes)
        return results
    except BaseException:  # a task's error, or KeyboardInterrupt: cancel the others, then raise
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        try:
            ray.shutdown()  # stops the local instance this call started; from a cluster, only disconnects
        finally:
            stop_reaper(reaper)
