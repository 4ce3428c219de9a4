"""``fairlead sweep``: methods trained over a grid of environment arguments, and where each claim holds.

``fairlead sweep --env chicken_v0 --grid n_agents=3,4 max_cycles=6,10 --method jamql,fixed --out DIR``
trains every method on every seed in every cell of the grid (each combination of the values) into::

    sweep.json        what was asked: the env, the grid, the methods, the seeds, the hyper-parameters
    <cell>/           one ordinary run directory per cell, byte for byte what `fairlead train` writes with the
                      cell's arguments; named after them: n_agents-3_max_cycles-6 (portable file-name characters)
    sweep.csv         one row per (cell, method): the grid's values, the seeds, mean and 95% Student-t interval
                      of fairness, fair-action rate and total return; on the subject's rows its claims' verdicts
    summary.md        the claims cell by cell, and the figures
    fair_action_rate.png, fairness_margin.png, verdicts.png    heatmaps over the grid (the ``plot`` extra)

The *subject* is JAM-QL (``jamql``), or the first method when it is not
among them; the other methods are its baselines. Each cell's claims, with the
verdicts of ``fairlead.experiments.claims``: the subject's fair-action rate, its
fairness margin over the best baseline (the difference of the mean fairness),
"leaders act fairly", "fairer than <baseline>" for every baseline and, with
alternating among them, "total return >= 0.8 x alternating's". The
heatmaps put the first key's values down the rows and the other keys'
combinations across the columns (a grid of one key: one row).

A sweep grows as a run directory does: the same command again (or
``fairlead sweep --out DIR``, which takes the recorded options) trains only
what is missing, and methods or seeds given are added to every cell; another
env, grid or hyper-parameters is refused, naming what differs. ``--shard i/n``
trains only the cells i, i+n, ... (shards may train into one directory at the
same time: each cell is locked by the run that trains it) and writes no
report; the command without ``--shard`` then writes them, training nothing.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from fairlead import __version__
from fairlead.experiments.atomic import TEMPORARY, write_atomic
from fairlead.experiments.claims import (
    CEILING,
    COLLECTS,
    EFFICIENCY,
    FAIR_ACTIONS,
    LEADERS,
    collects,
    compare,
    fmt,
    interval,
    leaders_act_fairly,
    load_rows,
)
from fairlead.experiments.comparison import csv_text
from fairlead.experiments.directories import RunDirectoryError
from fairlead.experiments.runs import check_run_options, run, run_all
from fairlead.experiments.spec import OPTIONS, RunSpec, check_seed_count
from fairlead.registry import env_module, resolve
from fairlead.trainers.config import HyperParams, apply_overrides, get_method, load_hyperparams
from fairlead.trainers.evaluation import HEADLINE

SWEEP_FILE, CSV_FILE, SUMMARY = "sweep.json", "sweep.csv", "summary.md"
FIGURES = ("fair_action_rate.png", "fairness_margin.png", "verdicts.png")
DEFAULT_SEEDS = 10  # as train's
NUMBERS = (HEADLINE, "fair_action_rate", "total_return")  # sweep.csv's numbers, each with its interval
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INTEGER = re.compile(r"[+-]?\d+")
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
WORD = re.compile(r"[A-Za-z0-9.+-]+")  # what a value may hold: characters every file system takes in a name
BETWEEN_VALUES = re.compile(r",(?![^\[]*\])")  # a comma outside brackets
MAX_NAME = 200  # characters of a cell's directory name (file systems take 255 bytes)


# ------------------------------------------------------------------------------------------- the grid
def _value(text: str, key: str):
    """An integer, a decimal number, a list of numbers (``[3,3]``, as a tuple) or a word."""
    if not text:
        raise ValueError(f"--grid {key}: an empty value; separate the values by single commas, e.g. {key}=3,4")
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not (isinstance(items, list) and items and all(type(x) in (int, float) for x in items)):
            raise ValueError(f"--grid {key}: {text!r} is not a list of numbers such as [3,3]")
        return tuple(items)
    if DECIMAL.fullmatch(text):
        return int(text) if INTEGER.fullmatch(text) else float(text)
    if not WORD.fullmatch(text):
        raise ValueError(
            f"--grid {key}: {text!r} would not make a portable directory name; a value is a number, "
            "a list of numbers in brackets ([3,3]) or a word of letters, digits, '.', '+' and '-'"
        )
    return text


def _text(value, between: str = ",") -> str:
    """A value as ``--grid`` takes it (``[3,3]``), or, ``between="x"``, as its cell's directory name shows it (``3x3``)."""
    if isinstance(value, tuple):
        inner = between.join(_text(v, between) for v in value)
        return inner if between == "x" else f"[{inner}]"
    return repr(value) if isinstance(value, float) else str(value)


