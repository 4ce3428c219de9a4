"""Train methods over seeds into a run directory, resumably and reproducibly.

Layout of a run directory::

    run.json                      what was asked (env, methods, seeds, hyper-parameters) + fingerprint
    <method>/seed_<s>/checkpoint.npz   latest checkpoint of that training run
    <method>/seed_<s>/result.json      final evaluation (written once the run is complete)
    metrics.csv                   one row per (method, seed): every reported number
    curves.csv                    learning curves: greedy evaluation every ``log_every`` episodes
    summary.md                    the table per method (mean, IQM, 95% bootstrap intervals) and the figures:
    learning_curves.png, final_fairness.png, leader_shares.png   (with the ``plot`` extra: matplotlib)
    .lock                         while a run or evaluation uses the directory: its pid (removed at the end)

Every file is written atomically. A run directory grows: training into it
again with the same environment and hyper-parameters adds the methods and
seeds it lacks and continues interrupted ones from their checkpoints (ending
with exactly the Q-tables and numbers an uninterrupted run would have),
training only what is missing; a run with other settings, or a method of the
same name defined differently, is refused and the directory never touched.
Each seed's files carry the fingerprint of what determines them (the
environment, the hyper-parameters and its method's definition), so adding
methods or seeds leaves them valid. Every checkpoint and result file is
checked before any training starts, so a corrupt or foreign one leaves the
directory as it was. The (method, seed) pairs train in worker processes
(:mod:`fairlead.experiments.workers`: they stop together on Ctrl-C, SIGTERM or
a failure, and die with the main process), or as Ray tasks. What a run is,
and reading it back from ``run.json``: :mod:`fairlead.experiments.spec`.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from fairlead import __version__
from fairlead.engine import COMPILING, check_engine, compile_ahead, compiled_in_cache, make_trainer, unsupported
from fairlead.experiments.atomic import remove_temporaries, write_atomic
from fairlead.experiments.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_result,
    result_bytes,
    save_checkpoint,
    save_result,
)
from fairlead.experiments.comparison import RUN_FILE, csv_text, env_title, write_results
from fairlead.experiments.directories import RunDirectoryError, lock_run_dir, refuse_used
from fairlead.experiments.report import summary_table
from fairlead.experiments.spec import RunSpec, load_spec, spec_differences
from fairlead.experiments.workers import START_METHOD, _count, _in_workers, _stopped, usable_cpus
from fairlead.trainers.evaluation import HEADLINE, summarise
from fairlead.trainers.jamql import Trainer
from fairlead.usercode import blame, culprits

CHECKPOINT_FILE, RESULT_FILE = "checkpoint.npz", "result.json"  # RUN_FILE: comparison.py's
CURVE_OFFSET = 10**6  # learning-curve points play evaluation seeds from here on, apart from the final evaluation's
# the compiled engine trains a checkpoint interval in milliseconds: it saves at one only if its last save is this
# old (and always at the end), or checkpoints would cost more than the training they protect
COMPILED_CHECKPOINT_SECONDS = 10.0


def seed_dir(out: Path, method: str, seed: int) -> Path:
    return out / method / f"seed_{seed}"


def _row_keys(spec: RunSpec) -> list[str]:
    """The keys of a result row: what a fresh evaluation of this run reports."""
    with blame_method(spec, spec.methods[0], 0):
        trainer = Trainer(spec.env, spec.env_kwargs, spec.definitions[spec.methods[0]], spec.hp, 0)
        return ["method", "seed", *trainer.evaluate_summary(1)]


def _check_result(path: Path, result: dict, method: str, seed: int, keys: list[str]) -> None:
    """Refuse a result whose row lacks a key of ``keys``, or whose row or curve is not (method, seed)'s numbers."""
    missing = [k for k in keys if k not in result["row"]]
    if missing:
        raise CheckpointError(f"result file {path} is incomplete: its row lacks {', '.join(missing)}")
    owner = result["row"]["method"], result["row"]["seed"]
    if owner != (method, seed) and isinstance(owner[1], int):
        raise CheckpointError(
            f"result file {path} is method {owner[0]} seed {owner[1]}'s, not method {method} seed "
            f"{seed}'s (copied from another seed's folder?); refusing to use it"
        )
    if not all(
        isinstance(p, dict)
        and (p.get("method"), p.get("seed")) == (method, seed)
        and "episode" in p
        and all(isinstance(v, (int, float)) for k, v in p.items() if k != "method")
        for p in ({**result["row"], "episode": 0}, *result["curve"])
    ):
        raise CheckpointError(
            f"result file {path} is malformed: its row and each curve point must be {method} "
            f"seed {seed}'s, with numbers as values (and an episode in each point)"
        )


