"""``fairlead report``: finished runs and policy evaluations on one scenario, merged into one comparison.

Rows are comparable only when they were measured the same way: the same
environment with the same options and the same evaluation protocol (number of
evaluation episodes; the seeds' evaluation streams are fixed by the seed).
Runs trained with other hyper-parameters (e.g. a longer budget) may be
compared, and the report says how they differ. A method found in several runs
must be the same method trained the same way; its seeds are then pooled.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from fairlead.experiments.atomic import TEMPORARY, remove_temporaries, write_atomic
from fairlead.experiments.directories import LOCK_FILE, lock_run_dir

RUN_FILE, METRICS_FILE, CURVES_FILE = "run.json", "metrics.csv", "curves.csv"
EVALUATION_KIND = "policy-evaluation"  # run.json "kind" of a scored policy (a trained run has none)


class ReportError(ValueError):
    """Runs that cannot be put in one report (unfinished, unreadable, or not comparable)."""


def _number(text: str) -> float:
    return math.nan if text == "" else float(text)


def csv_text(rows: list[dict]) -> str:
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


def read_csv(path: Path) -> list[dict]:
    """Rows of a metrics or curves file: ``method`` a string, ``seed``/``episode`` integers, the rest floats."""
    redo = "rewrite it with `fairlead train --resume` (or evaluate the policy again)"
    try:
        with open(path, newline="", encoding="utf-8") as file:
            text = file.read()
    except UnicodeDecodeError as err:
        raise ReportError(
            f"{path} is not UTF-8 text (byte {err.start}: {err.reason}), so not a CSV file fairlead "
            f"wrote: binary or damaged data; {redo}"
        ) from None
    except OSError as err:
        raise ReportError(f"cannot read {path}: {err}") from None
    if "\0" in text:
        raise ReportError(f"{path} holds NUL bytes (binary or damaged data, not CSV text); {redo}")
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ReportError(f"{path} is malformed CSV ({err}); {redo}") from None
    try:
        return [
            {k: v if k == "method" else int(v) if k in ("seed", "episode") else _number(v) for k, v in row.items()}
            for row in rows
        ]
    except (TypeError, ValueError) as err:
        raise ReportError(f"{path} is malformed ({err}); {redo}") from err


def kind_of_policy(record: dict) -> str:
    """How a policy evaluation's seeds differ, for its titles and reports."""
    return (
        "a policy per training seed, from make_policy(seed)"
        if record.get("per_seed")
        else "one policy: its seeds vary only the evaluation episodes"
    )


@dataclass(frozen=True)
class RunTable:
    """One run directory's results: what ``run.json`` records, ``metrics.csv`` and ``curves.csv``."""

    path: Path
    record: dict
    rows: list[dict]
    curves: list[dict]

    @property
    def evaluation(self) -> bool:
        return self.record.get("kind") == EVALUATION_KIND

    @property
    def methods(self) -> list[str]:
        return [self.record["name"]] if self.evaluation else list(self.record["methods"])

    def protocol(self) -> dict:
        """What must agree for rows to be compared: the env, its options, the evaluation episodes."""
        episodes = (
            self.record["eval_episodes"]
            if self.evaluation
            else self.record["hyperparameters"]["training"]["eval_episodes"]
        )
        kwargs = {**_defaults(self.record["env"]), **self.record["env_kwargs"]}  # chicken-4p = chicken_v0, n_agents=4
        return {
            "env": self.record["env"],
            **{f"env_kwargs.{k}": v for k, v in kwargs.items()},
            "eval_episodes": episodes,
        }

    def training(self) -> dict:
        """The hyper-parameters, flat (none for a scored policy)."""
        return {} if self.evaluation else _flat(self.record["hyperparameters"])

    def definition(self, method: str) -> dict:
        """What makes ``method``'s rows here what they are, flat: to say where two runs' differ."""
        if self.evaluation:
            return _flat(
                {
                    "per_seed": False,
                    **{
                        key: self.record[key]
                        for key in ("source", "per_seed", "leader_rule", "obs_encoding")
                        if key in self.record
                    },
                }
            )
        return {**_flat(self.record["methods"][method], "method."), **self.training()}

    def describe(self, method: str) -> str:
        if not self.evaluation:
            return f"{method}: trained in {self.path}"
        rule = self.record["leader_rule"]["name"]
        return (
            f"{method}: policy {self.record['source']['policy']} ({kind_of_policy(self.record)}) scored under "
            f"{rule} in {self.path} (no learning curve)"
        )


