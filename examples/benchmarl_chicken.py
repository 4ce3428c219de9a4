"""BenchMARL's MAPPO on mediated Chicken with 4 players, fairness logged per iteration beside random play.

``fairlead.benchmarl_task.FairleadTask`` makes the scenario a BenchMARL task
(catch_up picks the leaders, end-game transfer 0.5); its ``log_info`` logs the
fairness and the total return of every iteration's finished episodes, before
the transfer, through BenchMARL's own logger (``collection_fairness.csv``,
``collection_total_return.csv`` with the CSV logger). Random play is the
baseline to read them against.

Run (needs BenchMARL: ``bash .ci/benchmarl`` makes ``.venv-benchmarl``; about
1.5 minutes on 2 idle cores)::

    .venv-benchmarl/bin/python examples/benchmarl_chicken.py
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from benchmarl.algorithms import MappoConfig
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.models.mlp import MlpConfig

import fairlead
from fairlead.benchmarl_task import FairleadTask
from fairlead.integrations import random_play


def logged(folder: Path, name: str) -> list[float]:
    (path,) = Path(folder).rglob(f"scalars/{name}.csv")
    with open(path, newline="") as file:
        return [float(row[1]) for row in csv.reader(file)]


def train(iterations: int = 40, seed: int = 0, folder: str | None = None) -> dict:
    """MAPPO for ``iterations`` of 800 frames; returns the logged fairness and total return and random play's."""
    folder = folder or tempfile.mkdtemp(prefix="benchmarl-fairlead-")
    task = FairleadTask.scenario("chicken-4p", selector="catch_up", transfer=0.5)
    config = ExperimentConfig.get_from_yaml()
    config.loggers, config.render, config.evaluation = ["csv"], False, False
    config.max_n_iters, config.max_n_frames = iterations, None
    config.on_policy_collected_frames_per_batch, config.on_policy_n_envs_per_worker = 800, 4
    config.on_policy_minibatch_size, config.on_policy_n_minibatch_iters = 200, 8
    config.lr, config.save_folder, config.create_json = 3e-4, folder, False
    Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), model_config=MlpConfig.get_from_yaml(),
               critic_model_config=MlpConfig.get_from_yaml(), seed=seed, config=config).run()
    baseline = random_play(fairlead.mediate(fairlead.make("chicken-4p"), selector="catch_up", transfer=0.5), 200)
    return {"fairness": logged(folder, "collection_fairness"),
            "total_return": logged(folder, "collection_total_return"), "random": baseline}


if __name__ == "__main__":
    result = train()
    print(f"random play:          fairness {result['random']['fairness']:.3f}, "
          f"total return {result['random']['total_return']:.1f}")
    for when, i in (("first iteration:", 0), ("last iteration: ", -1)):
        print(f"MAPPO, {when}     fairness {result['fairness'][i]:.3f}, total return {result['total_return'][i]:.1f}")
