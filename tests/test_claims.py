"""The claims table's verdicts, on hand-made metrics files."""

import csv
import json

import pytest

from fairlead.experiments.claims import claims, claims_table
from fairlead.trainers.evaluation import HEADLINE


def write_run(folder, per_method):
    """per_method: method -> list of (fairness, fair_action_rate, total_return), one per seed."""
    folder.mkdir()
    rows = [
        {"method": m, "seed": s, HEADLINE: f, "fair_action_rate": a, "fair_action_rate_last": a, "total_return": t}
        for m, values in per_method.items()
        for s, (f, a, t) in enumerate(values)
    ]
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    seeds = max(len(values) for values in per_method.values())
    (folder / "run.json").write_text(json.dumps({"env": "x", "seeds": list(range(seeds))}))
    return folder


def verdicts(folder):
    return {claim: verdict for _, claim, verdict, _ in claims(folder, "s")}


def test_verdicts(tmp_path):
    run = write_run(
        tmp_path / "run",
        {
            "jamql": [(0.97, 0.95, 10), (0.98, 0.93, 10), (0.975, 0.94, 10)],
            "fixed": [(0.80, 0.1, 10), (0.81, 0.1, 10), (0.79, 0.1, 10)],  # clearly below
            "alternating": [(0.96, 0.2, 20), (0.99, 0.2, 20), (0.97, 0.2, 20)],  # overlapping, not at the ceiling
            "jamql-no-endgame": [(0.98, 0.5, 10), (0.99, 0.6, 10), (0.985, 0.55, 10)],  # fairer, fewer fair actions
        },
    )
    assert verdicts(run) == {
        "fairer than fixed": "holds",
        "fairer than alternating": "does not hold",
        "beats jamql-no-endgame": "holds",  # on the fair-action rate
        "leaders act fairly (rate >= 0.9)": "holds",
        "total return >= 0.8 x alternating's": "does not hold",  # 10 < 0.8 * 20
    }
    table = claims_table([run])
    assert table.splitlines()[0].startswith("| setting | claim | verdict |")
    assert "| run (3 seeds) | fairer than fixed | holds | 0.975 ± " in table


def test_both_at_the_ceiling_is_a_tie(tmp_path):
    run = write_run(
        tmp_path / "run", {"jamql": [(1.0, 0.5, 1), (0.999, 0.5, 1)], "catch-up": [(1.0, 0.1, 1), (1.0, 0.1, 1)]}
    )
    assert verdicts(run)["fairer than catch-up"] == "ties at the ceiling"
    assert verdicts(run)["leaders act fairly (rate >= 0.9)"] == "does not hold"


def test_every_lead_fair_for_everyone_is_a_tie_at_the_ceiling(tmp_path):
    run = write_run(
        tmp_path / "run", {"jamql": [(0.9, 1.0, 1), (0.95, 1.0, 1)], "fixed": [(1.0, 1.0, 1), (1.0, 1.0, 1)]}
    )
    assert verdicts(run)["leaders act fairly (rate >= 0.9)"] == "ties at the ceiling"


def _results_tables():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "results_tables.py"
    spec = importlib.util.spec_from_file_location("results_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_tables_splice_replaces_the_generated_tables_in_order_and_keeps_later_ones():
    splice = _results_tables().splice
    page = "# t\n\n| a |\n|---|\n| 1 |\n\ntext\n\n| b |\n|---|\n\nend\n\n| hand |\n|---|\n"
    out = splice(page, ["| A |\n|---|", "| B |\n|---|"])
    assert out == "# t\n\n| A |\n|---|\n\ntext\n\n| B |\n|---|\n\nend\n\n| hand |\n|---|\n"
    with pytest.raises(SystemExit, match="the page has 3 tables, 4 were generated"):
        splice(page, ["| x |"] * 4)