def _token(value) -> str:
    return _text(value, "x")


def parse_grid(items) -> dict[str, tuple]:
    """``--grid``'s items ``KEY=V1,V2,...`` as ``{key: (v1, v2, ...)}``; a ValueError names a malformed one.

    Whether the env takes each key and value is checked with the env (:meth:`Sweep.specs`).
    """
    grid: dict[str, tuple] = {}
    for item in items:
        key, equals, text = item.partition("=")
        if not equals:
            raise ValueError(f"--grid item {item!r} has no '=': give KEY=VALUE,VALUE,..., e.g. n_agents=3,4,5")
        if not KEY.fullmatch(key):
            raise ValueError(f"--grid item {item!r}: {key!r} is not an argument name (letters, digits and _)")
        if key in grid:
            raise ValueError(f"--grid gives {key} twice; give each argument once, with all its values: {key}=A,B")
        values = tuple(_value(part, key) for part in BETWEEN_VALUES.split(text))
        names = [_token(v).lower() for v in values]
        twice = [_text(v) for v, name in zip(values, names) if names.count(name) > 1]
        if twice:
            raise ValueError(
                f"--grid {key}: {', '.join(twice)} would be one cell (the same value, or values "
                "that differ only in letter case); give each value once"
            )
        grid[key] = values
    if not grid:
        raise ValueError("--grid needs at least one KEY=VALUES, e.g. --grid n_agents=3,4")
    return grid


def grid_items(grid: dict) -> list[str]:
    """The ``--grid`` items of a grid (the inverse of :func:`parse_grid`)."""
    return [f"{key}={','.join(map(_text, values))}" for key, values in grid.items()]


def cells(grid: dict) -> dict[str, dict]:
    """Every combination of the grid's values (the last key fastest), by its directory name ``key-value_...``.

    Distinct cells get distinct names, also where letter case does not count:
    a key's values differ in their names (``parse_grid``) and hold no ``_``.
    """
    named = {}
    for combination in itertools.product(*grid.values()):
        cell = dict(zip(grid, combination))
        name = "_".join(f"{key}-{_token(value)}" for key, value in cell.items())
        if len(name) > MAX_NAME:
            raise ValueError(
                f"--grid: the cell {name[:50]}... would have a directory name longer than {MAX_NAME} "
                "characters; use fewer keys or shorter values"
            )
        named[name] = cell
    return named


