"""Worker processes: run calls in a pool that stops together, dies with its owner and says what a dead worker ran.

If a call fails, or the main process is interrupted (Ctrl-C, SIGTERM), every
worker stops at its next episode (the shared stop flag; one still busy after
GRACE_SECONDS is killed), queued calls never start, and the error is raised
once they have stopped. Workers ignore Ctrl-C (the main process stops them),
die with the main process (Linux: PR_SET_PDEATHSIG) and never write once it
is gone. A shared counter feeds the progress bar.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal a process gets when its parent dies


# once a run stops (Ctrl-C, SIGTERM, a failed worker), how long the busy workers get to reach their next episode
# before they are killed: a user's selector stuck in a loop must not hold the command forever
GRACE_SECONDS = 5.0


QUIET_SECONDS = 0.5  # workers that stop within this are not announced


_episodes_done = None  # shared counter of training episodes, for the progress bar


_stop = None  # shared flag: set when a worker failed or the run was interrupted, so the others stop


_parent = None  # pid of the main process: a worker whose parent changed is an orphan and must not write


_running = None  # shared array: per call of _in_workers, the pid of the worker running it (0: not running)


def _init_worker(counter, stop, parent: int, running=None) -> None:
    """Share the counter, the stop flag and the calls' workers; leave signals to the main process; die with it."""
    global _episodes_done, _stop, _parent, _running
    _episodes_done, _stop, _parent, _running = counter, stop, parent, running
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the main process stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the main process's handler (the pool may terminate us)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stopped() -> bool:
    """Another worker failed, the run was interrupted, or the main process is gone: stop, write nothing."""
    return _stop is not None and (bool(_stop.value) or os.getppid() != _parent)


def _count(episodes: int) -> None:
    if _episodes_done is not None:
        with _episodes_done.get_lock():
            _episodes_done.value += episodes


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: ``taskset``, Slurm, cgroup cpusets), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API (macOS, Windows)
        return os.cpu_count() or 1


# fork where it is safe and fast (Linux); spawn elsewhere (macOS's default, Windows' only way): runs are
# byte-identical either way (tests/test_shards.py)
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _timed(index: int, function, args: tuple, kwargs: dict) -> tuple:
    """``(result, seconds)`` of call ``index``; while it runs, ``_running[index]`` holds this worker's pid."""
    if _stopped():  # queued before the run stopped: start nothing
        return None, 0.0
    if _running is not None:
        _running[index] = os.getpid()
    start = time.perf_counter()
    try:
        return function(*args, **kwargs), time.perf_counter() - start
    finally:
        if _running is not None:
            _running[index] = 0


def _died(labels: list[str], running, processes: dict, unfinished: list[int]) -> RuntimeError:
    """The error for a worker that died without an error (``os._exit``, a crash, a signal): what it was running.

    ``running``: per call, the pid of the worker running it; ``processes``: the pool's worker processes by pid.
    The pool terminates the other workers once one has died, so the dead one is the worker that ended by itself.
    """

    def ending(process) -> str | None:
        # a dead worker's status shows a moment after the pool sees it die; the pool's own thread may reap it first
        # (then this thread's waitpid finds no child and the status appears once that thread has recorded it)
        deadline = time.monotonic() + 5
        while process is not None and process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.02)
        code = None if process is None else process.exitcode
        if code is None or code == -signal.SIGTERM:
            return None  # still running, or terminated by the pool because another worker died
        return f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"

    ran = [(i, ending(processes.get(running[i]))) for i in range(len(labels)) if running[i]]
    dead = [(i, how) for i, how in ran if how is not None]
    if len(dead) == 1 or len(ran) == 1:
        i, how = dead[0] if dead else ran[0]
        return RuntimeError(
            f"{labels[i]}: the worker process running it {how or 'died'} without an error (its code "
            "called os._exit, crashed, or the process was killed); what it had checkpointed is kept"
        )
    which = (
        [f"{labels[i]} (its worker {how})" for i, how in dead]
        or [labels[i] for i, _ in ran]
        or [labels[i] for i in unfinished]
    )
    return RuntimeError(
        f"a worker process died without an error (its code called os._exit, crashed, or the process "
        f"was killed) while running one of: {'; '.join(which)}; what was checkpointed is kept"
    )