def read_run(path: Path) -> RunTable:
    """A finished run or policy evaluation, checked: its rows are exactly its methods x seeds."""
    path = Path(path)
    try:
        record = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        table = RunTable(path, record, [], [])
        expected = {(m, s) for m in table.methods for s in record["seeds"]}
        table.protocol()
    except FileNotFoundError as err:
        raise ReportError(f"{path} is not a run directory (no {RUN_FILE})") from err
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ReportError(f"{path / RUN_FILE} is unreadable or malformed ({err})") from err
    if record.get("shard"):
        raise ReportError(
            f"{path} holds shard {record['shard'][0]}/{record['shard'][1]} of a run; merge the shards "
            "(`fairlead merge`) and report the merged run"
        )
    if not (path / METRICS_FILE).is_file():
        raise ReportError(
            f"{path} has no {METRICS_FILE}: its run is not finished (finish it with `fairlead train --resume {path}`)"
        )
    rows = read_csv(path / METRICS_FILE)
    found = {(r.get("method"), r.get("seed")) for r in rows}
    if found != expected or len(rows) != len(expected):
        raise ReportError(
            f"{path / METRICS_FILE} does not hold one row per method and seed of {path / RUN_FILE} "
            f"(the run grew and is not finished?): finish it with `fairlead train --resume {path}`"
        )
    curves = read_csv(path / CURVES_FILE) if (path / CURVES_FILE).is_file() else []
    return RunTable(path, record, rows, curves)


def _defaults(env: str) -> dict:
    """``env``'s default arguments, or none for an env this install does not know (then the recorded ones alone)."""
    from fairlead.registry import env_defaults

    try:
        return env_defaults(env)
    except ValueError:
        return {}


def _disagreements(a: dict, b: dict) -> list[str]:
    return [
        f"{key}: {a.get(key, 'unset')!r} against {b.get(key, 'unset')!r}"
        for key in dict.fromkeys([*a, *b])
        if a.get(key) != b.get(key)
    ]


def merge(tables: list[RunTable]) -> tuple[list[dict], list[dict], list[str], list[str]]:
    """``(rows, curves, methods, notes)`` of runs on one scenario; ``ReportError`` says why they cannot merge."""
    if not tables:
        raise ReportError("a report needs at least one run directory")
    first = tables[0]
    for table in tables[1:]:
        if differences := _disagreements(first.protocol(), table.protocol()):
            raise ReportError(
                f"{first.path} and {table.path} were not measured the same way "
                f"({'; '.join(differences)}); a report compares runs of one scenario and "
                "evaluation protocol"
            )
    owner: dict[str, RunTable] = {}
    rows, curves, notes = {}, {}, []
    for table in tables:
        for method in table.methods:
            if method not in owner:
                owner[method] = table
                notes.append(table.describe(method))
            elif owner[method].definition(method) != table.definition(method):
                differences = _disagreements(owner[method].definition(method), table.definition(method))
                raise ReportError(
                    f"method {method!r} of {owner[method].path} and of {table.path} differs "
                    f"({'; '.join(differences)}); rename one (e.g. its method file, or "
                    "`fairlead evaluate --name`) to compare them"
                )
        for row in table.rows:
            key = (row["method"], row["seed"])
            if rows.setdefault(key, row) != row and not _same_numbers(rows[key], row):
                raise ReportError(
                    f"{table.path} has other numbers for {key[0]} seed {key[1]} than "
                    f"{owner[key[0]].path}, though the method is the same: one of the runs was "
                    "written by another version; train it again"
                )
        for point in table.curves:
            curves.setdefault((point["method"], point["seed"], point["episode"]), point)
    trainings = [t for t in tables if not t.evaluation]
    for table in trainings[1:]:
        if differences := _disagreements(trainings[0].training(), table.training()):
            notes.append(f"{table.path} was trained otherwise than {trainings[0].path}: {'; '.join(differences)}")
    methods = list(owner)
    order = {m: i for i, m in enumerate(methods)}
    return (
        [rows[k] for k in sorted(rows, key=lambda k: (order[k[0]], k[1]))],
        [curves[k] for k in sorted(curves, key=lambda k: (order[k[0]], k[1], k[2]))],
        methods,
        notes,
    )


