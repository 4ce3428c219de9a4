"""SB3: examples/sb3_maskable_ppo.py, MaskablePPO (sb3-contrib) with the action mask, through ``learn(total_timesteps)``.

The recipe's own budget (one ``learn`` call), seeds 0 and 1: the greedy
shared policy beats random play (``fairlead.integrations.random_play``) on
fairness and on total return, the masks MaskablePPO read are the env's own,
and SB3's logger wrote the fairness of every rollout to ``progress.csv``.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from integration_support import load_example, require  # tests/integrations/integration_support.py

pytestmark = pytest.mark.integration
SEEDS = (0, 1)
TIMESTEPS = 16_000  # the recipe's default: 40 rollouts of 4 slots x 100 steps (about 15 s each on 2 cores)


@pytest.fixture(scope="module")
def recipe():
    require("sb3_contrib", "stable_baselines3", "torch")
    return load_example("sb3_maskable_ppo")


@pytest.fixture(scope="module", params=SEEDS)
def run(recipe, request, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp(f"sb3_seed{request.param}")
    model = recipe.train(total_timesteps=TIMESTEPS, seed=request.param, log_dir=log_dir)
    return {"model": model, "log_dir": log_dir, "seed": request.param}


def test_maskable_ppo_beats_random_play(recipe, run):
    from fairlead.integrations import policy_play, random_play

    random = random_play(recipe.make_env(), episodes=100, seed=run["seed"])
    trained = policy_play(recipe.make_env(), recipe.greedy(run["model"]), episodes=20, seed=1000)
    # measured: random play 0.876 / 41.8 (seed 0); MaskablePPO greedy 1.000 / 50.0 (seeds 0 and 1)
    assert trained["fairness"] > random["fairness"] + 0.05, (trained, random)
    assert trained["total_return"] > random["total_return"] + 3.0, (trained, random)


def test_maskable_ppo_logs_fairness_per_rollout(run):
    with open(run["log_dir"] / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == TIMESTEPS // 400  # one row per rollout
    fair = [float(row["rollout/fairness"]) for row in rows]
    total = [float(row["rollout/total_return"]) for row in rows]
    assert all(0.0 <= v <= 1.0 for v in fair) and all(0.0 <= v <= 60.0 for v in total)
    assert np.mean(fair[-5:]) > np.mean(fair[:5])  # fairness in training rises


def test_maskable_ppo_reads_the_env_masks(recipe):
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported

    from fairlead.envs.parallel import PhaseParallelEnv
    from fairlead.integrations import sb3_vec_env

    env = recipe.make_env()
    vec_env = recipe.ActionMasks(sb3_vec_env(recipe.make_env()), 2)
    reference = PhaseParallelEnv(recipe.make_env())
    try:
        assert is_masking_supported(vec_env)
        vec_env.seed(3)
        vec_env.reset()
        observations, _ = reference.reset(seed=3)
        for _ in range(6):  # a waiting player may only pass (action 0); an acting one has both actions
            expected = np.stack([observations[a]["action_mask"] > 0 for a in env.possible_agents])
            assert (get_action_masks(vec_env) == expected).all()
            actions = {a: int(np.flatnonzero(observations[a]["action_mask"])[-1]) for a in env.possible_agents}
            vec_env.step(np.array([actions[a] for a in env.possible_agents]))
            observations, *_ = reference.step(actions)
    finally:
        vec_env.close()
