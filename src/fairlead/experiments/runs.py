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
run would have.
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
from fairlead.experiments.checkpoint import load_checkpoint, save_checkpoint
from fairlead.experiments.report import summary_table
from fairlead.registry import env_module, make
from fairlead.trainers.config import HyperParams, apply_overrides, get_method
from fairlead.trainers.evaluation import HEADLINE, summarise
from fairlead.trainers.jamql import Trainer

RUN_FILE = "run.json"
_episodes_done = None  # shared counter of training episodes, for the progress bar


def _share_counter(counter) -> None:
    global _episodes_done
    _episodes_done = counter


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
            get_method(method)
        if not self.methods or not self.seeds:
            raise ValueError("a run needs at least one method and one seed")
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


def prepare_run_dir(spec: RunSpec, out: Path, resume: bool) -> None:
    """Claim ``out`` for ``spec``, or explain why it cannot be used."""
    run_file = out / RUN_FILE
    if run_file.exists():
        try:
            existing = json.loads(run_file.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise RunDirectoryError(f"{run_file} is unreadable ({err}); choose another --out") from err
        if existing != spec.fingerprint:
            raise RunDirectoryError(
                f"{out} holds a different run (fingerprint {existing}, this run {spec.fingerprint}); "
                "choose another --out, or repeat that run's exact options to resume it"
            )
        if not resume:
            raise RunDirectoryError(f"{out} already holds this run; pass --resume to continue it")
        return
    if resume:
        raise RunDirectoryError(f"nothing to resume: {out} has no {RUN_FILE}")
    if out.exists() and any(out.iterdir()):
        raise RunDirectoryError(f"{out} exists and is not empty; choose another --out")
    record = {"fairlead": __version__, "fingerprint": spec.fingerprint, **spec.as_dict()}
    write_atomic(run_file, json.dumps(record, indent=2, default=list))


def train_seed(spec: RunSpec, method: str, seed: int, out: Path, stop_after: int | None = None) -> dict:
    """Train one (method, seed) run to completion (or ``stop_after`` episodes) and evaluate it."""
    folder = out / method / f"seed_{seed}"
    result_file = folder / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    hp, tc = spec.hp, spec.hp.training
    trainer = Trainer(spec.env, spec.env_kwargs, get_method(method), hp, seed)
    checkpoint = folder / "checkpoint.npz"
    curve: list[dict] = []
    if checkpoint.exists():
        state, curve = load_checkpoint(checkpoint, spec.fingerprint)
        trainer.load_state_dict(state)
    if _episodes_done is not None:
        with _episodes_done.get_lock():
            _episodes_done.value += trainer.episode  # resumed episodes count as done
    while trainer.episode < tc.episodes:
        trainer.train_episode()
        if _episodes_done is not None:
            with _episodes_done.get_lock():
                _episodes_done.value += 1
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
    result = {"row": row, "curve": [{"method": method, "seed": seed, **p} for p in curve]}
    write_atomic(result_file, json.dumps(result, indent=2))
    return result


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
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
    """Train every (method, seed), write the reports, return the summary table."""
    out = Path(out)
    prepare_run_dir(spec, out, resume)
    tasks = [(m, s) for m in spec.methods for s in spec.seeds]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    counter = multiprocessing.get_context("fork").Value("q", 0)  # episodes trained, all workers
    bar = tqdm(total=len(tasks) * spec.hp.training.episodes, desc="training", unit="episode",
               disable=not progress, mininterval=0.5)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_share_counter,
                             initargs=(counter,)) as pool:
        futures = {pool.submit(train_seed, spec, m, s, out): (m, s) for m, s in tasks}
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            bar.update(counter.value - bar.n)
        results = {futures[f]: f.result() for f in futures}  # re-raises a worker's error
    bar.close()
    return write_reports(spec, out, [results[t] for t in tasks])


def load_spec(out: Path) -> RunSpec:
    """The RunSpec recorded in a run directory."""
    try:
        record = json.loads((out / RUN_FILE).read_text())
        hp = apply_overrides(HyperParams(), record["hyperparameters"], str(out / RUN_FILE))
        spec = RunSpec(record["env"], record["env_kwargs"], tuple(record["methods"]), tuple(record["seeds"]), hp)
    except FileNotFoundError as err:
        raise RunDirectoryError(f"{out} is not a run directory (no {RUN_FILE})") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunDirectoryError(f"{out / RUN_FILE} is unreadable or malformed ({err})") from err
    if spec.fingerprint != record.get("fingerprint"):
        raise RunDirectoryError(
            f"{out} was trained with method or hyper-parameter definitions that have changed since; "
            "its checkpoints cannot be evaluated as the same run"
        )
    return spec


def evaluate_run(out: Path, episodes: int | None = None) -> str:
    """Greedy re-evaluation of every (method, seed) checkpoint; writes eval.csv, returns the table."""
    spec = load_spec(out)
    episodes = episodes or spec.hp.training.eval_episodes
    rows = []
    for method in spec.methods:
        for seed in spec.seeds:
            checkpoint = out / method / f"seed_{seed}" / "checkpoint.npz"
            if not checkpoint.exists():
                raise RunDirectoryError(f"{checkpoint} is missing: train (or --resume) the run first")
            trainer = Trainer(spec.env, spec.env_kwargs, get_method(method), spec.hp, seed)
            trainer.load_state_dict(load_checkpoint(checkpoint, spec.fingerprint)[0])
            if trainer.episode < spec.hp.training.episodes:
                raise RunDirectoryError(f"{method} seed {seed} stopped at episode {trainer.episode}: resume it first")
            rows.append({"method": method, "seed": seed,
                         **summarise(trainer.evaluate(episodes), trainer.players, trainer.return_scale)})
    write_atomic(out / "eval.csv", _csv(rows))
    return summary_table(rows, spec.methods, headline=HEADLINE)
