"""Mediated envs compose with PettingZoo's and SuperSuit's AEC wrappers, inside and outside."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import supersuit
from conftest import API_TEST_WARNINGS
from gymnasium import spaces
from pettingzoo.test import api_test, parallel_api_test, seed_test
from pettingzoo.utils.wrappers import AssertOutOfBoundsWrapper, OrderEnforcingWrapper

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.mediation import MEDIATOR, MediatedEnv

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

MODES = {
    "vote": {"selector": "vote", "transfer": 0.5},
    "mediator_agent": {"mediator_as_agent": True, "transfer": 0.5},
    "catch_up": {"selector": "catch_up"},
}


def play(env, seed=0):
    """One episode with seeded random legal actions; the sum of each agent's last() rewards."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        totals[agent] += reward
        legal = np.flatnonzero(obs["action_mask"])
        env.step(None if terminated or truncated else int(rng.choice(legal)))
    return totals


@pytest.mark.parametrize("mode", MODES)
def test_pettingzoo_wrappers_outside(mode):
    def build():
        inner = fairlead.make("resource_collection_v0", n_agents=2, max_cycles=3)
        return OrderEnforcingWrapper(AssertOutOfBoundsWrapper(fairlead.mediate(inner, **MODES[mode])))

    env = build()
    api_test(env, num_cycles=10)
    seed_test(build, num_cycles=10)
    assert isinstance(env.unwrapped, MediatedEnv)
    assert env.phase == env.unwrapped.phase  # the protocol is reachable through wrappers
    parallel_api_test(PhaseParallelEnv(build()), num_cycles=12)
    totals = play(env)
    assert env.unwrapped.last_stage.stage == 2 and env.agents == []
    assert sum(totals[p] for p in env.unwrapped.players) == pytest.approx(
        sum(env.unwrapped.episode_returns.values())
    )  # the transfer is zero-sum


@pytest.mark.parametrize("raw", [True, False])
def test_raw_and_wrapped_inner_envs(raw):
    env = fairlead.mediate(fairlead.make("cournot_v0", n_agents=3, max_cycles=3, raw=raw), "random", seed=0)
    api_test(env, num_cycles=10)
    assert play(env, seed=1) == play(env, seed=1)


def test_supersuit_reward_wrapper_inside():
    """A reward wrapper under the mediator: the mediator sees (and transfers) the wrapped rewards."""

    def build(selector):
        inner = fairlead.make("chicken_v0", max_cycles=4)
        inner = supersuit.clip_reward_v0(inner, lower_bound=0, upper_bound=2)
        return fairlead.mediate(inner, selector, transfer=1.0)

    env = build("fixed")
    api_test(env, num_cycles=10)
    seed_test(functools.partial(build, "random"), num_cycles=10)
    totals = play(env)
    clipped, own = env.episode_returns, env.env.unwrapped.episode_returns
    assert all(clipped[p] <= min(own[p], 2 * 4) for p in env.players)  # stage rewards clipped to 2
    assert totals == pytest.approx(dict.fromkeys(env.players, np.mean(list(env.episode_returns.values()))))


@pytest.mark.parametrize("mode", MODES)
def test_supersuit_reward_wrapper_outside(mode):
    env = supersuit.clip_reward_v0(
        fairlead.mediate(fairlead.make("chicken_v0", n_agents=3, max_cycles=3), **MODES[mode]),
        lower_bound=-1,
        upper_bound=1,
    )
    api_test(env, num_cycles=10)
    env.reset(seed=0)
    for _agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        assert -1 <= reward <= 1 * len(env.possible_agents)  # clipped per step, summed by last()
        env.step(None if terminated or truncated else int(np.flatnonzero(obs["action_mask"])[0]))
    assert all(-1 <= r <= 1 for r in env.rewards.values())


def test_supersuit_observation_and_dtype_wrappers_outside():
    """Unpack the dict observation (as for a library without masks), then change its dtype."""
    env = fairlead.mediate(fairlead.make("chicken_v0", max_cycles=3, obs_encoding="box"), "round_robin")
    unpacked = supersuit.observation_lambda_v0(
        env, lambda obs, space: obs["observation"], lambda space: space["observation"]
    )
    as_double = supersuit.dtype_v0(unpacked, np.float64)
    assert as_double.observation_space("player_0").dtype == np.float64
    api_test(as_double, num_cycles=10)
    as_double.reset(seed=0)
    assert as_double.observe("player_1").dtype == np.float64


def test_supersuit_pad_action_space_with_the_mediator_agent():
    """Libraries that need one action space for all agents: pad the players' and the mediator's."""
    env = fairlead.mediate(fairlead.make("chicken_v0", n_agents=4, max_cycles=3), mediator_as_agent=True)
    assert env.action_space("player_0") != env.action_space(MEDIATOR)
    padded = supersuit.pad_action_space_v0(env)
    assert all(padded.action_space(a) == spaces.Discrete(4) for a in padded.possible_agents)
    totals = play(padded)
    assert set(totals) == {"player_0", "player_1", "player_2", "player_3", MEDIATOR}
    assert padded.agents == [] and env.last_stage.stage == 2
