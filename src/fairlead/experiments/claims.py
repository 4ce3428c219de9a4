"""The paper's claims checked against run directories: holds / ties at the ceiling / does not hold.

A claim "A is fairer than B" *holds* when A's 95% interval (over seeds) lies
wholly above B's; it *ties at the ceiling* when the intervals overlap and both
means are within ``CEILING`` of the best value 1 (nothing left to improve, e.g.
a rotation with 2 players and an even horizon is already perfectly fair); else
it *does not hold*. "JAM-QL beats an ablation" holds when JAM-QL's interval is
wholly above the ablation's on fairness *or* on the fair-action rate. "Leaders
act fairly" holds when JAM-QL's mean fair-action rate is at least
``FAIR_ACTIONS`` and its interval lies above the fixed leader's (a tie at the
ceiling where every lead is fair, e.g. the Prisoner's Dilemma).
``tools/claims_table.py`` prints the table of docs/results.md from run directories.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fairlead.experiments.report import cell
from fairlead.experiments.report import interval as estimate
from fairlead.trainers.evaluation import HEADLINE

CEILING = 0.005
BASELINES = ("fixed", "alternating", "vote", "catch-up")
ABLATIONS = ("jamql-no-selection", "jamql-no-history", "jamql-no-endgame", "jamql-selection-only")
FAIR_ACTIONS = 0.9  # "leaders end up acting fairly": JAM-QL's mean fair-action rate at least this
EFFICIENCY = 0.8  # "... and not by collecting less": its mean total return at least this times alternating's
COLLECTS = f"total return >= {EFFICIENCY} x alternating's"
LEADERS = f"leaders act fairly (rate >= {FAIR_ACTIONS})"


def load_rows(run_dir: Path) -> dict[str, list[dict[str, float]]]:
    """metrics.csv of a run directory, per method (numbers as floats)."""
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    methods: dict[str, list[dict[str, float]]] = {}
    for row in rows:
        methods.setdefault(row["method"], []).append({k: float(v) for k, v in row.items() if k != "method" and v != ""})
    return methods


def interval(rows, column) -> tuple[float, float, float]:
    return estimate([r[column] for r in rows], "t")


def fmt(rows, column) -> str:
    return cell([r[column] for r in rows])


def compare(a_rows, b_rows, column=HEADLINE) -> str:
    a, a_low, a_high = interval(a_rows, column)
    b, b_low, b_high = interval(b_rows, column)
    if a_low > b_high:
        return "holds"
    if min(a, b) >= 1 - CEILING:
        return "ties at the ceiling"
    return "does not hold"


def leaders_act_fairly(rows, fixed_rows=None) -> str:
    """The verdict of "leaders act fairly" on ``rows``: a mean fair-action rate >= ``FAIR_ACTIONS``, above fixed's.

    ``fixed_rows``: the fixed leader's rows, if any (a tie at the ceiling where every lead is fair).
    """
    if interval(rows, "fair_action_rate")[0] < FAIR_ACTIONS:
        return "does not hold"
    return "holds" if fixed_rows is None else compare(rows, fixed_rows, "fair_action_rate")


def collects(rows, alternating_rows) -> str:
    """The verdict of "total return >= 0.8 x alternating's": fair, but not by collecting less (mean against mean)."""
    total, alternating = interval(rows, "total_return")[0], interval(alternating_rows, "total_return")[0]
    return "holds" if total >= EFFICIENCY * alternating else "does not hold"


def claims(run_dir: Path, setting: str) -> list[tuple[str, str, str, str]]:
    """(setting, claim, verdict, numbers) for every claim the run directory can check."""
    methods = load_rows(run_dir)
    jamql = methods["jamql"]
    out = []
    for base in (b for b in BASELINES if b in methods):
        numbers = f"{fmt(jamql, HEADLINE)} vs {fmt(methods[base], HEADLINE)}"
        out.append((setting, f"fairer than {base}", compare(jamql, methods[base]), numbers))
    for ablation in (a for a in ABLATIONS if a in methods):
        on_fairness = compare(jamql, methods[ablation])
        on_actions = compare(jamql, methods[ablation], "fair_action_rate")
        verdict = "holds" if "holds" in (on_fairness, on_actions) else on_fairness
        numbers = (
            f"fairness {fmt(jamql, HEADLINE)} vs {fmt(methods[ablation], HEADLINE)}; "
            f"fair actions {fmt(jamql, 'fair_action_rate')} vs {fmt(methods[ablation], 'fair_action_rate')}"
        )
        out.append((setting, f"beats {ablation}", verdict, numbers))
    fixed = methods.get("fixed")
    verdict = leaders_act_fairly(jamql, fixed)
    numbers = f"{fmt(jamql, 'fair_action_rate')}" + (f" vs fixed {fmt(fixed, 'fair_action_rate')}" if fixed else "")
    numbers += f"; last stage {fmt(jamql, 'fair_action_rate_last')}"
    out.append((setting, LEADERS, verdict, numbers))
    if "alternating" in methods:
        out.append(
            (
                setting,
                COLLECTS,
                collects(jamql, methods["alternating"]),
                f"{fmt(jamql, 'total_return')} vs {fmt(methods['alternating'], 'total_return')}",
            )
        )
    return out


def claims_table(run_dirs) -> str:
    lines = ["| setting | claim | verdict | JAM-QL vs other (mean ± 95% CI) |", "|---|---|---|---|"]
    for run_dir in map(Path, run_dirs):
        record = json.loads((run_dir / "run.json").read_text())
        setting = f"{run_dir.name} ({len(record['seeds'])} seeds)"
        lines += [f"| {s} | {c} | {v} | {n} |" for s, c, v, n in claims(run_dir, setting)]
    return "\n".join(lines)
