"""The commands as Python functions: ``fairlead.train``, ``evaluate``, ``report`` and ``sweep``.

Each takes the options of its ``fairlead`` command (same names, same
defaults, same checks) and writes the same bytes; the command itself calls
it. Each returns a :class:`Result`: the directory written, the table the
command prints, and the numbers as rows::

    import fairlead

    run = fairlead.train("runs/quick", env="chicken_v0", methods="jamql,alternating", seeds=2, episodes=200)
    print(run.table)
    fairness = {row["method"]: row["fairness_pairwise_equality"] for row in run.rows if row["seed"] == 0}
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from fairlead.experiments.comparison import CURVES_FILE, METRICS_FILE, RUN_FILE, read_csv, write_report
from fairlead.experiments.policies import evaluate_into
from fairlead.experiments.runs import recorded_shard, run
from fairlead.experiments.spec import RunSpec, check_seed_count, load_spec
from fairlead.experiments.sweep import CSV_FILE, parse_grid
from fairlead.experiments.sweep import sweep as _sweep
from fairlead.registry import resolve
from fairlead.trainers.config import load_hyperparams, method_names

DEFAULT_SEEDS = 10  # seeds 0..9 unless asked otherwise


@dataclass(frozen=True)
class Result:
    """What a command wrote: its directory ``out`` and the ``table`` it printed; ``rows`` read its numbers."""

    out: Path
    table: str
    rows_file: str = METRICS_FILE

    @property
    def rows(self) -> list[dict]:
        """One dict per row of its CSV (per method and seed; per cell and method for a sweep); [] if none written.

        Numbers are numbers (an empty cell or ``nan``: NaN), the rest text.
        """
        path = self.out / self.rows_file
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as file:
            return [{key: _value(text) for key, text in row.items()} for row in csv.DictReader(file)]

    @property
    def curves(self) -> list[dict]:
        """The learning-curve points (``curves.csv``); [] for a policy evaluation or a sweep."""
        path = self.out / CURVES_FILE
        return read_csv(path) if path.is_file() else []


def _value(text: str):
    """A CSV cell as fairlead wrote it: an int, a float (empty: NaN), or text."""
    for kind in (int, float):
        try:
            return kind(text) if text != "" else math.nan
        except ValueError:
            continue
    return text

    def __str__(self) -> str:
        return self.table


def method_list(methods: str | Iterable[str]) -> tuple[str, ...]:
    """Method names and method-file paths: ``"a,b"``, ``"all"`` (the catalogue's methods) or a sequence."""
    if isinstance(methods, str):
        # "all" lists the catalogue's names; RunSpec then reads each file once (and names a malformed one)
        return tuple(method_names()) if methods == "all" else tuple(m.strip() for m in methods.split(",") if m.strip())
    items = list(methods) if isinstance(methods, Iterable) else None  # once: it may be a generator
    if items is None or not all(isinstance(m, (str, Path)) for m in items):
        raise TypeError(f"methods must be 'a,b', 'all' or a sequence of method names or .toml paths, got {methods!r}")
    return tuple(str(m) for m in items)


def _overrides(n_agents: int | None, max_cycles: int | None) -> dict:
    return {k: v for k, v in (("n_agents", n_agents), ("max_cycles", max_cycles)) if v is not None}


def run_spec(
    env: str | None,
    methods,
    seeds: int | None,
    episodes: int | None,
    config: str | Path | None,
    n_agents: int | None,
    max_cycles: int | None,
    recorded: RunSpec | None,
) -> RunSpec:
    """The run the options ask for; an option not given takes the ``recorded`` run's value, else the default."""
    overrides = _overrides(n_agents, max_cycles)
    if recorded is None or env is not None:
        env_name, env_kwargs = resolve(env, **overrides)
    else:
        env_name, env_kwargs = recorded.env, {**recorded.env_kwargs, **overrides}
    methods = recorded.method_args if methods is None else method_list(methods)
    if seeds is not None:
        seed_list = tuple(range(check_seed_count(seeds)))
    else:
        seed_list = recorded.seeds if recorded is not None else tuple(range(DEFAULT_SEEDS))
    if recorded is not None and config is None:
        hp = recorded.hp
    else:  # defaults < the scenario's own tables < config
        hp = load_hyperparams(config, scenario=env)
    if episodes is not None:
        hp = replace(hp, training=replace(hp.training, episodes=episodes))
    return RunSpec(env_name, env_kwargs, methods, seed_list, hp)


def train(
    out: str | Path,
    env: str | None = None,
    methods: str | Iterable[str] | None = None,
    *,
    seeds: int | None = None,
    episodes: int | None = None,
    config: str | Path | None = None,
    n_agents: int | None = None,
    max_cycles: int | None = None,
    resume: bool = False,
    jobs: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    backend: str = "local",
    address: str | None = None,
    engine: str = "auto",
    trust_plugins: bool = False,
) -> Result:
    """``fairlead train``: train ``methods`` x seeds ``0..seeds-1`` on ``env`` into ``out``.

    A new ``out`` needs ``env`` and ``methods``; an ``out`` holding a run
    grows by the methods and seeds given (the options not given are the
    recorded run's), or continues with ``resume=True``.
    """
    out = Path(out)
    grows = resume or (out / RUN_FILE).is_file()
    missing = [
        (flag, name)
        for flag, name, value in (("--env", "env=", env), ("--method", "methods=", methods))
        if value is None
    ]
    if not grows and missing:
        raise ValueError(
            f"a new run needs {' and '.join(f for f, _ in missing)} ({' and '.join(n for _, n in missing)} "
            "in Python; or --resume DIR, resume=True, to continue a recorded run)"
        )
    spec = run_spec(
        env, methods, seeds, episodes, config, n_agents, max_cycles, load_spec(out, trust_plugins) if grows else None
    )
    shard = shard or (recorded_shard(out) if grows else None)
    table = run(
        spec,
        out,
        resume=resume,
        jobs=jobs,
        progress=progress,
        shard=shard,
        backend=backend,
        address=address,
        engine=engine,
        trust_plugins=trust_plugins,
    )
    return Result(out, table)


def evaluate(
    out: str | Path,
    env: str,
    policy: str,
    *,
    selector: str | None = None,
    method: str | None = None,
    seeds: int = DEFAULT_SEEDS,
    episodes: int | None = None,
    n_agents: int | None = None,
    max_cycles: int | None = None,
    obs_encoding: str = "discrete",
    name: str | None = None,
) -> Result:
    """``fairlead evaluate``: score ``policy`` (``module:attr`` or ``file.py:attr``) under a trained run's protocol."""
    env_name, env_kwargs = resolve(env, **_overrides(n_agents, max_cycles))
    episodes = episodes or load_hyperparams(scenario=env).training.eval_episodes  # a trained run's
    table = evaluate_into(
        Path(out),
        env_name,
        env_kwargs,
        policy,
        tuple(range(check_seed_count(seeds))),
        episodes,
        selector=selector,
        method=method,
        obs_encoding=obs_encoding,
        name=name,
    )
    return Result(Path(out), table)


def report(
    runs: Iterable[str | Path], out: str | Path, *, interval: str = "bootstrap", metric: str | None = None
) -> Result:
    """``fairlead report``: merge finished runs and policy evaluations into ``out`` (report.md, figures, metrics.csv).

    ``metric``: the headline column (any number of metrics.csv; default: the headline fairness metric).
    """
    return Result(Path(out), write_report([Path(r) for r in runs], Path(out), interval=interval, metric=metric))


def sweep(
    out: str | Path,
    env: str | None = None,
    grid: dict | Iterable[str] | None = None,
    methods: str | Iterable[str] | None = None,
    *,
    seeds: int | None = None,
    config: str | Path | None = None,
    episodes: int | None = None,
    jobs: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    backend: str = "local",
    address: str | None = None,
    engine: str = "auto",
) -> Result:
    """``fairlead sweep``: ``grid`` as ``{"n_agents": [3, 4], ...}`` or as the command's ``["n_agents=3,4", ...]``."""
    if grid is not None and not isinstance(grid, dict):
        if isinstance(grid, str) or not isinstance(grid, Iterable):
            raise TypeError(f'grid must be {{"key": [values]}} or ["key=v1,v2", ...], got {grid!r}')
        grid = parse_grid(list(grid))
    table = _sweep(
        Path(out),
        env=env,
        grid=grid,
        methods=methods and method_list(methods),
        seeds=seeds,
        config=config,
        episodes=episodes,
        jobs=jobs,
        progress=progress,
        shard=shard,
        backend=backend,
        address=address,
        engine=engine,
    )
    return Result(Path(out), table, CSV_FILE)