def check_seed_files(spec: RunSpec, out: Path) -> None:
    """Load and check every checkpoint and result file of ``spec`` in ``out``: a bad one raises now."""
    keys = None
    for method in spec.methods:
        for seed in spec.seeds:
            folder = seed_dir(out, method, seed)
            if (folder / RESULT_FILE).exists():
                keys = keys or _row_keys(spec)
                result = load_result(folder / RESULT_FILE, spec.seed_fingerprint(method))
                _check_result(folder / RESULT_FILE, result, method, seed, keys)
            if (folder / CHECKPOINT_FILE).exists():
                load_checkpoint(folder / CHECKPOINT_FILE, spec.seed_fingerprint(method), (method, seed))


def _refuse_unusable(out: Path, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"{out} is a file, not a directory; choose another --out")
    if resume and not (out / RUN_FILE).exists():
        raise RunDirectoryError(f"nothing to resume: {out} has no {RUN_FILE}")


def prepare_run_dir(
    spec: RunSpec, out: Path, resume: bool, shard: tuple[int, int] | None = None, trust_plugins: bool = False
) -> RunSpec:
    """Claim ``out`` for ``spec`` (or its ``shard``), or explain why it cannot be used (before writing anything).

    Returns the run to train: ``spec`` itself, or, when ``out`` holds a run of
    the same settings, that run with ``spec``'s methods and seeds added (a
    shard does not grow: the pairs of every shard would change). ``trust_plugins``: :func:`load_spec`'s.
    """
    _refuse_unusable(out, resume)
    run_file = out / RUN_FILE
    if run_file.exists():
        held = recorded_shard(out)
        if held != shard:
            what = f"shard {held[0]}/{held[1]} of a run" if held else "a whole run"
            given = f"--shard {held[0]}/{held[1]}" if held else "no --shard"
            raise RunDirectoryError(f"{out} holds {what}; continue it with {given}")
        recorded = load_spec(out, trust_plugins)
        differences = spec_differences(recorded, spec)
        if differences:
            raise RunDirectoryError(
                f"{out} holds a run with other settings ({'; '.join(differences)}); a run grows only by methods "
                f"and seeds: give its options as recorded (`fairlead train --resume {out}` takes them all), "
                "or choose another --out"
            )
        spec = recorded.extended(spec)
        if shard and spec.fingerprint != recorded.fingerprint:
            raise RunDirectoryError(
                f"{out} holds shard {shard[0]}/{shard[1]} of a run, and a shard does not grow "
                "(every shard's pairs would change): merge the shards (`fairlead merge`), "
                "then add methods or seeds to the merged run"
            )
        check_seed_files(spec, out)
        remove_temporaries(out)  # left by a write that was killed; no writer runs (we hold the lock)
        if spec.fingerprint == recorded.fingerprint:
            return spec
    else:
        refuse_used(out)
    shard_tasks(spec, shard)  # the shard of the run to record exists and has pairs
    record = {"fairlead": __version__, "fingerprint": spec.fingerprint, **spec.as_dict()}
    if shard:
        record["shard"] = list(shard)
    write_atomic(run_file, json.dumps(record, indent=2, default=list))
    return spec


def blame_method(spec: RunSpec, method: str, seed: int):
    """Context: what the method's user code (selector, learner) raises becomes one picklable UserCodeError."""
    return blame(f"method {method}, seed {seed}", culprits(spec.definitions[method].source))


def train_seed(
    spec: RunSpec, method: str, seed: int, out: Path, stop_after: int | None = None, engine: str = "auto"
) -> dict:
    """Train one (method, seed) run to completion (or ``stop_after`` episodes) and evaluate it.

    ``engine`` (``fairlead.engine``) does not change a single byte of the result.

    Returns ``{}`` if it stopped early (``stop_after``, or the run was stopped).
    A finished seed is evaluated again from its checkpoint, and one whose
    checkpoint was lost is retrained to recreate it: either way the result
    must equal its recorded result byte for byte (an edited number is refused). Whatever the method's
    user code raises (SystemExit too) is raised as a UserCodeError naming the
    method, the seed, the code's file and the exception; the seed's last
    checkpoint stays as it was.
    """
    with blame_method(spec, method, seed):
        return _train_seed(spec, method, seed, out, stop_after, engine)


