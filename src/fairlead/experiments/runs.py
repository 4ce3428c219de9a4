"""Train methods over seeds into a run directory, resumably and reproducibly.

Layout of a run directory::

    run.json                      what was asked (env, methods, seeds, hyper-parameters) + fingerprint
    <method>/seed_<s>/checkpoint.npz   latest checkpoint of that training run
    <method>/seed_<s>/result.json      final evaluation (written once the run is complete)
    metrics.csv                   one row per (method, seed): every reported number
    curves.csv                    learning curves: greedy evaluation every ``log_every`` episodes
    summary.md                    mean and 95% CI per method

Every file is written atomically. A directory that holds a different run is
never touched; ``resume=True`` continues an interrupted run from its
checkpoints and ends with exactly the Q-tables and numbers an uninterrupted
run would have. Every checkpoint and result file is checked before any
training starts, so a corrupt or foreign one leaves the directory as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fairlead import __version__
from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.checkpoint import load_checkpoint, load_result, save_checkpoint, save_result
from fairlead.experiments.report import summary_table
from fairlead.registry import env_module, make
from fairlead.trainers.config import HyperParams, apply_overrides, get_method
from fairlead.trainers.evaluation import HEADLINE, summarise
from fairlead.trainers.jamql import Trainer

RUN_FILE, CHECKPOINT_FILE, RESULT_FILE = "run.json", "checkpoint.npz", "result.json"
_episodes_done = None  # shared counter of training episodes, for the progress bar
_stop = None  # shared flag: set when a worker failed, so the others stop


def _share(counter, stop) -> None:
    global _episodes_done, _stop
    _episodes_done, _stop = counter, stop


def _count(episodes: int) -> None:
    if _episodes_done is not None:
        with _episodes_done.get_lock():
            _episodes_done.value += episodes


class RunDirectoryError(ValueError):
    """The output directory cannot take this run."""


@dataclass(frozen=True)
class RunSpec:
    env: str
    env_kwargs: dict
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    hp: HyperParams = field(default_factory=HyperParams)

    def __post_init__(self):
        env_module(self.env)  # clear error for unknown names
        for method in self.methods:
            get_method(method)  # unknown names and malformed method files fail here
        if not self.methods or not self.seeds:
            raise ValueError("a run needs at least one method and one seed")
        for kind, values in (("method", self.methods), ("seed", self.seeds)):
            twice = sorted({v for v in values if values.count(v) > 1}, key=values.index)
            if twice:
                raise ValueError(f"{kind} {', '.join(map(str, twice))} given more than once; give each {kind} once")
        make(self.env, **self.env_kwargs)  # validate env options now, not in a worker

    def as_dict(self) -> dict:
        return {
            "env": self.env,
            "env_kwargs": self.env_kwargs,
            "methods": {m: get_method(m).__dict__ for m in self.methods},
            "seeds": list(self.seeds),
            "hyperparameters": self.hp.as_dict(),
        }

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(self.as_dict(), sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def fields(self) -> dict:
        """Every setting as a flat ``name: value`` table, to say which one two runs disagree on."""
        return {
            "env": self.env,
            **{f"env_kwargs.{k}": v for k, v in self.env_kwargs.items()},
            "methods": ",".join(self.methods),
            "seeds": list(self.seeds),
            **{f"{section}.{k}": v for section, values in self.hp.as_dict().items() for k, v in values.items()},
        }


# The `fairlead train` option behind each field (env_kwargs.* come from --env, the rest from --config).
OPTIONS = {"env": "--env", "env_kwargs.n_agents": "--n-agents", "env_kwargs.max_cycles": "--max-cycles",
           "methods": "--method", "seeds": "--seeds", "training.episodes": "--episodes or --config"}


def spec_differences(recorded: RunSpec, asked: RunSpec) -> list[str]:
    """One line per field where ``asked`` differs from ``recorded``, naming the option that sets it."""
    old, new = recorded.fields(), asked.fields()

    def show(values: dict, key: str) -> str:
        return repr(values[key]) if key in values else "unset"

    lines = []
    for key in dict.fromkeys([*old, *new]):
        if show(old, key) != show(new, key):
            option = OPTIONS.get(key, "--env" if key.startswith("env_kwargs.") else "--config")
            lines.append(f"{key} ({option}): recorded {show(old, key)}, asked {show(new, key)}")
    return lines


def seed_dir(out: Path, method: str, seed: int) -> Path:
    return out / method / f"seed_{seed}"


def check_seed_files(spec: RunSpec, out: Path) -> None:
    """Load every checkpoint and result file of ``spec`` in ``out``: a corrupt or foreign one raises now."""
    for method in spec.methods:
        for seed in spec.seeds:
            folder = seed_dir(out, method, seed)
            if (folder / RESULT_FILE).exists():
                load_result(folder / RESULT_FILE, spec.fingerprint)
            if (folder / CHECKPOINT_FILE).exists():
                load_checkpoint(folder / CHECKPOINT_FILE, spec.fingerprint)


def prepare_run_dir(spec: RunSpec, out: Path, resume: bool) -> None:
    """Claim ``out`` for ``spec``, or explain why it cannot be used (before writing anything)."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"{out} is a file, not a directory; choose another --out")
    run_file = out / RUN_FILE
    if run_file.exists():
        try:
            existing = json.loads(run_file.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise RunDirectoryError(f"{run_file} is unreadable ({err}); choose another --out") from err
        if existing != spec.fingerprint:
            differences = "; ".join(spec_differences(load_spec(out), spec)) or f"fingerprint {existing}"
            raise RunDirectoryError(
                f"{out} holds a different run ({differences}); "
                f"choose another --out, or continue that run with `fairlead train --resume {out}`"
            )
        if not resume:
            raise RunDirectoryError(f"{out} already holds this run; pass --resume to continue it")
        check_seed_files(spec, out)
        return
    if resume:
        raise RunDirectoryError(f"nothing to resume: {out} has no {RUN_FILE}")
    if out.exists() and any(out.iterdir()):
        raise RunDirectoryError(f"{out} exists and is not empty; choose another --out")
    record = {"fairlead": __version__, "fingerprint": spec.fingerprint, **spec.as_dict()}
    write_atomic(run_file, json.dumps(record, indent=2, default=list))


def train_seed(spec: RunSpec, method: str, seed: int, out: Path, stop_after: int | None = None) -> dict:
    """Train one (method, seed) run to completion (or ``stop_after`` episodes) and evaluate it.

    Returns ``{}`` if it stopped early (``stop_after``, or another worker failed).
    """
    folder = seed_dir(out, method, seed)
    result_file = folder / RESULT_FILE
    hp, tc = spec.hp, spec.hp.training
    if result_file.exists():
        result = load_result(result_file, spec.fingerprint)
        _count(tc.episodes)
        return result
    trainer = Trainer(spec.env, spec.env_kwargs, get_method(method), hp, seed)
    checkpoint = folder / CHECKPOINT_FILE
    curve: list[dict] = []
    if checkpoint.exists():
        state, curve = load_checkpoint(checkpoint, spec.fingerprint)
        trainer.load_state_dict(state)
    _count(trainer.episode)  # resumed episodes count as done
    while trainer.episode < tc.episodes:
        if _stop is not None and _stop.value:
            return {}
        trainer.train_episode()
        _count(1)
        if trainer.episode % tc.log_every == 0 or trainer.episode == tc.episodes:
            point = summarise(trainer.evaluate(tc.curve_episodes, offset=10**6 + trainer.episode),
                              trainer.players, trainer.return_scale)
            curve.append({"episode": trainer.episode, **point})
        if trainer.episode % tc.checkpoint_every == 0 or trainer.episode == tc.episodes:
            save_checkpoint(checkpoint, spec.fingerprint, trainer.state_dict(), curve)
        if stop_after is not None and trainer.episode >= stop_after:
            save_checkpoint(checkpoint, spec.fingerprint, trainer.state_dict(), curve)
            return {}
    row = {"method": method, "seed": seed,
           **summarise(trainer.evaluate(tc.eval_episodes), trainer.players, trainer.return_scale)}
    curve = [{"method": method, "seed": seed, **p} for p in curve]
    save_result(result_file, spec.fingerprint, row, curve)
    return {"row": row, "curve": curve}


def _csv(rows: list[dict]) -> str:
    """Rows as CSV; the columns are every row's keys in order of first appearance (a missing cell is empty).

    The rows of one run share their keys; the union only matters for rows of
    an older version (e.g. a learning curve resumed from an older checkpoint).
    """
    buffer = io.StringIO()
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_reports(spec: RunSpec, out: Path, results: list[dict]) -> str:
    rows = [r["row"] for r in results]
    curves = [p for r in results for p in r["curve"]]
    write_atomic(out / "metrics.csv", _csv(rows))
    if curves:
        write_atomic(out / "curves.csv", _csv(curves))
    table = summary_table(rows, spec.methods, headline=HEADLINE)
    title = f"# {spec.env} {spec.env_kwargs} - {len(spec.seeds)} seeds, {spec.hp.training.episodes} episodes\n\n"
    write_atomic(out / "summary.md", title + table + "\n")
    return table


def run(spec: RunSpec, out: str | Path, resume: bool = False, jobs: int | None = None,
        progress: bool = True) -> str:
    """Train every (method, seed), write the reports, return the summary table.

    If a worker fails, the others stop at their next episode, queued work never
    starts, and the worker's error is raised.
    """
    out = Path(out)
    prepare_run_dir(spec, out, resume)
    tasks = [(m, s) for m in spec.methods for s in spec.seeds]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    context = multiprocessing.get_context("fork")
    counter, stop = context.Value("q", 0), context.Value("b", 0)  # episodes trained by all workers; stop flag
    with tqdm(total=len(tasks) * spec.hp.training.episodes, desc="training", unit="episode",
              disable=not progress, mininterval=0.5) as bar, \
            ProcessPoolExecutor(jobs, mp_context=context, initializer=_share, initargs=(counter, stop)) as pool:
        futures = {pool.submit(train_seed, spec, m, s, out): (m, s) for m, s in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            bar.update(counter.value - bar.n)
            failed = sorted((f for f in done if f.exception() is not None), key=lambda f: tasks.index(futures[f]))
            if failed:
                stop.value = 1
                pool.shutdown(cancel_futures=True)
                raise failed[0].exception()
        results = {futures[f]: f.result() for f in futures}
    return write_reports(spec, out, [results[t] for t in tasks])


def load_spec(out: Path) -> RunSpec:
    """The RunSpec recorded in a run directory."""
    try:
        record = json.loads((out / RUN_FILE).read_text())
        hp = apply_overrides(HyperParams(), record["hyperparameters"], str(out / RUN_FILE))
        spec = RunSpec(record["env"], record["env_kwargs"], tuple(record["methods"]), tuple(record["seeds"]), hp)
    except (FileNotFoundError, NotADirectoryError) as err:
        raise RunDirectoryError(f"{out} is not a run directory (no {RUN_FILE})") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunDirectoryError(f"{out / RUN_FILE} is unreadable or malformed ({err})") from err
    if spec.fingerprint != record.get("fingerprint"):
        raise RunDirectoryError(
            f"{out} was trained with method or hyper-parameter definitions that have changed since; "
            "its checkpoints cannot be resumed or evaluated as the same run"
        )
    return spec


def _finished_state(spec: RunSpec, out: Path, method: str, seed: int) -> dict:
    checkpoint = seed_dir(out, method, seed) / CHECKPOINT_FILE
    if not checkpoint.exists():
        raise RunDirectoryError(f"{checkpoint} is missing: train the run first (or `fairlead train --resume {out}`)")
    state = load_checkpoint(checkpoint, spec.fingerprint)[0]
    if state["episode"] < spec.hp.training.episodes:
        raise RunDirectoryError(f"{method} seed {seed} stopped at episode {state['episode']} of "
                                f"{spec.hp.training.episodes}: finish it first with `fairlead train --resume {out}`")
    return state


def evaluate_run(out: str | Path, episodes: int | None = None, progress: bool = True) -> str:
    """Greedy re-evaluation of every (method, seed) checkpoint; writes eval.csv, returns the table.

    Every checkpoint is checked (present, of this run, fully trained) before any is evaluated.
    """
    out = Path(out)
    spec = load_spec(out)
    episodes = episodes or spec.hp.training.eval_episodes
    states = {(m, s): _finished_state(spec, out, m, s) for m in spec.methods for s in spec.seeds}
    rows = []
    with tqdm(total=len(states) * episodes, desc="evaluating", unit="episode",
              disable=not progress, mininterval=0.5) as bar:
        for (method, seed), state in states.items():
            trainer = Trainer(spec.env, spec.env_kwargs, get_method(method), spec.hp, seed)
            trainer.load_state_dict(state)
            played = []
            for j in range(episodes):  # one at a time for the bar; same seeds as trainer.evaluate(episodes)
                played += trainer.evaluate(1, offset=j)
                bar.update()
            rows.append({"method": method, "seed": seed, **summarise(played, trainer.players, trainer.return_scale)})
    write_atomic(out / "eval.csv", _csv(rows))
    return summary_table(rows, spec.methods, headline=HEADLINE)
