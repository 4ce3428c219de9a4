"""What the trained agents collect, per episode (issue 22, probe).

    .venv/bin/python benchmarks/probes_rc/diag.py VARIANT CELL SEED [--method jamql]

Trains one seed as charge_probe.py does, plays 50 greedy evaluation episodes and counts per episode the stages
that collected the fair resource only / the unfair one only / both / nothing, split by whether the stage's lead
was fair, plus the mean pay of the leader and of a follower per stage and after transfer.
"""

import argparse
from dataclasses import replace

import charge_probe as cp
import numpy as np

from fairlead.trainers.config import get_method
from fairlead.trainers.jamql import Trainer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("variant")
    p.add_argument("cell")
    p.add_argument("seed", type=int)
    p.add_argument("--method", default="jamql")
    p.add_argument("--kappa", type=float, default=None)
    a = p.parse_args()
    base = get_method(a.method)
    method = (
        base
        if a.variant == "none"
        else replace(
            base,
            transfer=(cp.CHARGES[a.variant], a.kappa if a.kappa is not None else float(base.transfer[1])),
            settle="stage",
        )
    )
    if a.variant in ("bystanders", "fair_split_helpers"):
        cp.patch_collectors()
    env_name, kwargs, hp = cp.cell_setup(a.cell)
    tr = Trainer(env_name, kwargs, method, hp, a.seed)
    tr.train(hp.training.episodes)
    eps = tr.evaluate(50)
    kinds = {4.0: "fair", 12.0: "unfair", 16.0: "both", 0.0: "none"}
    counts = {}
    for e in eps:
        for s in e.stages:
            total = round(sum(s.rewards.values()), 6)
            key = (kinds.get(total, str(total)), "fair lead" if s.leader_fair else "UNFAIR lead")
            counts[key] = counts.get(key, 0) + 1
    print(f"{a.variant} {a.cell} seed {a.seed}: per episode (of {len(eps[0].stages)} stages)")
    for key in sorted(counts):
        print(f"  {key[0]:>7} collected, {key[1]:<11}: {counts[key] / len(eps):5.2f}")
    print(
        "  total return",
        np.mean([e.returns.sum() for e in eps]),
        "after transfer per player",
        np.mean([e.returns_after_transfer for e in eps], axis=0).round(2),
    )


if __name__ == "__main__":
    main()
