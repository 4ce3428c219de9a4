"""Player decisions per second of fairlead's compiled engine, its reference trainer and OpenSpiel's QLearner.

The task is the one of issue 12: repeated Chicken, 2 players, 10 stages, a
fixed leader (method ``fixed``), tabular epsilon-greedy Q-learning. Every
trainer is measured in this process by its **marginal** throughput: the time
of ``2 E`` training episodes minus the time of ``E``, so set-up and (for the
compiled engine) compilation are left out; the compile time of a first call is
reported on its own. The compiled engine is measured twice: as a trainer, and
through ``fairlead train`` (``runs.run`` in this process: a run directory,
with curve points, evaluation and checkpoints made rare by the config, as
issue 12 asks). A player decision is one action of one player (20 per
episode), as OpenSpiel's agents step. The trainers are measured in turn,
``--repeats`` times; the table shows each one's median and the median of the
per-repeat ratios (a shared machine's load changes between measurements).

    python benchmarks/bench_trainer.py                 # all trainers; OpenSpiel if installed
    python benchmarks/bench_trainer.py --method jamql --n-agents 4

OpenSpiel is optional (``pip install -e .[bench]`` brings it); without it the
script says so and reports the fairlead trainers alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fairlead.engine.trainer import CompiledTrainer
from fairlead.experiments.runs import run
from fairlead.experiments.spec import RunSpec
from fairlead.trainers.config import HyperParams, TrainingConfig, get_method
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


def through_train(method: str, n_agents: int):
    """``fairlead train`` of one seed into a fresh run directory, curve points and checkpoints once per run."""

    def build():
        def train(episodes):
            hp = HyperParams(
                training=TrainingConfig(
                    episodes=episodes, eval_episodes=1, log_every=episodes, curve_episodes=1, checkpoint_every=episodes
                )
            )
            spec = RunSpec("chicken_v0", {"n_agents": n_agents, "max_cycles": 10}, (method,), (0,), hp)
            with tempfile.TemporaryDirectory() as folder:
                run(spec, Path(folder) / "run", jobs=1, progress=False, engine="compiled")

        return train

    return build


def openspiel_trainer():
    """OpenSpiel's tabular QLearner on turn-based repeated Chicken (matrix_cd), as in issue 12's table."""
    import pyspiel
    from open_spiel.python import rl_environment
    from open_spiel.python.algorithms import tabular_qlearner

    game = pyspiel.convert_to_turn_based(
        pyspiel.create_repeated_game(pyspiel.load_game("matrix_cd"), {"num_repetitions": 10})
    )
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
    parser.add_argument("--episodes", type=int, default=500_000, help="E of the compiled engine (2E played)")
    parser.add_argument("--reference-episodes", type=int, default=300, help="E of the reference and OpenSpiel")
    parser.add_argument("--repeats", type=int, default=5, help="measurements of each trainer (medians reported)")
    parser.add_argument("--method", default="fixed")
    parser.add_argument("--n-agents", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    fairlead_trainer(CompiledTrainer, args.method, args.n_agents)()(1)
    compile_seconds = time.perf_counter() - start
    trainers = {
        "fairlead compiled engine": (fairlead_trainer(CompiledTrainer, args.method, args.n_agents), args.episodes),
        "fairlead compiled engine, through fairlead train": (through_train(args.method, args.n_agents), args.episodes),
        "fairlead reference trainer": (fairlead_trainer(Trainer, args.method, args.n_agents), args.reference_episodes),
    }
    try:
        if args.n_agents != 2 or args.method != "fixed":
            raise ImportError("OpenSpiel's reference task is 2 players with a fixed leader")
        trainers["OpenSpiel tabular_qlearner.QLearner"] = (openspiel_trainer(), args.reference_episodes)
    except ImportError as err:
        print(f"OpenSpiel not measured ({err}); `pip install -e .[bench]` installs it")
    seconds = {name: [] for name in trainers}
    for _ in range(args.repeats):
        for name, (build, episodes) in trainers.items():
            seconds[name].append(marginal(build, episodes))
    base = list(trainers)[-1]
    decisions = 10 * args.n_agents
    print(
        f"repeated Chicken, {args.n_agents} players, 10 stages, method {args.method}, {args.repeats} repeats; "
        f"compile/load of the compiled engine's first call: {compile_seconds:.2f} s\n"
    )
    print(f"| trainer | player decisions/s (median) | ratio to {base} (median) |\n|---|---|---|")
    for name, times in seconds.items():
        ratio = statistics.median(b / t for b, t in zip(seconds[base], times))
        print(f"| {name} | {decisions / statistics.median(times):,.0f} | {ratio:,.1f}x |")


if __name__ == "__main__":
    main()
