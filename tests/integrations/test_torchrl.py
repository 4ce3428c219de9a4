"""TorchRL: examples/torchrl_chicken.py with its own budget (a ``Collector`` loop of 30 batches of 400 steps, PPO).

The greedy shared policy beats random play (``fairlead.integrations.random_play``)
on fairness and total return, and TorchRL's ``CSVLogger`` holds the fairness
of every training episode (``<log_dir>/torchrl_chicken/scalars/fairness.csv``).
"""

from __future__ import annotations

import numpy as np
import pytest
from integration_support import load_example, require  # tests/integrations/integration_support.py

pytestmark = pytest.mark.integration
ITERATIONS, FRAMES, STEPS_PER_EPISODE = 30, 400, 20  # the recipe's budget; 10 stages x 2 phases


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("torchrl", "torch")
    recipe = load_example("torchrl_chicken")
    log_dir = tmp_path_factory.mktemp("torchrl")
    return {
        "recipe": recipe,
        "logits": recipe.train(iterations=ITERATIONS, seed=0, log_dir=str(log_dir)),
        "log_dir": log_dir,
    }


def test_torchrl_beats_random_play(run):
    from fairlead.integrations import policy_play, random_play

    recipe = run["recipe"]
    random = random_play(recipe.make_env(), episodes=100, seed=0)
    trained = policy_play(recipe.make_env(), recipe.greedy(run["logits"]), episodes=20, seed=1000)
    # measured (seed 0): random play 0.876 / 41.8; the greedy shared policy 1.000 / 50.0
    assert trained["fairness"] > random["fairness"] + 0.05, (trained, random)
    assert trained["total_return"] > random["total_return"] + 3.0, (trained, random)


def test_torchrl_logs_fairness_of_every_episode(run):
    scalars = run["log_dir"] / "torchrl_chicken" / "scalars"
    fairness = np.loadtxt(scalars / "fairness.csv", delimiter=",")
    total = np.loadtxt(scalars / "total_return.csv", delimiter=",")
    episodes = ITERATIONS * FRAMES // STEPS_PER_EPISODE
    assert fairness.shape == total.shape == (episodes, 2)
    assert (fairness[:, 0] == np.arange(episodes)).all()  # step = episode index
    assert ((0.0 <= fairness[:, 1]) & (fairness[:, 1] <= 1.0)).all()
    assert ((0.0 <= total[:, 1]) & (total[:, 1] <= 60.0)).all()
    assert fairness[-100:, 1].mean() > fairness[:100, 1].mean()  # fairness in training rises
