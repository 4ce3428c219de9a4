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
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm


def require_ray():
    """The ``ray`` module, or a RuntimeError saying how to install it (checked before a run writes anything)."""
    try:
        import ray
    except ImportError as err:
        raise RuntimeError('the Ray backend needs Ray, which is not installed: pip install "fairlead[ray]"') from err
    return ray


def train_with_ray(spec, out: Path, tasks: list, jobs: int, progress: bool, address: str | None,
                   engine: str = "auto") -> dict:
    """``{(method, seed): result}`` of every task, run as Ray tasks of one CPU each."""
    from fairlead.experiments.runs import train_seed

    ray = require_ray()
    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised in this process; the Ray backend starts (or connects) "
                           "and stops its own session: call it from a process without one")
    ray.init(address=address, num_cpus=None if address else jobs, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING, configure_logging=True)
    pending: list = []
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(train_seed)
        owner = {remote.remote(spec, method, seed, out, engine=engine): (method, seed) for method, seed in tasks}
        pending, results = list(owner), {}
        with tqdm(total=len(tasks) * spec.hp.training.episodes, desc="training", unit="episode",
                  disable=not progress, mininterval=0.5) as bar:
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
        ray.shutdown()  # stops the local instance this call started; from a cluster, only disconnects