def _same_numbers(a: dict, b: dict) -> bool:
    """Equal rows, NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


def _flat(record: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def title(tables: list[RunTable]) -> str:
    return env_title(tables[0].record["env"], tables[0].record["env_kwargs"])


def env_title(env: str, env_kwargs: dict) -> str:
    """``chicken_v0 (n_agents=4, max_cycles=10)``: an env and its arguments as a title reads them."""
    options = ", ".join(f"{k}={v}" for k, v in env_kwargs.items())
    return f"{env} ({options})" if options else env


def write_results(
    out: Path,
    rows: list[dict],
    curves: list[dict],
    methods,
    title: str,
    notes=(),
    markdown: str = "summary.md",
    interval: str = "bootstrap",
    need_figures: bool = False,
    metric: str | None = None,
) -> str:
    """metrics.csv, curves.csv (if any), the figures and the Markdown summary in ``out``; returns the table.

    Everything is computed before anything is written. The figures need
    matplotlib (the ``plot`` extra): without it they are left out and the
    summary says how to draw them, unless ``need_figures``. ``metric``: the
    headline column (default: the headline fairness metric).
    """
    from fairlead.experiments.figures import render_figures, report_markdown
    from fairlead.experiments.report import summary_table
    from fairlead.trainers.evaluation import HEADLINE

    metric = metric or HEADLINE
    table = summary_table(rows, methods, headline=metric, interval=interval)
    try:
        files = render_figures(rows, curves, methods, title, interval, metric)
    except ImportError as err:
        if need_figures:
            raise ReportError(f"the report's figures need matplotlib: {err}") from err
        files, notes = (
            {},
            [*notes, f'Figures: `pip install "fairlead[plot]"`, then `fairlead report {out} --out {out / "report"}`.'],
        )
    files = {
        **files,
        METRICS_FILE: csv_text(rows),
        CURVES_FILE: csv_text(curves) if curves else None,
        markdown: report_markdown(title, table, list(files), notes),
    }
    for name, content in files.items():
        if content is not None:
            write_atomic(out / name, content)
    return table


REPORT_FILE = "report.md"


def _report_files() -> set[str]:
    """What ``fairlead report`` writes into its --out."""
    from fairlead.experiments.figures import ALT_TEXT

    return {REPORT_FILE, METRICS_FILE, CURVES_FILE, *ALT_TEXT}


def check_metric(metric: str, rows: list[dict]) -> str:
    """``metric`` if every row has it as a number, else a ReportError naming the valid columns."""
    valid = [k for k in rows[0] if k not in ("method", "seed") and all(isinstance(r.get(k), float) for r in rows)]
    if metric not in valid:
        raise ReportError(f"unknown metric {metric!r} for --metric; valid: {', '.join(valid)}")
    return metric


def _refuse_foreign(out: Path) -> None:
    """Refuse an ``out`` that is a file, or a non-empty directory an earlier report did not write."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} is a file, not a directory; choose another --out")
    if (out / RUN_FILE).exists():
        raise ReportError(f"{out} is a run directory; write the report into another --out")
    held = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE) if out.is_dir() else []
    expected = _report_files()
    foreign = [name for name in held if not (name in expected and (out / name).is_file() or TEMPORARY.fullmatch(name))]
    if held and (foreign or REPORT_FILE not in held):
        shown = ", ".join((foreign or held)[:5]) + (", ..." if len(foreign or held) > 5 else "")
        raise ReportError(
            f"{out} is not empty and holds no report of `fairlead report` (it holds {shown}); "
            f"write the report into a new or empty directory, or into an earlier report's (its "
            f"{REPORT_FILE} and figures are replaced)"
        )


def write_report(runs, out: Path, interval: str = "bootstrap", metric: str | None = None) -> str:
    """``fairlead report``: report.md, its figures and the merged metrics.csv/curves.csv in ``out``.

    ``out`` is a new or empty directory, or an earlier report's (replaced
    whole: a file the new report has not is removed); anything else is
    refused untouched. Every run is read and checked before anything is
    written, and ``out`` is locked while the report is written, as a run
    directory; returns the table. ``metric``: any numeric column of the
    runs' metrics.csv as the headline (default: the headline fairness metric).
    """
    out = Path(out)
    tables = [read_run(path) for path in runs]
    rows, curves, methods, notes = merge(tables)
    if metric is not None:
        check_metric(metric, rows)
    _refuse_foreign(out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_run_dir(out):
        _refuse_foreign(out)  # again: another command may have written there meanwhile
        remove_temporaries(out)  # left by a write that was killed; no writer runs (we hold the lock)
        before = {p.name: p.stat() for p in out.iterdir() if p.name in _report_files()}
        table = write_results(
            out, rows, curves, methods, title(tables), notes, REPORT_FILE, interval, need_figures=True, metric=metric
        )
        for name, stat in before.items():  # the earlier report's files this one has not (e.g. no curves now)
            if os.path.samestat(stat, (out / name).stat()):
                (out / name).unlink()
        return table
