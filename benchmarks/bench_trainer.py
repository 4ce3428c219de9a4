"""Player decisions per second of fairlead's compiled engine, its reference trainer and OpenSpiel's QLearner.

The task is the one of issue 12: repeated Chicken, 2 players, 10 stages, a
fixed leader (method ``fixed``), tabular epsilon-greedy Q-learning. Every
trainer is measured in this process, one after the other, by its **marginal**
throughput: the time of ``2 E`` training episodes minus the time of ``E``,
so set-up and (for the compiled engine) compilation are left out; the compile
time of a first call is reported on its own. A player decision is one action
of one player (20 per episode), as OpenSpiel's agents step.

    python benchmarks/bench_trainer.py                 # all trainers; OpenSpiel if installed
    python benchmarks/bench_trainer.py --episodes 200000 --method jamql --n-agents 4

OpenSpiel is optional (``pip install -e .[bench]`` brings it); without it the
script says so and reports the fairlead trainers alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fairlead.engine.trainer import CompiledTrainer
from fairlead.trainers.config import HyperParams, get_method
from fairlead.trainers.jamql import Trainer


def marginal(train, episodes: int) -> float:
    """Seconds per episode, from the time of ``2 episodes`` minus that of ``episodes`` (fresh trainers)."""
    times = []
    for count in (episodes, 2 * episodes):
        step = train()
        start = time.perf_counter()
        step(count)
        times.append(time.perf_counter() - start)
    return (times[1] - times[0]) / episodes


def fairlead_trainer(cls, method: str, n_agents: int):
    def build():
        trainer = cls("chicken_v0", {"n_agents": n_agents, "max_cycles": 10}, get_method(method), HyperParams(), 0)
        return trainer.train
    return build


def openspiel_trainer():
    """OpenSpiel's tabular QLearner on turn-based repeated Chicken (matrix_cd), as in issue 12's table."""
    import pyspiel
    from open_spiel.python import rl_environment
    from open_spiel.python.algorithms import tabular_qlearner

    game = pyspiel.convert_to_turn_based(
        pyspiel.create_repeated_game(pyspiel.load_game("matrix_cd"), {"num_repetitions": 10}))
    env = rl_environment.Environment(game)
    agents = [tabular_qlearner.QLearner(player_id=i, num_actions=2) for i in range(2)]

    def train(episodes):
        for _ in range(episodes):
            step = env.reset()
            while not step.last():
                player = step.observations["current_player"]
                step = env.step([agents[player].step(step).action])
            for agent in agents:
                agent.step(step)
    return lambda: train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000, help="E of the compiled engine (2E played)")
    parser.add_argument("--reference-episodes", type=int, default=300, help="E of the reference and OpenSpiel")
    parser.add_argument("--method", default="fixed")
    parser.add_argument("--n-agents", type=int, default=2)
    args = parser.parse_args()
    decisions = 10 * args.n_agents
    start = time.perf_counter()
    fairlead_trainer(CompiledTrainer, args.method, args.n_agents)()(1)
    compile_seconds = time.perf_counter() - start
    rows = [("fairlead compiled engine", marginal(fairlead_trainer(CompiledTrainer, args.method, args.n_agents),
                                                  args.episodes)),
            ("fairlead reference trainer", marginal(fairlead_trainer(Trainer, args.method, args.n_agents),
                                                    args.reference_episodes))]
    try:
        if args.n_agents != 2 or args.method != "fixed":
            raise ImportError("OpenSpiel's reference task is 2 players with a fixed leader")
        rows.append(("OpenSpiel tabular_qlearner.QLearner", marginal(openspiel_trainer(), args.reference_episodes)))
    except ImportError as err:
        print(f"OpenSpiel not measured ({err}); `pip install -e .[bench]` installs it")
    base = rows[-1][1]
    print(f"repeated Chicken, {args.n_agents} players, 10 stages, method {args.method}; compile/load of the "
          f"compiled engine's first call: {compile_seconds:.2f} s\n")
    print(f"| trainer | player decisions/s | ratio to {rows[-1][0]} |\n|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {decisions / seconds:,.0f} | {base / seconds:,.1f}x |")
    if np.isnan(base):
        raise SystemExit("timing failed")


if __name__ == "__main__":
    main()
