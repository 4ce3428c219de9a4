"""JAM-QL's fair-action rate over Chicken's players x horizon, for variants of the method (docs/jamql.md).

    python benchmarks/horizon_probe.py                                   # the shipped jamql
    python benchmarks/horizon_probe.py '{"settle": "end", "agent_history": ["unfair_leads"],
                                         "transfer": ["unfair_advantage", 2.0]}'   # the earlier formalisation

The argument overrides fields of the shipped ``jamql`` method (``fairlead.trainers.config.Method``). Each cell
trains 10 seeds on the compiled engine with the shipped hyper-parameters and prints the mean greedy fair-action
rate / mean fairness over 20 evaluation episodes per seed; the last line gives the mean and worst cell.
"""

import json
import sys
import time
from dataclasses import replace

import numpy as np

from fairlead.engine.trainer import CompiledTrainer
from fairlead.trainers.config import get_method, load_hyperparams
from fairlead.trainers.evaluation import HEADLINE

PLAYERS, HORIZONS, SEEDS = (2, 3, 4, 5, 6), (6, 8, 10, 12, 15, 20), 10


def cell(method, n: int, cycles: int) -> tuple[float, float]:
    hp = load_hyperparams()
    rates, fairness = [], []
    for seed in range(SEEDS):
        trainer = CompiledTrainer("chicken_v0", {"n_agents": n, "max_cycles": cycles}, method, hp, seed)
        trainer.train(hp.training.episodes)
        summary = trainer.evaluate_summary(hp.training.eval_episodes)
        rates.append(summary["fair_action_rate"])
        fairness.append(summary[HEADLINE])
    return float(np.mean(rates)), float(np.mean(fairness))


def main() -> None:
    method = replace(get_method("jamql"), **(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
    started, rates = time.perf_counter(), []
    print("fair-action rate/fairness; rows: players, columns: stages")
    print("n\\T " + " ".join(f"{t:>11}" for t in HORIZONS))
    for n in PLAYERS:
        cells = [cell(method, n, t) for t in HORIZONS]
        rates += [rate for rate, _ in cells]
        print(f"{n:>3} " + " ".join(f"{rate:.2f}/{fair:.3f}".rjust(11) for rate, fair in cells), flush=True)
    print(f"mean {np.mean(rates):.3f}, worst cell {np.min(rates):.2f} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