def _train_seed(spec: RunSpec, method: str, seed: int, out: Path, stop_after: int | None, engine: str) -> dict:
    last_saved = time.monotonic()
    folder = seed_dir(out, method, seed)
    result_file, checkpoint = folder / RESULT_FILE, folder / CHECKPOINT_FILE
    tc, fingerprint, owner = spec.hp.training, spec.seed_fingerprint(method), (method, seed)
    recorded = result_file.read_bytes() if result_file.exists() else None
    recreate = recorded is not None and not checkpoint.exists()
    trainer = make_trainer(spec.env, spec.env_kwargs, spec.definitions[method], spec.hp, seed, engine)
    points: list[dict] = []
    if checkpoint.exists():
        state, points = load_checkpoint(checkpoint, fingerprint, owner)
        trainer.load_state_dict(state)
    _count(trainer.episode)  # resumed episodes count as done
    while trainer.episode < tc.episodes:
        # the compiled engine plays up to the next curve point, checkpoint or stop at once; the reference one
        # episode at a time, so a stop (a failed worker, Ctrl-C) is seen within an episode
        done = trainer.episode
        target = min(tc.episodes, *(done + every - done % every for every in (tc.log_every, tc.checkpoint_every)))
        if stop_after is not None or not trainer.plays_in_chunks:
            target = min(target, max(stop_after or 0, done + 1))
        trainer.train(target - done)
        _count(target - done)
        if trainer.episode % tc.log_every == 0 or trainer.episode == tc.episodes:
            point = trainer.evaluate_summary(tc.curve_episodes, offset=CURVE_OFFSET + trainer.episode)
            points.append({"episode": trainer.episode, **point})
        if _stopped():
            return {}
        cut = stop_after is not None and trainer.episode >= stop_after
        due = trainer.episode % tc.checkpoint_every == 0 and (
            not trainer.plays_in_chunks or time.monotonic() - last_saved >= COMPILED_CHECKPOINT_SECONDS
        )
        if cut or not recreate and (due or trainer.episode == tc.episodes):
            save_checkpoint(checkpoint, fingerprint, trainer.state_dict(), points, owner)
            last_saved = time.monotonic()
        if cut:
            return {}
    # a finished seed is evaluated again from its checkpoint: its result must be what the checkpoint gives
    row = {"method": method, "seed": seed, **trainer.evaluate_summary(tc.eval_episodes)}
    curve = [{"method": method, "seed": seed, **p} for p in points]
    if recorded is None:
        save_result(result_file, fingerprint, row, curve)
    elif recorded != result_bytes(fingerprint, row, curve):
        raise CheckpointError(
            f"{checkpoint} was lost and retraining {method} seed {seed} does not reproduce {result_file} (written "
            "by another version?); neither is changed: train the run again into a new --out"
            if recreate
            else f"{result_file} is not what its checkpoint {checkpoint} evaluates to (was it edited, or written by "
            "another version?); nothing is changed: remove it to have it written again from the checkpoint"
        )
    elif recreate:
        save_checkpoint(checkpoint, fingerprint, trainer.state_dict(), points, owner)
    return {"row": row, "curve": curve}


def write_reports(spec: RunSpec, out: Path, results: list[dict], shard: tuple[int, int] | None = None) -> str:
    """metrics.csv, curves.csv, summary.md and the figures; all are computed before any is written."""
    rows = [r["row"] for r in results]
    curves = [p for r in results for p in r["curve"]]
    title = f"{env_title(spec.env, spec.env_kwargs)} - {len(spec.seeds)} seeds, {spec.hp.training.episodes} episodes"
    title += f" - shard {shard[0]}/{shard[1]}" if shard else ""
    return write_results(out, rows, curves, spec.methods, title)


