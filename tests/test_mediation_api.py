"""PettingZoo's API checks on mediated versions of every suite env, for every leader-choice mode.

Generic over ``suite_configs()``: a new env is covered without touching this
file. Every mode runs without transfer (discrete observations) and with
transfer 0.5 (box observations), so both encodings meet every mode.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test

import fairlead
from conftest import API_TEST_WARNINGS, config_id, suite_configs
from fairlead.envs.parallel import PhaseParallelEnv

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

MAX_CYCLES = 3
MODES = {
    "fixed": {"selector": "fixed", "leader": "player_1"},
    "round_robin": {"selector": "round_robin"},
    "random": {"selector": "random", "seed": 3},
    "catch_up": {"selector": "catch_up"},
    "vote": {"selector": "vote"},
    "learned": {"selector": "learned", "policy": lambda obs: int(obs[0]) % 2},
    "mediator_agent": {"mediator_as_agent": True},
}
PHASES_PER_STAGE = {mode: 3 if mode in ("vote", "mediator_agent") else 2 for mode in MODES}
SETTINGS = [(0.0, "discrete"), (0.5, "box")]
CASES = [(c, mode, s) for c in suite_configs() for mode in MODES for s in SETTINGS]
IDS = [f"{config_id(c)}-{mode}-beta{s[0]}-{s[1]}" for c, mode, s in CASES]


def make_mediated(config, mode, setting, render_mode=None, max_cycles=MAX_CYCLES):
    name, kwargs = config
    transfer, encoding = setting
    base = fairlead.make(name, **{**kwargs, "max_cycles": max_cycles, "obs_encoding": encoding,
                                  "render_mode": render_mode})
    return fairlead.mediate(base, transfer=transfer, **MODES[mode])


@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_api_and_render(config, mode, setting):
    env = make_mediated(config, mode, setting)
    api_test(env, num_cycles=12)
    assert env.unwrapped is env

    def constructor(render_mode=None):
        # render_test first asks for "human"; the suite renders "ansi" only
        return make_mediated(config, mode, setting, render_mode="ansi" if render_mode == "ansi" else None)

    render_test(constructor)
    env = constructor("ansi")
    env.reset(seed=0)
    assert "mediator" in env.render() and env.metadata["name"].startswith("mediated_")


@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_seed(config, mode, setting):
    seed_test(functools.partial(make_mediated, config, mode, setting), num_cycles=12)


@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_parallel_api(config, mode, setting):
    par_env = PhaseParallelEnv(make_mediated(config, mode, setting))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(par_env, num_cycles=12)
    problems = [str(w.message) for w in caught if "agent" in str(w.message).lower()
                and "recommend agents to be named" not in str(w.message)]
    assert problems == []


@pytest.mark.parametrize("max_cycles", [1, 4])
@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_max_cycles(config, mode, setting, max_cycles):
    """AEC half of max_cycles_test, plus the parallel view's step count."""
    env = make_mediated(config, mode, setting, max_cycles=max_cycles)
    env.reset(seed=0)
    acts_per_stage = 2 if mode == "vote" else 1  # a voter acts twice per stage
    counts = dict.fromkeys(env.possible_agents, 0)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        counts[agent] += 1
        if terminated or truncated:
            assert terminated and not truncated
            env.step(None)
        else:
            env.step(env.action_space(agent).sample(obs["action_mask"]))
    players = [a for a in env.possible_agents if a != "mediator"]
    expected = dict.fromkeys(players, acts_per_stage * max_cycles + 1)
    if mode == "mediator_agent":
        expected["mediator"] = max_cycles + 1
    assert counts == expected and env.agents == []

    par_env = PhaseParallelEnv(make_mediated(config, mode, setting, max_cycles=max_cycles))
    obs, _ = par_env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, total = 0, PHASES_PER_STAGE[mode] * max_cycles
    while par_env.agents:
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in par_env.agents}
        obs, _, terms, truncs, _ = par_env.step(actions)
        steps += 1
        assert not any(truncs.values()) and all(terms.values()) == (steps == total)
        assert steps <= total
    assert steps == total
