"""What the agents' unfair-lead count costs and buys: shipped methods with the count removed or hidden.

Every shipped baseline sees the players' own unfair-lead count (``agent_history =
["unfair_leads"]``), as JAM-QL's agents do, so that only leader selection differs.
This probe trains a shipped method with that feature changed, on one scenario,
with the scenario's hyper-parameters, and prints mean ± 95% CI over the seeds:

``--variant none``         the count removed (``agent_history = ()``)
``--variant leader-only``  the count shown to a player only while it leads (0 while it follows)
``--variant cap2``, ``cap3``  the count capped at 2 or 3 (3: the first formalisation) instead of 1 (a flag)

Examples (the numbers in docs/results.md were produced with these)::

    python benchmarks/count_probe.py chicken-4p fixed,alternating --variant none --seeds 20
    python benchmarks/count_probe.py resource-collection-2p-strong fixed,alternating --variant none --seeds 20
    python benchmarks/count_probe.py chicken-4p jamql --variant leader-only --seeds 10
    python benchmarks/count_probe.py chicken-2p jamql,fixed --variant cap2 --seeds 20
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from multiprocessing import Pool

import fairlead.mediation.observation as observation
from fairlead.experiments.report import mean_ci
from fairlead.mediation.mediator import MediatedEnv
from fairlead.registry import resolve
from fairlead.trainers.config import get_method, load_hyperparams
from fairlead.trainers.evaluation import HEADLINE, summarise
from fairlead.trainers.jamql import Trainer

_observe = MediatedEnv.observe


def _leader_only(self, agent):
    """MediatedEnv.observe with the appended unfair-lead count zeroed for a player that does not lead."""
    out = _observe(self, agent)
    if agent in self.players and self.agent_history.names == ("unfair_leads",) and self.leader != agent:
        out["observation"] = out["observation"].copy()
        out["observation"][len(out["observation"]) - 1 - self.leader_phase.player_flag] = 0
    return out


def train(job):
    scenario, method, variant, seed = job
    if variant == "leader-only":
        MediatedEnv.observe = _leader_only
    if variant.startswith("cap"):
        observation.UNFAIR_LEAD_CAP = int(variant[3:])
    env, kwargs = resolve(scenario)
    hp = load_hyperparams(scenario=scenario)
    spec = get_method(method)
    if variant == "none":
        spec = replace(spec, agent_history=())
    trainer = Trainer(env, kwargs, spec, hp, seed)
    for _ in range(hp.training.episodes):
        trainer.train_episode()
    row = summarise(trainer.evaluate(hp.training.eval_episodes), trainer.players, trainer.return_scale)
    return method, row[HEADLINE], row["fair_action_rate"], row["total_return"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("methods", help="comma-separated shipped methods")
    parser.add_argument("--variant", choices=("none", "leader-only", "cap2", "cap3"), required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    methods = args.methods.split(",")
    jobs = [(args.scenario, m, args.variant, s) for m in methods for s in range(args.seeds)]
    with Pool(args.jobs) as pool:
        out = pool.map(train, jobs)
    for method in methods:
        cells = []
        for i, name in enumerate(("fairness", "fair-action rate", "total return"), start=1):
            mean, half = mean_ci([o[i] for o in out if o[0] == method])
            cells.append(f"{name} {mean:.3f} ± {half:.3f}")
        print(f"{args.scenario} {method} (count: {args.variant}, {args.seeds} seeds): " + ", ".join(cells))


if __name__ == "__main__":
    main()