# ------------------------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class Sweep:
    """What a sweep trains: ``env`` (an env, a scenario or a scenario file) in every cell of ``grid``."""

    env: str
    grid: dict
    methods: tuple[str, ...]  # names, or method files' paths
    seeds: tuple[int, ...]
    hp: HyperParams

    def specs(self) -> dict[str, RunSpec]:
        """The run of every cell, by its name: ``fairlead train``'s run with the cell's arguments, all checked."""
        for method in self.methods:
            get_method(str(method))  # an unknown or malformed method is named once, not in a cell's name
        order = list(inspect.signature(env_module(resolve(self.env)[0]).raw_env).parameters)
        specs = {}
        for name, cell in cells(self.grid).items():
            # the env's order of its arguments, as train gives --n-agents and --max-cycles: the same run.json bytes
            ordered = sorted(cell.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
            try:
                env, env_kwargs = resolve(self.env, **{k: list(v) if isinstance(v, tuple) else v for k, v in ordered})
            except TypeError as err:  # a key the env does not take: the error lists the valid ones
                raise ValueError(f"--grid: {err}") from None
            try:
                specs[name] = RunSpec(env, env_kwargs, self.methods, self.seeds, self.hp)
            except (ValueError, TypeError) as err:
                raise ValueError(f"--grid cell {name}: {err}") from None
        return specs

    def record(self, spec: RunSpec) -> dict:
        """sweep.json's content; ``spec`` (any cell's) gives the methods as to give them again."""
        return {
            "fairlead": __version__,
            "env": self.env,
            "grid": {k: [list(v) if isinstance(v, tuple) else v for v in values] for k, values in self.grid.items()},
            "methods": list(spec.method_args),
            "seeds": list(self.seeds),
            "hyperparameters": self.hp.as_dict(),
        }

    def fields(self) -> dict:
        """What may not change when the sweep grows, as a flat ``name: value`` table."""
        return {
            "env": self.env,
            "grid": list(self.grid),
            **{f"grid.{key}": grid_items({key: values})[0] for key, values in self.grid.items()},
            **{f"{section}.{k}": v for section, values in self.hp.as_dict().items() for k, v in values.items()},
        }


def load_sweep(out: Path) -> Sweep:
    """The sweep recorded in ``out/sweep.json``."""
    path = out / SWEEP_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        grid = parse_grid(
            grid_items(
                {k: [tuple(v) if isinstance(v, list) else v for v in values] for k, values in record["grid"].items()}
            )
        )
        hp = apply_overrides(HyperParams(), record["hyperparameters"], str(path))
        return Sweep(record["env"], grid, tuple(record["methods"]), tuple(record["seeds"]), hp)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunDirectoryError(f"{path} is unreadable or malformed ({err})") from err


def _env_arg(env: str) -> str:
    """A scenario file by its absolute path, so that the sweep grows from any directory; other names as given."""
    return str(Path(env).resolve()) if str(env).endswith(".toml") else str(env)


def _union(recorded: tuple, asked: tuple, key=lambda x: x) -> tuple:
    known = {key(x) for x in recorded}
    return recorded + tuple(x for x in asked if key(x) not in known)


def asked_sweep(
    recorded: Sweep | None, env=None, grid=None, methods=None, seeds=None, config=None, episodes=None
) -> Sweep:
    """The sweep the options ask for: one not given takes the recorded sweep's value; methods and seeds add up."""
    if recorded is None:
        missing = [flag for flag, value in (("--env", env), ("--grid", grid), ("--method", methods)) if not value]
        if missing:
            raise ValueError(f"a new sweep needs {' and '.join(missing)} (or the --out of a sweep to continue)")
    env = _env_arg(env) if env is not None else recorded.env
    grid = parse_grid(grid_items(grid)) if grid is not None else recorded.grid  # the API's grids checked as --grid's
    if isinstance(methods, str):  # the API takes "jamql,fixed" as --method does
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    methods = tuple(methods) if methods else recorded.methods
    if seeds is not None:
        seeds = tuple(range(check_seed_count(seeds)))
    else:
        seeds = recorded.seeds if recorded else tuple(range(DEFAULT_SEEDS))
    # defaults < the scenario's own tables < --config, as for train
    hp = recorded.hp if recorded is not None and config is None else load_hyperparams(config, scenario=env)
    if episodes is not None:
        hp = replace(hp, training=replace(hp.training, episodes=episodes))
    if recorded is not None:
        methods = _union(recorded.methods, methods, key=lambda m: get_method(str(m)).name)
        seeds = _union(recorded.seeds, seeds)
    return Sweep(env, grid, methods, seeds, hp)


def _refuse_foreign(out: Path, names) -> None:
    """Refuse an ``out`` that holds anything a sweep of these cells would not write."""
    expected = {SWEEP_FILE, CSV_FILE, SUMMARY, *FIGURES, *names}
    foreign = sorted(p.name for p in out.iterdir() if p.name not in expected and not TEMPORARY.fullmatch(p.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RunDirectoryError(
            f"--out {out} holds {shown}, which a sweep of this grid does not write; give a new "
            "directory, or the --out of an earlier sweep of this grid"
        )


def sweep(
    out: str | Path,
    env: str | None = None,
    grid: dict | None = None,
    methods=None,
    seeds: int | None = None,
    config: str | Path | None = None,
    episodes: int | None = None,
    jobs: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    backend: str = "local",
    address: str | None = None,
    engine: str = "auto",
) -> str:
    """Train the sweep into ``out`` (see the module docstring) and write its reports; returns summary.md.

    ``env``, ``grid`` (``{key: values}``, as :func:`parse_grid` gives) and
    ``methods`` make a new sweep; into an existing one, an option not given
    (the hyper-parameters unless ``config`` is given) is the recorded one.
    ``seeds``: seeds ``0 .. seeds-1``; ``episodes``: training episodes per seed.
    Everything is checked before anything is written. Locally every cell's
    (method, seed) pairs share one pool of ``jobs`` workers (``runs.run_all``);
    ``backend="ray"`` trains the cells one after the other, each as ``run`` does.
    With ``shard=(i, n)`` only the cells i, i+n, ... are trained and the
    return value says so: no report is written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(
            f"--out {out} is a file; a sweep needs a directory (a new one, or an earlier sweep's to complete or grow)"
        )
    recorded = load_sweep(out) if (out / SWEEP_FILE).exists() else None
    asked = asked_sweep(recorded, env, grid, methods, seeds, config, episodes)
    if recorded is not None:
        old, new = recorded.fields(), asked.fields()
        options = {**OPTIONS, "grid": "--grid"}
        differences = [
            f"{key} ({options.get(key, options.get(key.partition('.')[0], '--config'))}): "
            f"recorded {old.get(key, 'unset')!r}, asked {new.get(key, 'unset')!r}"
            for key in dict.fromkeys([*old, *new])
            if old.get(key) != new.get(key)
        ]
        if differences:
            raise RunDirectoryError(
                f"{out} holds a sweep with other settings ({'; '.join(differences)}); a sweep "
                f"grows only by methods and seeds: give its options as recorded (`fairlead "
                f"sweep --out {out}` takes them all), or choose another --out"
            )
    specs = asked.specs()
    if out.is_dir():
        _refuse_foreign(out, specs)
    check_run_options(list(specs.values()), engine, backend, address)
    names = list(specs)
    if shard is not None:
        if not 0 <= shard[0] < shard[1]:
            raise ValueError(f"shard {shard[0]}/{shard[1]} does not exist: n shards are 0/n .. n-1/n")
        if shard[0] >= len(names):
            raise ValueError(
                f"shard {shard[0]}/{shard[1]} of a sweep of {len(names)} cells has none; "
                f"use at most {len(names)} shards"
            )
        names = names[shard[0] :: shard[1]]
    write_atomic(out / SWEEP_FILE, json.dumps(asked.record(specs[names[0]]), indent=2))
    if backend == "local":
        run_all([(specs[name], out / name) for name in names], jobs=jobs, progress=progress, engine=engine)
    else:  # one Ray session per cell, as `fairlead train --backend ray` starts one per run
        for name in names:
            run(specs[name], out / name, jobs=jobs, progress=progress, backend=backend, address=address, engine=engine)
    if shard is not None:
        return (
            f"shard {shard[0]}/{shard[1]}: trained the cells {', '.join(names)} in {out}; once every shard "
            f"has finished, `fairlead sweep --out {out}` writes {CSV_FILE}, {SUMMARY} and the figures "
            "(training nothing)"
        )
    return write_reports(asked, specs, out)


# ------------------------------------------------------------------------------------------- the reports
def _claims(specs: dict[str, RunSpec], out: Path) -> tuple[str, list[str], dict[str, dict]]:
    """``(subject, baselines, {cell: results})``: each cell's rows per method, margin and verdicts."""
    methods = list(next(iter(specs.values())).methods)
    subject = "jamql" if "jamql" in methods else methods[0]
    baselines = [m for m in methods if m != subject]
    results = {}
    for name in specs:
        rows = load_rows(out / name)
        mine = rows[subject]
        means = {m: interval(rows[m], HEADLINE)[0] for m in baselines}
        best = max(baselines, key=means.get) if baselines else None
        fixed = rows.get("fixed") if subject != "fixed" else None
        verdicts = {
            LEADERS: leaders_act_fairly(mine, fixed),
            **{f"fairer than {b}": compare(mine, rows[b]) for b in baselines},
            **({COLLECTS: collects(mine, rows["alternating"])} if "alternating" in baselines else {}),
        }
        results[name] = {
            "rows": rows,
            "best": best,
            "verdicts": verdicts,
            "margin": interval(mine, HEADLINE)[0] - means[best] if best else math.nan,
        }
    return subject, baselines, results


def _verdict_column(claim: str) -> str:
    """sweep.csv's column of a claim's verdict: verdict_leaders_act_fairly, verdict_fairer_than_fixed, ..."""
    name = "total return vs alternating" if claim == COLLECTS else claim.split(" (")[0]
    return "verdict_" + name.replace(" ", "_")


def _csv_rows(grid: dict, subject: str, results: dict[str, dict]) -> list[dict]:
    """sweep.csv: one row per (cell, method); the margin and the verdicts on the subject's rows."""
    rows = []
    for (name, cell), result in zip(cells(grid).items(), results.values()):
        for method, seeds in result["rows"].items():
            row = {**{k: _text(v) for k, v in cell.items()}, "cell": name, "method": method, "seeds": len(seeds)}
            for column in NUMBERS:
                row[column], row[f"{column}_low"], row[f"{column}_high"] = interval(seeds, column)
            mine = method == subject
            row["fairness_margin"] = result["margin"] if mine else ""
            row["best_baseline"] = (result["best"] or "") if mine else ""
            for claim, verdict in result["verdicts"].items():
                row[_verdict_column(claim)] = verdict if mine else ""
            rows.append(row)
    return rows


def _figures(grid: dict, subject: str, results: dict[str, dict], title: str) -> dict[str, bytes]:
    """The heatmaps' PNG bytes by file name (ImportError without matplotlib)."""
    from fairlead.experiments.figures import METRIC, heatmap_png

    keys = list(grid)
    down, across = (keys[:1], keys[1:]) if len(keys) > 1 else ([], keys)
    row_values = list(itertools.product(*(grid[k] for k in down)))
    column_values = list(itertools.product(*(grid[k] for k in across)))
    by_values = dict(zip(itertools.product(*grid.values()), results.values()))

    def panel(value) -> list[list]:
        return [[value(by_values[r + c]) for c in column_values] for r in row_values]

    axes = (
        [", ".join(map(_text, r)) for r in row_values],
        [", ".join(map(_text, c)) for c in column_values],
        ", ".join(down),
        ", ".join(across),
    )
    rate = panel(lambda result: interval(result["rows"][subject], "fair_action_rate")[0])
    images = {
        "fair_action_rate.png": heatmap_png(
            {f"mean over the seeds; 'leaders act fairly' needs >= {FAIR_ACTIONS}": rate},
            *axes,
            f"{title}\n{subject}'s fair-action rate: the share of the stages whose leader forwent the first-mover "
            "advantage",
            "rate",
            "fair-action rate",
        )
    }
    if any(result["best"] for result in results.values()):
        images["fairness_margin.png"] = heatmap_png(
            {
                f"{subject}'s mean fairness minus the fairest other method's (> 0: {subject} is fairer)": panel(
                    lambda result: result["margin"]
                )
            },
            *axes,
            f"{title}\n{subject}'s fairness margin over the best baseline, cell by cell",
            "margin",
            f"fairness difference ({METRIC})",
        )
    claims = list(next(iter(results.values()))["verdicts"])
    images["verdicts.png"] = heatmap_png(
        {claim: panel(lambda result, claim=claim: result["verdicts"][claim]) for claim in claims},
        *axes,
        f"{title}\nthe verdict of each claim of {subject}, cell by cell",
        "verdict",
    )
    return images


def write_reports(sweep: Sweep, specs: dict[str, RunSpec], out: Path) -> str:
    """sweep.csv, the figures and summary.md from the cells' metrics.csv; all computed before any is written."""
    subject, baselines, results = _claims(specs, out)
    spec = next(iter(specs.values()))
    size = f"{len(spec.seeds)} seeds and {spec.hp.training.episodes} episodes per cell"
    title = f"{Path(sweep.env).stem if sweep.env.endswith('.toml') else sweep.env} sweep ({size})"
    try:
        figures = _figures(sweep.grid, subject, results, title)
        shown = "\n\n".join(f"![{name[:-4].replace('_', ' ')}]({name})" for name in figures)
    except ImportError:
        figures, shown = (
            {},
            ('Figures: `pip install "fairlead[plot]"`, then the same command again (nothing is retrained).'),
        )
    who = (
        f"The subject is {subject}; the baselines are the other methods."
        if subject == "jamql"
        else f"jamql is not among the methods: the subject is {subject}, the first method; the baselines are the "
        "others."
    )
    tally = ["| claim | holds | ties at the ceiling | does not hold |", "|---|---|---|---|"]
    for claim in next(iter(results.values()))["verdicts"]:
        counts = [
            sum(r["verdicts"][claim] == v for r in results.values())
            for v in ("holds", "ties at the ceiling", "does not hold")
        ]
        tally.append(f"| {claim} | " + " | ".join(f"{c} of {len(results)}" for c in counts) + " |")
    keys = list(sweep.grid)
    table = [
        "| "
        + " | ".join(
            [
                *keys,
                "fair-action rate",
                "fairness margin (best baseline)",
                *next(iter(results.values()))["verdicts"],
                "run",
            ]
        )
        + " |",
        "|" + "---|" * (len(keys) + 3 + len(next(iter(results.values()))["verdicts"])),
    ]
    for (name, cell), result in zip(cells(sweep.grid).items(), results.values()):
        margin = f"{result['margin']:+.3f} ({result['best']})" if result["best"] else "n/a"
        table.append(
            "| "
            + " | ".join(
                [
                    *map(_text, cell.values()),
                    fmt(result["rows"][subject], "fair_action_rate"),
                    margin,
                    *result["verdicts"].values(),
                    f"[summary]({name}/summary.md)",
                ]
            )
            + " |"
        )
    summary = (
        "\n\n".join(
            [
                f"# fairlead sweep: {sweep.env} over {' x '.join(keys)} ({len(specs)} cells)",
                f"Methods {', '.join(spec.methods)}; {size}. Every cell is a run directory of `fairlead train` "
                f"with the cell's environment arguments (its summary.md has every number). {who}",
                "## Claims over the grid\n\n" + "\n".join(tally),
                f'Fairness: {HEADLINE.removeprefix("fairness_")} of the returns before any transfer. "fairer than B" holds '
                "when the subject's 95% Student-t interval of the fairness over the seeds lies wholly above B's, and ties "
                f'at the ceiling when the intervals overlap with both means within {CEILING} of 1; "leaders act fairly" '
                f"holds when the subject's mean fair-action rate is at least {FAIR_ACTIONS} and its interval lies above "
                f'the fixed leader\'s (when fixed is among the methods); "{COLLECTS}" (when alternating is among them) '
                f"holds when the subject's mean total return is at least {EFFICIENCY} times alternating's: fair, but not "
                "by collecting less.",
                "## Figures\n\n" + shown,
                "## Cell by cell\n\n" + "\n".join(table),
                "Fair-action rate: mean ± half-width of the 95% Student-t interval over the seeds. Fairness margin: the "
                "subject's mean fairness minus that of the fairest other method in the cell (named). sweep.csv has the "
                "fairness, fair-action rate and total return of every method in every cell, with their intervals.",
            ]
        )
        + "\n"
    )
    files = {CSV_FILE: csv_text(_csv_rows(sweep.grid, subject, results)), **figures, SUMMARY: summary}
    for name, content in files.items():
        write_atomic(out / name, content)
    return summary
