"""Is a scenario learnable by the bundled tabular trainer? Greedy play against a reference.

Trains ``fairlead.trainers.jamql.Trainer`` with the shipped hyper-parameters
(``trainers/defaults.toml``, overridable with ``--hp``) on a handful of seeds
and compares the greedy evaluation episodes with a reference:

``stage``     the share of greedy stages whose action profile is the solver's
              subgame-perfect stage outcome (``fairlead.solver.stackelberg_outcome``
              with the leader of each stage and the tie-break of ``--tie-break``),
              for any env with a ``payoff_tensor`` (matrix games, Cournot).
``scripted``  the mean total return (sum over players) of greedy play against
              the same total when every player follows the scripted
              ``fairlead.envs.resource_collection_v0.fair_resource_policy``
              ("everyone heads for the nearest fair resource"), measured on
              ``--scripted-episodes`` episodes of the same scenario.

Examples (the numbers in the report were produced with these)::

    python benchmarks/learnability.py stage cournot-2p --seeds 5
    python benchmarks/learnability.py stage cournot-2p --seeds 5 --set stage_feature=none
    python benchmarks/learnability.py stage chicken_v0 --set n_agents=3 --tie-break optimistic
    python benchmarks/learnability.py scripted resource-collection-2p-strong --method fixed alternating
    python benchmarks/learnability.py scripted resource-collection-2p --set stage_feature=index

``--set key=value`` overrides an env argument (value parsed as TOML, bare
words as strings); ``--hp section.key=value`` a hyper-parameter. Run it under
``nice``: every seed trains ``episodes`` (1,500 by default) episodes.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections import Counter

import numpy as np

import fairlead
from fairlead.envs.resource_collection_v0 import scripted_total_return
from fairlead.solver import TIE_BREAKS, stackelberg_outcome
from fairlead.trainers.config import apply_overrides, get_method, load_hyperparams
from fairlead.trainers.jamql import Trainer


def parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {item!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def hp_overrides(items: list[str]) -> dict:
    nested: dict[str, dict] = {}
    for key, value in parse_assignments(items).items():
        section, dot, name = key.partition(".")
        if not dot:
            raise SystemExit(f"--hp needs section.key=value (e.g. agent.gamma=0.0), got {key!r}")
        nested.setdefault(section, {})[name] = value
    return nested


def train(scenario: str, env_kwargs: dict, method: str, hp, seed: int) -> Trainer:
    trainer = Trainer(scenario, env_kwargs, get_method(method), hp, seed)
    for _ in range(hp.training.episodes):
        trainer.train_episode()
    return trainer


def stage_match(args, hp) -> None:
    raw = fairlead.make(args.scenario, raw=True, **args.env_kwargs)
    payoffs = raw.payoff_tensor
    players = raw.possible_agents
    expected = {}  # leader index -> the solver's profile
    for method in args.method:
        rates, payoff_rates, totals, played, by_stage = [], [], [], Counter(), Counter()
        start = time.time()
        for seed in range(args.seed0, args.seed0 + args.seeds):
            trainer = train(args.scenario, args.env_kwargs, method, hp, seed)
            hits = payoff_hits = total = 0
            results = trainer.evaluate(args.eval_episodes)
            for result in results:
                for stage in result.stages:
                    leader = players.index(stage.leader)
                    if leader not in expected:
                        expected[leader] = stackelberg_outcome(payoffs, leader, args.tie_break)
                    profile = tuple(stage.actions[p] for p in players)
                    played[profile] += 1
                    hits += profile == expected[leader].actions
                    by_stage[stage.stage] += profile == expected[leader].actions
                    # the same payoffs up to which follower does what (e.g. which one dares)
                    rewards = np.array([stage.rewards[p] for p in players])
                    want = np.array(expected[leader].rewards)
                    payoff_hits += bool(
                        np.isclose(rewards[leader], want[leader])
                        and np.allclose(np.sort(np.delete(rewards, leader)), np.sort(np.delete(want, leader)))
                    )
                    total += 1
            rates.append(hits / total)
            payoff_rates.append(payoff_hits / total)
            totals.append(float(np.mean([r.returns.sum() for r in results])))
            print(
                f"  {method} seed {seed}: {rates[-1]:.0%} of {total} greedy stages match "
                f"({payoff_rates[-1]:.0%} up to the followers' order); total return {totals[-1]:.2f}",
                flush=True,
            )
        per_stage = [round(by_stage[t] / (args.seeds * args.eval_episodes), 2) for t in sorted(by_stage)]
        outcomes = {leader: outcome.actions for leader, outcome in sorted(expected.items())}
        print(
            f"{args.scenario} {args.env_kwargs} {method} hp {args.hp or 'defaults'}: solver "
            f"({args.tie_break}) {outcomes}; match {np.mean(rates):.1%} (per seed "
            f"{[round(r, 2) for r in rates]}; per stage {per_stage}); up to the followers' order "
            f"{np.mean(payoff_rates):.1%}; total return {np.mean(totals):.2f} (per seed "
            f"{np.round(totals, 1).tolist()}); most played {played.most_common(3)}; "
            f"{time.time() - start:.0f} s",
            flush=True,
        )


def scripted_reference(args, hp) -> None:
    reference = scripted_total_return(fairlead.make(args.scenario, **args.env_kwargs), episodes=args.scripted_episodes)
    print(
        f"{args.scenario} {args.env_kwargs}: scripted fair_resource_policy total return "
        f"{reference:.3f} (mean of {args.scripted_episodes} episodes)",
        flush=True,
    )
    for method in args.method:
        totals = []
        start = time.time()
        for seed in range(args.seed0, args.seed0 + args.seeds):
            trainer = train(args.scenario, args.env_kwargs, method, hp, seed)
            results = trainer.evaluate(args.eval_episodes)
            totals.append(float(np.mean([r.returns.sum() for r in results])))
            print(
                f"  {method} seed {seed}: greedy total {totals[-1]:.2f} = {totals[-1] / reference:.0%} of scripted",
                flush=True,
            )
        ratios = np.array(totals) / reference
        print(
            f"{args.scenario} {args.env_kwargs} {method} hp {args.hp or 'defaults'}: greedy total "
            f"{np.mean(totals):.3f} = "
            f"{np.mean(ratios):.1%} of scripted (per seed {np.round(ratios, 2).tolist()}, "
            f"min {ratios.min():.0%}); {time.time() - start:.0f} s",
            flush=True,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", choices=["stage", "scripted"])
    parser.add_argument("scenario", help="a scenario (cournot-2p) or an env (chicken_v0)")
    parser.add_argument("--method", nargs="+", default=["fixed"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed0", type=int, default=0, help="first seed")
    parser.add_argument(
        "--eval-episodes", type=int, default=None, help="greedy episodes per seed (default: [training] eval_episodes)"
    )
    parser.add_argument("--tie-break", choices=TIE_BREAKS, default="pessimistic")
    parser.add_argument("--scripted-episodes", type=int, default=500)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="env arguments")
    parser.add_argument(
        "--hp",
        nargs="*",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="hyper-parameter overrides (default: none, the shipped defaults)",
    )
    args = parser.parse_args(argv)
    args.env_kwargs = parse_assignments(args.set)
    hp = apply_overrides(load_hyperparams(), hp_overrides(args.hp), "--hp")
    args.eval_episodes = args.eval_episodes or hp.training.eval_episodes
    print(f"hyper-parameters: {hp.as_dict()}", flush=True)
    (stage_match if args.reference == "stage" else scripted_reference)(args, hp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
