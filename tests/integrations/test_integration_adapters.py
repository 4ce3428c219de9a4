"""fairlead.integrations: the adapters keep PettingZoo's API and the env's rewards intact.

The wrappers need only the core dependencies; the ``*_env`` helpers need the
library they target (skipped without the ``integrations`` extra).
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from integration_support import require  # tests/integrations/integration_support.py
from pettingzoo.test import api_test, parallel_api_test

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.integrations import NumericInfoParallelEnv, ObservationKeyWrapper
from fairlead.mediation import MEDIATOR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # api_test's advice on names and observation spaces
]


def mediated(mode: str, encoding: str = "box"):
    game = fairlead.make("chicken_v0", max_cycles=3, obs_encoding=encoding)
    if mode == "plain":
        return game
    if mode == "mediator_agent":
        return fairlead.mediate(game, mediator_as_agent=True, transfer=0.5)
    return fairlead.mediate(game, selector="catch_up", transfer=0.5)


MODES = ("plain", "selector", "mediator_agent")


@pytest.mark.parametrize("mode", MODES)
def test_observation_key_wrapper_passes_the_api_test(mode):
    env = ObservationKeyWrapper(mediated(mode))
    api_test(env, num_cycles=20)
    env.reset(seed=0)
    for agent in env.possible_agents:
        space = env.observation_space(agent)
        assert set(space.spaces) == {"observations", "action_mask"}
        assert space["action_mask"].dtype == np.int8  # PettingZoo's convention: action_space.sample(mask)
        assert space.contains(env.observe(agent))
    assert env.phase == env.unwrapped.phase  # the protocol stays reachable


@pytest.mark.parametrize("mode", MODES)
def test_numeric_info_parallel_env(mode):
    env = NumericInfoParallelEnv(PhaseParallelEnv(mediated(mode)))
    parallel_api_test(env, num_cycles=20)
    observations, infos = env.reset(seed=0)
    keys = {"stage", "leader", "episode_return"}
    while env.agents:
        assert all(set(info) == keys and all(isinstance(v, float) for v in info.values()) for info in infos.values())
        actions = {a: env.action_space(a).sample(observations[a]["action_mask"]) for a in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(actions)
    game = PhaseParallelEnv(mediated(mode)).aec_env.unwrapped  # for the expected returns
    players = [a for a in env.possible_agents if a != MEDIATOR]
    final = {a: infos[a]["episode_return"] for a in players}
    assert final == env.env.aec_env.unwrapped.episode_returns  # the env's own returns, before transfer
    assert all(0 <= g <= game.return_scale for g in final.values())
    if mode == "mediator_agent":
        assert infos[MEDIATOR]["episode_return"] == 0.0


def test_rllib_env_needs_box_observations():
    require("ray.rllib")
    from fairlead.integrations import rllib_env

    with pytest.raises(TypeError, match="obs_encoding='box'"):
        rllib_env(mediated("selector", encoding="discrete"))
    env = rllib_env(mediated("mediator_agent"))
    assert set(env.possible_agents) == {"player_0", "player_1", MEDIATOR}
    assert isinstance(env.observation_space[MEDIATOR]["observations"], spaces.Box)


def test_torchrl_env_groups_players_and_the_mediator():
    require("torchrl")
    from fairlead.integrations import torchrl_env

    env = torchrl_env(mediated("mediator_agent"), seed=0)
    assert env.group_map == {"player": ["player_0", "player_1"], MEDIATOR: [MEDIATOR]}
    rollout = env.rollout(9)  # random policy, 3 stages x 3 phases
    assert rollout["next", "done"][-1].item()
    assert rollout["next", MEDIATOR, "reward"].sum().item() == pytest.approx(
        fairlead.fairness.fairness(
            rollout["next", "player", "info", "episode_return"][-1].tolist(),
            scale=mediated("plain").unwrapped.return_scale,
        )
    )


def test_sb3_vec_env_seeds_through_ppo(monkeypatch, tmp_path):
    require("stable_baselines3")
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))  # SB3's default logger's folder (else a new /tmp/SB3-* per run)
    from stable_baselines3 import PPO

    from fairlead.integrations import sb3_vec_env

    def first_rollout(seed):
        vec_env = sb3_vec_env(mediated("selector"), num_envs=1)
        try:
            model = PPO("MlpPolicy", vec_env, n_steps=12, batch_size=12, n_epochs=1, seed=seed)
            model.learn(total_timesteps=24)
            return model.rollout_buffer.rewards.copy()
        finally:
            vec_env.close()

    assert np.array_equal(first_rollout(3), first_rollout(3))  # PPO(..., seed=) works and repeats
