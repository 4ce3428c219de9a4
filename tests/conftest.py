"""Shared test helpers: the suite of environments every generic test runs on."""

from __future__ import annotations

import functools
import os
import signal

import pytest
from hypothesis import strategies as st
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test
from support import alive

import fairlead
from fairlead.envs.resource_collection_v0 import PREFERENCES
from fairlead.envs.stackelberg import STAGE_FEATURES

# PettingZoo's api_test warns about every Dict observation (its own classic envs
# too) and, for the mediator agent, about spaces that differ from the players'.
API_TEST_WARNINGS = (
    "ignore:Observation is not a NumPy array:UserWarning",
    "ignore:Observation space for each agent probably should be:UserWarning",
    "ignore:Observation numpy array is all zeros:UserWarning",
    "ignore:We recommend agents to be named:UserWarning",
    "ignore:Agents have different observation space sizes:UserWarning",
    "ignore:Observations are different shapes:UserWarning",
)

# Required or interesting keyword arguments per environment; every registered
# environment is covered (a new module gets the generic tests automatically).
EXAMPLE_KWARGS = {
    "matrix_game_v0": [
        {"payoff": [[2.0, -1.0, 0.5], [3.0, 0.0, -2.0], [1.0, 1.0, 1.0]]},
        {"payoff": [[[3, 0], [5, 1]], [[3, 5], [0, 1]]]},
    ],
}


def suite_configs(n_agents=(2, 4)):
    """(name, kwargs) for every registered env, with 2 and 4 players where allowed."""
    configs = []
    for name in fairlead.list_envs():
        for kwargs in EXAMPLE_KWARGS.get(name, [{}]):
            for n in n_agents:
                bimatrix = name == "battle_of_sexes_v0" or (
                    "payoff" in kwargs and len(kwargs["payoff"]) == 2 and isinstance(kwargs["payoff"][0][0], list)
                )
                if bimatrix and n != 2:
                    continue
                configs.append((name, {**kwargs, "n_agents": n}))
    return configs


def config_id(config):
    name, kwargs = config
    extra = "-bimatrix" if "payoff" in kwargs and isinstance(kwargs["payoff"][0][0], list) else ""
    return f"{name}{extra}-{kwargs.get('n_agents', 2)}p"


def assert_pettingzoo_api(module, kwargs: dict) -> None:
    """pettingzoo.test's AEC, seed, render and parallel checks, and the step counts of a horizon.

    max_cycles_test itself cannot run (its parallel half assumes one step per
    stage and samples without masks): every agent must be selected
    ``max_cycles + 1`` times in the AEC env and the parallel view must take
    exactly 2 steps per stage. ``num_cycles`` covers the whole horizon, so every
    check plays through the end of the game (a parallel stage takes 2 steps).
    """
    horizon = kwargs.get("max_cycles", 10)
    cycles = max(40, 2 * horizon)
    make = functools.partial(module.env, **kwargs)
    api_test(make(), num_cycles=cycles)
    seed_test(make, num_cycles=cycles)
    render_test(lambda render_mode=None: make(render_mode="ansi" if render_mode == "ansi" else None))
    parallel_api_test(module.parallel_env(**kwargs), num_cycles=cycles)
    env = make()
    env.reset(seed=3)
    counts = dict.fromkeys(env.possible_agents, 0)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        counts[agent] += 1
        done = terminated or truncated
        env.step(None if done else env.action_space(agent).sample(obs["action_mask"]))
    assert counts == dict.fromkeys(env.possible_agents, horizon + 1)
    par = module.parallel_env(**kwargs)
    obs, _ = par.reset(seed=3)
    steps = 0
    while par.agents:
        obs, _, terms, truncs, _ = par.step({a: par.action_space(a).sample(obs[a]["action_mask"]) for a in par.agents})
        steps += 1
        assert not any(truncs.values()) and all(terms.values()) == (steps == 2 * horizon)
    assert steps == 2 * horizon


# Hypothesis strategies of constructor arguments, shared by the env tests and the mediated API tests.
@st.composite
def cournot_configs(draw):
    n = draw(st.integers(2, 4))
    c = draw(st.sampled_from([0.0, 0.5, 2.0]))
    return {
        "n_agents": n,
        "a": c + draw(st.floats(0.5, 30.0, allow_nan=False)),
        "b": draw(st.floats(0.1, 4.0, allow_nan=False)),
        "c": c,
        "q_max": draw(st.integers(1, 6 if n < 4 else 3)),
        "max_cycles": draw(st.integers(1, 5)),
        "stage_feature": draw(st.sampled_from(STAGE_FEATURES)),
        "obs_encoding": draw(st.sampled_from(["discrete", "box"])),
        "leader": draw(st.sampled_from(["player_0", "round_robin", f"player_{n - 1}", "catch_up", "random"])),
    }


@st.composite
def resource_collection_configs(draw):
    n = draw(st.integers(2, 5))
    n_fair, n_unfair = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rows = draw(st.integers(1, 4))
    fewest = -(-(n + n_fair + n_unfair) // rows)  # enough cells for agents plus resources
    cols = draw(st.integers(fewest, fewest + 2))
    preference = draw(
        st.one_of(
            st.sampled_from(list(PREFERENCES)),
            st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n),
        )
    )
    return {
        "n_agents": n,
        "grid_size": (rows, cols),
        "n_fair": n_fair,
        "n_unfair": n_unfair,
        "cooperation": draw(st.integers(1, n)),
        "fair_value": draw(st.floats(0.1, 10.0)),
        "unfair_value": draw(st.floats(0.1, 10.0)),
        "unfair_share": draw(st.floats(1 / n, 1.0)),
        "preference": preference,
        "max_cycles": draw(st.integers(1, 6)),
        "stage_feature": draw(st.sampled_from(STAGE_FEATURES)),
        "obs_encoding": draw(st.sampled_from(["discrete", "box"])),
        "leader": draw(st.sampled_from(["player_0", "round_robin", f"player_{n - 1}", "catch_up", "random"])),
    }


@pytest.fixture
def started():
    """The processes a test starts, killed at its end if still there (a failed test leaves none behind)."""
    pids = []
    yield pids
    for pid in alive(pids):
        os.kill(pid, signal.SIGKILL)