def shard_tasks(spec: RunSpec, shard: tuple[int, int] | None) -> list[tuple[str, int]]:
    """The (method, seed) pairs of ``spec`` in order, or shard ``i`` of ``n``'s: every ``n``-th from the ``i``-th.

    A shard that does not exist, or has no pair, is refused (a ValueError).
    """
    tasks = [(m, s) for m in spec.methods for s in spec.seeds]
    if shard is None:
        return tasks
    if not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard {shard[0]}/{shard[1]} does not exist: a run of n shards has shards 0/n .. n-1/n")
    if not tasks[shard[0] :: shard[1]]:
        raise ValueError(
            f"shard {shard[0]}/{shard[1]} of a run of {len(tasks)} (method, seed) pairs has none; "
            f"use fewer shards (at most {len(tasks)})"
        )
    return tasks[shard[0] :: shard[1]]


def recorded_shard(out: Path) -> tuple[int, int] | None:
    """The shard ``(i, n)`` a run directory holds (None: the whole run, or no run)."""
    try:
        shard = json.loads((out / RUN_FILE).read_text()).get("shard")
    except (OSError, ValueError, AttributeError):
        return None
    return tuple(shard) if shard else None


BACKENDS = ("local", "ray")


def check_run_options(
    specs: list[RunSpec], engine: str = "auto", backend: str = "local", address: str | None = None
) -> None:
    """Refuse an engine, backend or address that cannot train ``specs``, before anything is written."""
    check_engine(engine)
    if engine == "compiled":
        for spec in specs:
            for definition in spec.definitions.values():
                if reason := unsupported(spec.env, spec.env_kwargs, definition):
                    raise ValueError(
                        f"--engine compiled: {reason}; use --engine auto (the reference trainer "
                        "where the compiled engine cannot) or --engine reference"
                    )
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise ValueError("--address names a Ray cluster: use it with --backend ray")
    if backend == "ray":
        from fairlead.experiments.ray_backend import require_ray

        require_ray()


def run(
    spec: RunSpec,
    out: str | Path,
    resume: bool = False,
    jobs: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    start_method: str = START_METHOD,
    backend: str = "local",
    address: str | None = None,
    engine: str = "auto",
    trust_plugins: bool = False,
) -> str:
    """Train every (method, seed), or those of ``shard`` ``(i, n)``, write the reports, return the summary table.

    ``out`` is locked for the whole run. If a worker fails, or the run is
    interrupted (KeyboardInterrupt), the others stop at their next episode,
    queued work never starts, and the error is raised once they have stopped.
    The shards of a run are merged into the whole run by :func:`merge_shards`.
    ``backend="ray"`` runs each pair as a Ray task (``address``: a cluster's;
    none: a local instance of ``jobs`` CPUs, stopped at the end), with the
    same results. ``engine`` (``fairlead.engine``: auto, compiled, reference) picks the trainer; the results
    are the same bytes whichever it is. ``trust_plugins``: run plug-in files inside ``out`` (:func:`load_spec`).
    """
    check_run_options([spec], engine, backend, address)
    if backend == "ray":
        from fairlead.experiments.ray_backend import train_with_ray
    out = Path(out)
    _refuse_unusable(out, resume)  # before creating the directory to lock
    if not (out / RUN_FILE).exists():
        shard_tasks(spec, shard)  # a new run's shard that does not exist or has no pair: before creating out
    out.mkdir(parents=True, exist_ok=True)
    with lock_run_dir(out):
        spec = prepare_run_dir(spec, out, resume, shard, trust_plugins)
        tasks = shard_tasks(spec, shard)
        jobs = max(1, min(jobs or usable_cpus(), len(tasks)))
        _compile_for_workers([spec], engine, jobs, progress)
        if backend == "ray":
            results = train_with_ray(spec, out, tasks, jobs, progress, address, engine)
        else:
            results = _train_local(spec, out, tasks, jobs, progress, start_method, engine)
        return write_reports(spec, out, [results[t] for t in tasks], shard)


def _train_local(
    spec: RunSpec, out: Path, tasks: list, jobs: int, progress: bool, start_method: str, engine: str
) -> dict:
    """``{(method, seed): result}`` from a pool of ``jobs`` local worker processes."""
    calls = [(train_seed, (spec, m, s, out), {"engine": engine}) for m, s in tasks]
    done = _in_workers(
        calls,
        jobs,
        progress,
        len(tasks) * spec.hp.training.episodes,
        start_method,
        labels=[f"method {m}, seed {s}" for m, s in tasks],
    )
    return {task: result for task, (result, _) in zip(tasks, done)}


