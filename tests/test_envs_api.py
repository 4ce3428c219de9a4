"""PettingZoo's own API checks on every registered environment, both observation encodings.

Generic: iterates over ``suite_configs()`` so every environment added to the
registry is covered without touching this file.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pettingzoo
import pytest
from conftest import API_TEST_WARNINGS, assert_pettingzoo_api, config_id, suite_configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test

import fairlead
from fairlead.envs import matrix_game_v0
from fairlead.envs.stackelberg import STAGE_FEATURES

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

ENCODINGS = ("discrete", "box")
CONFIGS = suite_configs()
CONFIG_IDS = [config_id(c) for c in CONFIGS]


def _make(name, kwargs, **extra):
    return fairlead.make(name, **{**kwargs, **extra})


@pytest.fixture(params=ENCODINGS)
def encoding(request):
    return request.param


@pytest.fixture(params=STAGE_FEATURES)
def stage_feature(request):
    return request.param


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_api(config, encoding, stage_feature):
    name, kwargs = config
    api_test(_make(name, kwargs, obs_encoding=encoding, stage_feature=stage_feature), num_cycles=60)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_seed(config, encoding, stage_feature):
    name, kwargs = config
    seed_test(functools.partial(_make, name, kwargs, obs_encoding=encoding, stage_feature=stage_feature), num_cycles=60)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_render(config, encoding, stage_feature):
    name, kwargs = config
    seen = []

    def constructor(render_mode=None):
        # render_test first builds the env with render_mode="human"; only "ansi" exists.
        mode = render_mode if render_mode == "ansi" else None
        env = _make(name, kwargs, obs_encoding=encoding, render_mode=mode, stage_feature=stage_feature)
        seen.append(env)
        return env

    render_test(constructor)
    assert any(env.unwrapped.render_mode == "ansi" for env in seen)
    # the ansi text names the game and shows the stage
    env = _make(name, kwargs, obs_encoding=encoding, render_mode="ansi")
    env.reset()
    text = env.render()
    assert env.metadata["name"] in text and "stage 0/" in text


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_parallel_api(config, encoding, stage_feature):
    name, kwargs = config
    par_env = fairlead.make(name, parallel=True, obs_encoding=encoding, stage_feature=stage_feature, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(par_env, num_cycles=100)
    # parallel_api_test only *warns* when a live agent misses an observation/reward
    problems = [str(w.message) for w in caught if "agent" in str(w.message).lower()]
    assert problems == []


@pytest.mark.parametrize("max_cycles", [1, 4, 7])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_max_cycles_aec(config, max_cycles, stage_feature):
    """The AEC half of pettingzoo.test.max_cycles_test: every agent acts max_cycles times + 1 None step."""
    name, kwargs = config
    env = _make(name, kwargs, max_cycles=max_cycles, stage_feature=stage_feature)
    env.reset(seed=0)
    counts = dict.fromkeys(env.possible_agents, 0)
    none_steps = dict.fromkeys(env.possible_agents, 0)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        counts[agent] += 1
        if terminated or truncated:
            assert terminated and not truncated
            none_steps[agent] += 1
            env.step(None)
        else:
            env.step(env.action_space(agent).sample(obs["action_mask"]))
    assert counts == dict.fromkeys(env.possible_agents, max_cycles + 1)
    assert none_steps == dict.fromkeys(env.possible_agents, 1)
    assert env.agents == []


@pytest.mark.parametrize("max_cycles", [1, 4, 7])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_max_cycles_parallel(config, max_cycles, stage_feature):
    """The phase-based parallel view ends after exactly 2 * max_cycles steps."""
    name, kwargs = config
    par_env = fairlead.make(name, parallel=True, max_cycles=max_cycles, stage_feature=stage_feature, **kwargs)
    obs, _ = par_env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps = 0
    while par_env.agents:
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in par_env.agents}
        obs, rewards, terms, truncs, _ = par_env.step(actions)
        steps += 1
        assert not any(truncs.values())
        done = steps == 2 * max_cycles
        assert all(terms.values()) == done and any(terms.values()) == done, steps
        assert steps <= 2 * max_cycles
    assert steps == 2 * max_cycles


@pytest.mark.parametrize("name", fairlead.list_envs())
def test_pettingzoo_registry(name):
    kwargs = next(kw for n, kw in CONFIGS if n == name)
    env_id = f"fairlead/{name.removesuffix('_v0')}-v0"
    aec = pettingzoo.make("aec", env_id, **kwargs)
    assert aec.metadata["name"] == name
    assert isinstance(aec.unwrapped, pettingzoo.AECEnv)
    assert aec.possible_agents == [f"player_{i}" for i in range(kwargs["n_agents"])]
    api_test(aec, num_cycles=10)
    par = pettingzoo.make("parallel", env_id, **kwargs)
    assert isinstance(par, pettingzoo.ParallelEnv)
    assert par.metadata["name"] == name
    parallel_api_test(par, num_cycles=30)


# --------------------------------------------------- hypothesis-generated matrix games
finite = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def matrix_game_configs(draw):
    k = draw(st.integers(2, 5))
    bimatrix = draw(st.booleans())
    if bimatrix:
        n = 2
        payoff = draw(
            st.lists(st.lists(st.lists(finite, min_size=k, max_size=k), min_size=k, max_size=k), min_size=2, max_size=2)
        )
    else:
        n = draw(st.integers(2, 6))
        payoff = draw(st.lists(st.lists(finite, min_size=k, max_size=k), min_size=k, max_size=k))
    return {
        "payoff": payoff,
        "n_agents": n,
        "max_cycles": draw(st.integers(1, 50)),
        "stage_feature": draw(st.sampled_from(STAGE_FEATURES)),
        "obs_encoding": draw(st.sampled_from(ENCODINGS)),
        "leader": draw(st.sampled_from(["player_0", "round_robin", f"player_{n - 1}", "catch_up", "random"])),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrix_game_configs())
def test_matrix_game_generated(kwargs):
    """The full check of every env (api, seed, render, parallel, step counts) through the horizon."""
    k = np.shape(kwargs["payoff"])[-1]
    assert fairlead.make("matrix_game_v0", **kwargs).action_space("player_0").n == k
    assert_pettingzoo_api(matrix_game_v0, kwargs)
