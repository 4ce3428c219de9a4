"""The agents' stage feature (``stage_feature=``): values over an episode, sizes, encodings, bad input.

PettingZoo's api/seed/parallel checks run with every value in test_envs_api.py;
this file checks what the feature *is*, for every registered environment.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from conftest import config_id, suite_configs

import fairlead
from fairlead.envs.stackelberg import STAGE_FEATURES
from fairlead.registry import env_module

CONFIGS = suite_configs()
CONFIG_IDS = [config_id(c) for c in CONFIGS]
STAGE = 2  # the feature's position: [role, leader_action + 1, stage_feature, *game_features]


def expected_value(stage_feature: str, stage: int, max_cycles: int) -> int:
    if stage_feature == "index":
        return stage
    if stage_feature == "last":
        return int(stage >= max_cycles - 1)
    return 0


def observed_features(env, agent):
    """The discrete features of ``agent``'s observation, decoding the box one-hot codes."""
    raw = env.unwrapped
    obs = env.observe(agent)["observation"]
    if raw.obs_encoding == "discrete":
        return obs.tolist()
    segments = np.split(obs, np.cumsum(raw.obs_nvec)[:-1])
    assert all(segment.sum() == 1.0 for segment in segments)
    return [int(segment.argmax()) for segment in segments]


@pytest.mark.parametrize("encoding", ["discrete", "box"])
@pytest.mark.parametrize("stage_feature", STAGE_FEATURES)
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_stage_feature_values_over_an_episode(config, stage_feature, encoding):
    """Every agent, at every turn and in the final observation, sees the feature of the stage."""
    name, kwargs = config
    max_cycles = 4
    env = fairlead.make(name, **kwargs, max_cycles=max_cycles, stage_feature=stage_feature, obs_encoding=encoding)
    reference = fairlead.make(name, **kwargs, max_cycles=max_cycles, obs_encoding=encoding)
    size = {"index": max_cycles + 1, "last": 2, "none": 1}[stage_feature]
    assert env.unwrapped.obs_nvec[STAGE] == size
    nvec = env.unwrapped.obs_nvec.tolist()
    assert (
        nvec[:STAGE] + nvec[STAGE + 1 :]
        == [  # every other feature keeps its position and size
            *reference.unwrapped.obs_nvec[:STAGE].tolist(),
            *reference.unwrapped.obs_nvec[STAGE + 1 :].tolist(),
        ]
    )
    seen = []
    env.reset(seed=7)
    reference.reset(seed=7)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        stage = env.unwrapped.stage
        for other in env.agents:
            features = observed_features(env, other)
            assert features[STAGE] == expected_value(stage_feature, stage, max_cycles)
            same = observed_features(reference, other)  # only the stage feature differs from "index"
            assert features[:STAGE] + features[STAGE + 1 :] == same[:STAGE] + same[STAGE + 1 :]
        seen.append(observed_features(env, agent)[STAGE])
        action = None if terminated or truncated else int(np.flatnonzero(obs["action_mask"])[-1])
        env.step(action)
        reference.step(action)
    assert seen[-1] == expected_value(stage_feature, max_cycles, max_cycles)  # the game is over
    assert set(seen) == set(expected_value(stage_feature, s, max_cycles) for s in range(max_cycles + 1))


def test_last_stage_flag_with_a_single_stage():
    env = fairlead.make("chicken_v0", max_cycles=1, stage_feature="last")
    env.reset()
    assert env.observe("player_0")["observation"].tolist() == [0, 0, 1]


def test_default_is_the_stage_index():
    for name in fairlead.list_envs():
        assert inspect.signature(env_module(name).raw_env).parameters["stage_feature"].default == "index"
    env = fairlead.make("chicken_v0", max_cycles=7)
    assert env.unwrapped.stage_feature == "index"
    assert env.unwrapped.obs_nvec.tolist() == [2, 3, 8]


def test_table_sizes():
    """The sizes the env cards state."""
    sizes = {
        sf: int(fairlead.make("resource_collection_v0", raw=True, stage_feature=sf).obs_nvec.prod())
        for sf in STAGE_FEATURES
    }
    assert sizes == {"index": 52_800, "last": 9_600, "none": 4_800}
    sizes = {sf: int(fairlead.make("cournot_v0", raw=True, stage_feature=sf).obs_nvec.prod()) for sf in STAGE_FEATURES}
    assert sizes == {"index": 308, "last": 56, "none": 28}
    box = fairlead.make("resource_collection_v0", raw=True, stage_feature="last", obs_encoding="box")
    assert box.observation_space("player_0")["observation"].shape == (2 + 2 * 2 + 22,)


@pytest.mark.parametrize("name", fairlead.list_envs())
@pytest.mark.parametrize("bad", ["Index", "stage", "", None, 1, True, ["index"]])
def test_bad_stage_feature(name, bad):
    kwargs = next(kw for n, kw in CONFIGS if n == name)
    with pytest.raises(ValueError, match=r"stage_feature .*'index', 'last', 'none'"):
        fairlead.make(name, **kwargs, stage_feature=bad)


def test_scenarios_choose_a_valid_stage_feature():
    for scenario in fairlead.list_scenarios().values():
        value = scenario.kwargs.get("stage_feature", "index")
        assert value in STAGE_FEATURES, scenario.name
        assert fairlead.make(scenario.name, raw=True).stage_feature == value