def _let_workers_stop(pool, running, told: bool) -> None:
    """Give the busy workers GRACE_SECONDS to stop at their next episode, then kill them (a second Ctrl-C: at once).

    ``told``: the user stopped the run, so say what the wait is for. A killed
    worker's last checkpoint stays as it was (every write is atomic), so the run resumes.
    """
    start = time.monotonic()
    try:
        while any(running) and time.monotonic() - start < min(QUIET_SECONDS, GRACE_SECONDS):
            time.sleep(0.02)  # most workers stop within an episode: say nothing
        busy = sum(1 for pid in running if pid)
        if busy and told:
            print(
                f"stopping: waiting for {busy} worker{'s' * (busy > 1)} (Ctrl-C again to stop at once)",
                file=sys.stderr,
                flush=True,
            )
        while any(running) and time.monotonic() - start < GRACE_SECONDS:
            time.sleep(0.05)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM again
        pass
    if any(running):
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()


def _in_workers(
    calls: list,
    jobs: int,
    progress: bool,
    episodes: int,
    start_method: str,
    meanwhile=None,
    labels: list[str] | None = None,
) -> list[tuple]:
    """``(result, seconds)`` of each ``(function, args, kwargs)`` in ``calls``, run by ``jobs`` worker processes.

    ``episodes``: the training episodes the calls count, for the progress bar;
    ``meanwhile``: called here once the workers have started; ``labels``: what
    each call does ("method M, seed S"), to say what a worker that died was running.
    If a call fails, or the main process is interrupted (KeyboardInterrupt),
    the workers stop at their next episode (or are killed: :func:`_let_workers_stop`),
    queued calls never start, and the error is raised once they have stopped. A worker that dies without an
    error (``os._exit``, a crash) is told as a RuntimeError naming its call.
    """
    labels = labels or [f"{getattr(call[0], '__name__', 'call')} {i}" for i, call in enumerate(calls)]
    context = multiprocessing.get_context(start_method)
    counter, stop = context.Value("q", 0), context.Value("b", 0)  # episodes trained by all workers; stop flag
    running = context.Array("q", len(calls))  # per call: the pid of the worker running it, 0 when none
    processes: dict = {}  # every worker process the pool started, by pid: to find the one that died
    futures: list = []
    with (
        tqdm(total=episodes, desc="training", unit="episode", disable=not progress, mininterval=0.5) as bar,
        ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_worker, initargs=(counter, stop, os.getpid(), running)
        ) as pool,
    ):
        try:
            for i, call in enumerate(calls):
                futures.append(pool.submit(_timed, i, *call))
                processes.update(getattr(pool, "_processes", None) or {})
            if meanwhile is not None:
                meanwhile()
            pending = set(futures)
            while pending:
                processes.update(getattr(pool, "_processes", None) or {})
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                bar.update(counter.value - bar.n)
                failed = sorted((f for f in done if f.exception() is not None), key=futures.index)
                if failed:
                    raise failed[0].exception()
        except BaseException as err:  # a worker's error, or KeyboardInterrupt: stop the others, then raise
            stop.value = 1
            if isinstance(err, BrokenProcessPool):
                unfinished = [
                    i
                    for i in range(len(calls))
                    if i >= len(futures)
                    or not futures[i].done()
                    or futures[i].cancelled()
                    or futures[i].exception() is not None
                ]
                died = _died(labels, running.get_obj(), processes, unfinished)
            else:
                _let_workers_stop(pool, running, told=isinstance(err, KeyboardInterrupt))
            pool.shutdown(cancel_futures=True)
            if isinstance(err, BrokenProcessPool):
                raise died from None
            raise
        return [f.result() for f in futures]
