"""AEC turns per second of fairlead's chicken_v0, plain and mediated, against PettingZoo's classic rps_v2.

The environments run in the same process with the same loop (reset,
``agent_iter``, ``last()``, sample an action from the action mask, ``step``;
rps_v2 has no mask, so its action is sampled from the action space),
the same horizon (15 stages / cycles), each built by its standard constructor
(``fairlead.make("chicken_v0")``, ``pettingzoo.make("aec", "classic/rps-v2")``;
the mediated env is ``fairlead.mediate(fairlead.make("chicken_v0"),
selector="round_robin")``: the mediator picks every stage's leader inside the
env, so only the players act and the loop is the same).
Time is the process's CPU time (``time.process_time``), so other processes on
a shared machine do not count against whichever env happens to be running. Repetitions are interleaved across the environments; the table
reports each env's median turns per second, and the ratio to rps_v2 is the
median over repetitions of the ratio of two runs made back to back (robust to
the machine's load changing during the benchmark).

    python benchmarks/bench_turns.py                  # default: 15 repetitions of ~0.5 s each
    python benchmarks/bench_turns.py --repeats 31 --seconds 1
    python benchmarks/bench_turns.py --check          # exit 1 if a target is missed (see TARGETS)
    python benchmarks/bench_turns.py --sampler gymnasium   # action_space.sample(mask)

rps_v2 imports pygame, which fairlead itself never needs: install the
benchmark extra first (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import statistics
import sys
import time

import numpy as np

import fairlead

REFERENCE = "rps_v2 (2 players)"
PLAIN, MEDIATED = "chicken_v0 (2 players)", "mediated chicken_v0 (2 players)"
# minimum ratio to rps_v2 of each env with a target (issue 2: plain; issue 12: mediated)
TARGETS = {PLAIN: 1.0, MEDIATED: 0.8}


def load_rps():
    """Constructor of PettingZoo's classic/rps-v2 (through its registry: same wrappers as rps_v2.env)."""
    import pettingzoo

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        importlib.import_module("pygame")  # rps_v2 imports it at module level
    except ImportError as err:
        sys.exit(
            f"error: PettingZoo's rps_v2 (the benchmark's reference) cannot be imported: {err}.\n"
            "It needs pygame, an optional benchmark requirement of fairlead. Install it with\n"
            "    pip install -e .[bench]\n"
            "(from the repository root) and run the benchmark again."
        )
    return lambda **kwargs: pettingzoo.make("aec", "classic/rps-v2", **kwargs)


def run_turns(env, min_turns: int, seed: int, sampler: str = "pettingzoo") -> tuple[int, float]:
    """Play whole episodes until at least ``min_turns`` AEC turns; return (turns, seconds).

    ``sampler="pettingzoo"`` picks actions as ``pettingzoo.test.performance_benchmark``
    does: ``random.choice`` over the legal actions of the mask, ``action_space.sample()``
    for an env without a mask. ``sampler="gymnasium"`` calls
    ``action_space.sample(mask)`` (gymnasium validates the mask on every call).
    """
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    rand = random.Random(seed)
    gym_sampler = sampler == "gymnasium"
    turns = 0
    start = time.process_time()
    env.reset(seed=seed)
    while True:
        for agent in env.agent_iter():
            obs, reward, termination, truncation, info = env.last()
            if termination or truncation:
                action = None
            else:
                mask = obs["action_mask"] if isinstance(obs, dict) else None
                if gym_sampler or mask is None:
                    action = env.action_space(agent).sample(mask)
                else:
                    action = rand.choice(np.flatnonzero(mask).tolist())
            env.step(action)
            turns += 1
        if turns >= min_turns:
            break
        env.reset()
    return turns, time.process_time() - start


def measure(factories: dict, seconds: float, repeats: int, sampler: str) -> dict[str, list[float]]:
    # calibrate: how many turns take about `seconds` for each env
    budget = {}
    for name, make in factories.items():
        turns, elapsed = run_turns(make(), 2000, 0, sampler)  # also warms caches and imports
        budget[name] = max(1000, int(turns / elapsed * seconds))
    rates = {name: [] for name in factories}
    names = list(factories)
    for rep in range(repeats):
        # interleaved, alternating the order so no env always runs first
        for name in names if rep % 2 == 0 else names[::-1]:
            turns, elapsed = run_turns(factories[name](), budget[name], rep, sampler)
            rates[name].append(turns / elapsed)
    return rates


def paired_ratio(values: list[float], reference: list[float]) -> float:
    """Median over repetitions of value / reference, each pair measured back to back."""
    return statistics.median(v / r for v, r in zip(values, reference))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per repetition and env (default 0.5)")
    parser.add_argument(
        "--repeats", type=int, default=15, help="repetitions per env; medians are reported (default 15)"
    )
    parser.add_argument(
        "--max-cycles",
        type=int,
        default=15,
        help="stages (chicken) / cycles (rps) per episode (default 15, rps_v2's default)",
    )
    parser.add_argument(
        "--sampler",
        choices=["pettingzoo", "gymnasium"],
        default="pettingzoo",
        help="how actions are drawn from the mask: 'pettingzoo' (default) as "
        "pettingzoo.test.performance_benchmark does, random.choice over the legal "
        "actions; 'gymnasium' action_space.sample(mask), which validates the mask "
        "(about 25 us per call) and so measures gymnasium as much as the env",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if an env misses its target: "
        + ", ".join(f"{name} / rps_v2 >= {t}" for name, t in TARGETS.items()),
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0 or args.max_cycles < 1:
        parser.error("--repeats and --max-cycles must be >= 1 and --seconds > 0")

    make_rps = load_rps()
    m = args.max_cycles
    factories = {
        REFERENCE: lambda: make_rps(max_cycles=m),
        PLAIN: lambda: fairlead.make("chicken_v0", n_agents=2, max_cycles=m),
        "chicken_v0 (4 players)": lambda: fairlead.make("chicken_v0", n_agents=4, max_cycles=m),
        MEDIATED: lambda: fairlead.mediate(
            fairlead.make("chicken_v0", n_agents=2, max_cycles=m), selector="round_robin"
        ),
    }
    print(
        f"AEC turns per CPU second: {args.repeats} interleaved repetitions of ~{args.seconds:g} s, "
        f"{m} stages/cycles per episode, sampler {args.sampler}, Python {sys.version.split()[0]}, "
        f"fairlead {fairlead.__version__}, numpy {np.__version__}"
    )
    rates = measure(factories, args.seconds, args.repeats, args.sampler)

    reference = rates[REFERENCE]
    width = max(map(len, rates))
    print()
    print(f"{'environment':<{width}} {'median turns/s':>15} {'min':>10} {'max':>10} {'vs rps_v2':>10}")
    for name, values in rates.items():
        med = statistics.median(values)
        ratio = paired_ratio(values, reference)
        print(f"{name:<{width}} {med:>15,.0f} {min(values):>10,.0f} {max(values):>10,.0f} {ratio:>9.2f}x")
    print()
    missed = []
    for name, target in TARGETS.items():
        ratio = paired_ratio(rates[name], reference)
        verdict = "meets" if ratio >= target else "MISSES"
        print(f"ratio {name} / rps_v2 = {ratio:.2f} ({verdict} the target >= {target})")
        if ratio < target:
            missed.append(name)
    if args.check and missed:
        print(f"check failed: {', '.join(missed)} below target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