def run_all(
    runs: list[tuple[RunSpec, Path]],
    jobs: int | None = None,
    progress: bool = True,
    engine: str = "auto",
    start_method: str = START_METHOD,
) -> list[tuple[str, float]]:
    """Train several runs as :func:`run` trains each (locally, whole), in one pool of workers; then their reports.

    One pool for every run's (method, seed) pairs: no start-up per run and no
    idle worker while a run's last pairs finish; the runs' reports are
    written by the workers too, in parallel. Every directory is locked and
    checked before any training starts. Returns, per run, its summary table
    and the worker seconds its pairs and reports took.
    """
    check_run_options([spec for spec, _ in runs], engine)
    with ExitStack() as locks:
        prepared = []
        for spec, out in runs:
            _refuse_unusable(Path(out), resume=False)
            Path(out).mkdir(parents=True, exist_ok=True)
            locks.enter_context(lock_run_dir(Path(out)))
            prepared.append((prepare_run_dir(spec, Path(out), resume=False), Path(out)))
        tasks = [(spec, out, m, s) for spec, out in prepared for m, s in shard_tasks(spec, None)]
        jobs = max(1, min(jobs or usable_cpus(), len(tasks)))
        _compile_for_workers([spec for spec, _ in prepared], engine, jobs, progress)
        trained = _in_workers(
            [(train_seed, (spec, m, s, out), {"engine": engine}) for spec, out, m, s in tasks],
            jobs,
            progress,
            sum(spec.hp.training.episodes for spec, *_ in tasks),
            start_method,
            meanwhile=_import_figures,
            labels=[f"{out}: method {m}, seed {s}" for _, out, m, s in tasks],
        )
        results, seconds = defaultdict(list), defaultdict(float)
        for (_, out, _, _), (result, took) in zip(tasks, trained):
            results[out].append(result)
            seconds[out] += took
        reports = _in_workers(
            [(write_reports, (spec, out, results[out]), {}) for spec, out in prepared],
            min(jobs, len(prepared)),
            False,
            0,
            start_method,
        )
        return [(table, seconds[out] + took) for (_, out), (table, took) in zip(prepared, reports)]


def _compile_for_workers(specs: list[RunSpec], engine: str, jobs: int, progress: bool) -> None:
    """Compile the engine here once if workers will use it, not in every worker at the same time.

    They load it from numba's cache (or, forked, have it already). On a cold
    cache it is compiled here for one worker too, after saying so (with the
    progress bar): a first run would otherwise sit silent for half a minute.
    """
    if engine == "reference" or all(
        unsupported(spec.env, spec.env_kwargs, d) is not None for spec in specs for d in spec.definitions.values()
    ):
        return
    cold = not compiled_in_cache()
    if cold and progress:
        print(f"{COMPILING}...", file=sys.stderr, flush=True)
    if jobs > 1 or cold:
        compile_ahead()


def _import_figures() -> None:
    """Import matplotlib here, once, so that the workers forked to draw the reports need not each import it."""
    try:
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401
    except ImportError:  # no plot extra: the reports say how to draw the figures
        pass


def _finished_state(spec: RunSpec, out: Path, method: str, seed: int) -> dict:
    checkpoint = seed_dir(out, method, seed) / CHECKPOINT_FILE
    if not checkpoint.exists():
        raise RunDirectoryError(f"{checkpoint} is missing: recreate it with `fairlead train --resume {out}`")
    state = load_checkpoint(checkpoint, spec.seed_fingerprint(method), (method, seed))[0]
    if state["episode"] < spec.hp.training.episodes:
        raise RunDirectoryError(
            f"{method} seed {seed} stopped at episode {state['episode']} of "
            f"{spec.hp.training.episodes}: finish it first with `fairlead train --resume {out}`"
        )
    return state


