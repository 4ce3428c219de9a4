"""Write the generated tables of docs/results.md from finished run directories.

    python tools/results_tables.py runs/ docs/results.md

``runs/`` holds the run directories of docs/results.md's commands (named after
their scenarios). The page's Markdown tables are replaced, in order, by: the
claims table, the attribution table (Chicken with 4 and 2 players), the
per-stage fair-action rates (Chicken with 4 players) and every run's summary
table; the prose around them, and any later table, is written by hand.
"""

import re
import sys
from pathlib import Path

from fairlead.experiments.claims import claims_table, fmt, load_rows
from fairlead.experiments.comparison import read_run
from fairlead.experiments.report import summary_table
from fairlead.trainers.evaluation import HEADLINE

HEADLINE_RUNS = ("chicken-4p", "chicken-2p", "resource-collection-2p-strong", "resource-collection-4p-strong")
OTHER_RUNS = ("prisoners-dilemma-2p", "prisoners-dilemma-4p", "resource-collection-2p", "resource-collection-4p")
ATTRIBUTION = (
    "jamql",
    "jamql-no-selection",
    "jamql-no-history",
    "jamql-no-endgame",
    "jamql-selection-only",
    "jamql-scalar",
    "catch-up",
    "alternating",
    "fixed",
)
PER_STAGE = ("jamql", "jamql-no-endgame", "jamql-no-history", "alternating", "fixed")


def attribution(runs: Path) -> str:
    four, two = load_rows(runs / "chicken-4p"), load_rows(runs / "chicken-2p")
    columns = ("fairness_pairwise_equality", "fair_action_rate", "fair_action_rate_last")
    lines = [
        "| method | 4 players: fairness | fair-action rate | last stage | 2 players: fairness "
        "| fair-action rate | last stage |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in ATTRIBUTION:
        cells = [fmt(rows[method], c) for rows in (four, two) for c in columns]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_stage(run_dir: Path) -> str:
    rows = load_rows(run_dir)
    stages = sorted(int(k.rsplit("_", 1)[1]) for k in rows["jamql"][0] if k.startswith("fair_action_rate_stage_"))
    lines = ["| method | " + " | ".join(f"stage {t}" for t in stages) + " |", "|---|" + "---|" * len(stages)]
    for method in PER_STAGE:
        means = [sum(r[f"fair_action_rate_stage_{t}"] for r in rows[method]) / len(rows[method]) for t in stages]
        lines.append(f"| {method} | " + " | ".join(f"{m:.2f}" for m in means) + " |")
    return "\n".join(lines)


def summaries(runs: Path) -> list[str]:
    """Every run's summary table (its table lines only), with the page's Student-t intervals."""
    tables = []
    for name in HEADLINE_RUNS + OTHER_RUNS:
        run = read_run(runs / name)
        table = summary_table(run.rows, run.methods, HEADLINE, interval="t")
        tables.append("\n".join(line for line in table.splitlines() if line.startswith("|")))
    return tables


def splice(page: str, tables: list[str]) -> str:
    """``page`` with its first Markdown tables (runs of lines starting with ``|``) replaced by ``tables``.

    Tables after those (written by hand, e.g. the cap comparison) are kept.
    """
    blocks = re.split(r"((?:^\|.*\n)+)", page, flags=re.M)
    if len(blocks[1::2]) < len(tables):
        raise SystemExit(f"the page has {len(blocks[1::2])} tables, {len(tables)} were generated")
    for i, table in enumerate(tables):
        blocks[2 * i + 1] = table + "\n"
    return "".join(blocks)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tools/results_tables.py RUNS_DIR PAGE.md")
    runs, page = Path(sys.argv[1]), Path(sys.argv[2])
    tables = [
        claims_table([runs / name for name in HEADLINE_RUNS + OTHER_RUNS]),
        attribution(runs),
        per_stage(runs / "chicken-4p"),
        *summaries(runs),
    ]
    page.write_text(splice(page.read_text(), tables))