def evaluate_run(
    out: str | Path, episodes: int | None = None, progress: bool = True, trust_plugins: bool = False
) -> str:
    """Greedy re-evaluation of every (method, seed) checkpoint; writes eval.csv, returns the table.

    Every checkpoint is checked (present, of this run, fully trained) before any
    is evaluated; the directory is locked as for training.
    """
    out = Path(out)
    spec = load_spec(out, trust_plugins)
    if shard := recorded_shard(out):
        raise RunDirectoryError(
            f"{out} holds shard {shard[0]}/{shard[1]} of a run; merge the shards "
            "(`fairlead merge`) and evaluate the merged run"
        )
    episodes = episodes or spec.hp.training.eval_episodes
    with lock_run_dir(out):
        states = {(m, s): _finished_state(spec, out, m, s) for m in spec.methods for s in spec.seeds}
        rows = []
        with tqdm(
            total=len(states) * episodes, desc="evaluating", unit="episode", disable=not progress, mininterval=0.5
        ) as bar:
            for (method, seed), state in states.items():
                with blame_method(spec, method, seed):
                    trainer = make_trainer(spec.env, spec.env_kwargs, spec.definitions[method], spec.hp, seed)
                    trainer.load_state_dict(state)
                    played = []
                    for j in range(episodes):  # one at a time for the bar; same seeds as trainer.evaluate(episodes)
                        played += trainer.evaluate(1, offset=j)
                        bar.update()
                rows.append(
                    {"method": method, "seed": seed, **summarise(played, trainer.players, trainer.return_scale)}
                )
        write_atomic(out / "eval.csv", csv_text(rows))
    return summary_table(rows, spec.methods, headline=HEADLINE)


def merge_shards(shards, out: str | Path, trust_plugins: bool = False) -> str:
    """The whole run from the directories of its shards, into the new or empty ``out``; returns the table.

    Every shard is checked (one run, each shard once, every shard there and
    finished, every file of this run) before anything is written. The merged
    directory holds exactly the bytes the run trained unsharded would have.
    """
    shards, out = [Path(d) for d in shards], Path(out)
    held: dict[tuple[int, int], Path] = {}
    for folder in shards:
        shard = recorded_shard(folder)
        if shard is None:
            raise RunDirectoryError(
                f"{folder} is not a shard of a run (train shards with `fairlead train --shard i/n`)"
                if (folder / RUN_FILE).exists()
                else f"{folder} is not a run directory (no {RUN_FILE})"
            )
        if shard in held:
            raise RunDirectoryError(f"{held[shard]} and {folder} are both shard {shard[0]}/{shard[1]}; give each once")
        held[shard] = folder
    spec = load_spec(shards[0], trust_plugins)
    for folder in shards[1:]:
        other = load_spec(folder, trust_plugins)
        if other.fingerprint != spec.fingerprint:
            differences = "; ".join(spec_differences(spec, other)) or "their methods or seeds differ"
            raise RunDirectoryError(f"{shards[0]} and {folder} are shards of different runs ({differences})")
    counts = sorted({n for _, n in held})
    missing = [f"{i}/{counts[-1]}" for i in range(counts[-1]) if (i, counts[-1]) not in held]
    if len(counts) > 1 or missing:
        raise RunDirectoryError(
            f"the shards do not make one whole run: {'; '.join(sorted(f'{i}/{n}' for i, n in held))}"
            f" given" + (f", {', '.join(missing)} missing" if missing else "")
        )
    for shard, folder in held.items():
        check_seed_files(spec, folder)
        for method, seed in shard_tasks(spec, shard):
            if not all((seed_dir(folder, method, seed) / name).exists() for name in (RESULT_FILE, CHECKPOINT_FILE)):
                raise RunDirectoryError(
                    f"shard {shard[0]}/{shard[1]} in {folder} is not finished ({method} seed "
                    f"{seed}): finish it with `fairlead train --resume {folder}`"
                )
            train_seed(spec, method, seed, folder)  # writes nothing: checks the result against its checkpoint
    refuse_used(out, "merge into a new --out")
    out.mkdir(parents=True, exist_ok=True)
    with lock_run_dir(out):
        prepare_run_dir(spec, out, resume=False)  # refuses an out written meanwhile; writes the run's run.json
        owner = {task: folder for shard, folder in held.items() for task in shard_tasks(spec, shard)}
        for (method, seed), folder in owner.items():
            for name in (CHECKPOINT_FILE, RESULT_FILE):
                write_atomic(seed_dir(out, method, seed) / name, (seed_dir(folder, method, seed) / name).read_bytes())
        results = [
            load_result(seed_dir(out, m, s) / RESULT_FILE, spec.seed_fingerprint(m)) for m, s in shard_tasks(spec, None)
        ]
        return write_reports(spec, out, results)
