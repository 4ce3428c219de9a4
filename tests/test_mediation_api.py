"""PettingZoo's API checks on mediated versions of every suite env, for every leader-choice mode.

Generic over ``suite_configs()``: a new env is covered without touching this
file. Every (env, mode) case runs twice, with transfer on and off and with
both observation encodings (transfer on also switches on the players' own
history features, see ``make_mediated``); the two pairings alternate between neighbouring
cases, so every mode and every env meet all four (transfer, encoding)
combinations at the cost of two. Also here: generated Cournot and resource
collection configurations, mediated, and a user-written env (a plain
``AECEnv`` with the documented Stackelberg protocol, no fairlead base class).
"""

from __future__ import annotations

import functools
import itertools
import warnings

import numpy as np
import pytest
from conftest import API_TEST_WARNINGS, config_id, cournot_configs, resource_collection_configs, suite_configs
from gymnasium import spaces
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pettingzoo import AECEnv
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.envs.stackelberg import StackelbergEnv, StageRecord
from fairlead.mediation import SELECTORS
from fairlead.mediation.observation import AGENT_HISTORY_FEATURES

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

MAX_CYCLES = 3
# every registered selector (a new one is tested as soon as it is registered), with the arguments
# the ones below need or make more telling, and the mediator agent
SELECTOR_ARGS = {
    "fixed": {"leader": "player_1"},
    "random": {"seed": 3},
    "learned": {"policy": lambda obs: int(obs[0]) % 2},
}
MODES = {
    **{name: {"selector": name, **SELECTOR_ARGS.get(name, {})} for name in SELECTORS},
    "mediator_agent": {"mediator_as_agent": True},
}
PHASES_PER_STAGE = {
    mode: 3 if mode == "mediator_agent" or getattr(SELECTORS.get(mode), "vote_phase", False) else 2 for mode in MODES
}
SETTINGS = list(itertools.product((0.0, 0.5), ("discrete", "box")))  # (transfer, obs_encoding)
PAIRINGS = [((0.0, "discrete"), (0.5, "box")), ((0.5, "discrete"), (0.0, "box"))]
CASES = [
    (config, mode, setting)
    for i, config in enumerate(suite_configs())
    for j, mode in enumerate(MODES)
    for setting in PAIRINGS[(i + j) % 2]
]
IDS = [f"{config_id(c)}-{mode}-beta{s[0]}-{s[1]}" for c, mode, s in CASES]


def test_cases_cross_transfer_with_encoding():
    """Every mode and every env meet transfer on and off with both encodings."""
    for mode in MODES:
        assert {s for _, m, s in CASES if m == mode} == set(SETTINGS), mode
    for config in suite_configs():
        assert {s for c, _, s in CASES if c == config} == set(SETTINGS), config_id(config)


def make_mediated(config, mode, setting, render_mode=None, max_cycles=MAX_CYCLES):
    """Transfer "on" (0.5) also appends every agent-history feature to the players' observations, and
    uses the return-based rule with the discrete encoding and the action-based one with the box encoding,
    so every mode and env meet both rules."""
    name, kwargs = config
    transfer, encoding = setting
    base = fairlead.make(
        name, **{**kwargs, "max_cycles": max_cycles, "obs_encoding": encoding, "render_mode": render_mode}
    )
    extra = {}
    if transfer:
        extra["agent_history"] = AGENT_HISTORY_FEATURES
        transfer = transfer if encoding == "discrete" else ("unfair_advantage", 2 * transfer)
    return fairlead.mediate(base, transfer=transfer, **extra, **MODES[mode])


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
    problems = [
        str(w.message)
        for w in caught
        if "agent" in str(w.message).lower() and "recommend agents to be named" not in str(w.message)
    ]
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


# --------------------------------------------------------- generated configurations
@pytest.mark.parametrize(
    "name, configs",
    [
        ("cournot_v0", cournot_configs()),
        ("resource_collection_v0", resource_collection_configs()),
    ],
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_configurations_mediated(name, configs, data):
    kwargs = data.draw(configs, label="kwargs")
    mode = data.draw(st.sampled_from(list(MODES)), label="mode")
    transfer = data.draw(st.sampled_from([0.0, 0.5]), label="transfer")
    # a game that pays everyone the same (e.g. Cournot with a = 1, c = 0, q_max = 1) has no fairness to reward:
    # mediate() refuses the mediator agent's default metric on it with a clear error, not this test's subject
    assume(mode != "mediator_agent" or fairlead.make(name, **kwargs).unwrapped.return_scale > 0)

    def build():
        return fairlead.mediate(fairlead.make(name, **kwargs), transfer=transfer, **MODES[mode])

    cycles = PHASES_PER_STAGE[mode] * kwargs["max_cycles"] + 1  # through the end of the game
    api_test(build(), num_cycles=cycles)
    parallel_api_test(PhaseParallelEnv(build()), num_cycles=cycles)


# ------------------------------------------------------------------ a user-written env
class MeetEnv(AECEnv):
    """Exactly the documented protocol (docs/stackelberg-protocol.md), written without StackelbergEnv.

    Each agent picks a place (2 actions); a follower earns 1 for meeting the
    leader, the leader the share of followers that met it.
    """

    metadata = {"name": "meet_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents=3, max_cycles=3):
        super().__init__()
        self.possible_agents = [f"player_{i}" for i in range(n_agents)]
        self.max_cycles, self.obs_encoding = max_cycles, "discrete"
        self.return_scale = float(max_cycles)  # stage rewards lie in [0, 1]
        self._obs_space = spaces.Dict(
            {
                "observation": spaces.MultiDiscrete([2, 3, max_cycles + 1]),
                "action_mask": spaces.Box(0, 1, (2,), np.int8),
            }
        )
        self._action_space = spaces.Discrete(2)

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._action_space

    def reset(self, seed=None, options=None):
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.stage, self.last_stage = 0, None
        self.episode_returns = dict.fromkeys(self.agents, 0.0)
        self._open_stage()

    def _open_stage(self):
        self.phase, self.actions = "lead", {}
        self.leader = self.agent_selection = self.possible_agents[0]  # built-in rule: player_0 leads

    @property
    def acting_agents(self):
        if self.phase == "lead":
            return [self.leader]
        return [a for a in self.possible_agents if a != self.leader] if self.phase == "follow" else []

    def set_leader(self, agent):
        if agent not in self.possible_agents:
            raise ValueError(f"cannot make {agent!r} the leader; valid agents are {self.possible_agents}")
        if self.phase != "lead":
            raise RuntimeError(f"the leader can only be set in phase 'lead', not {self.phase!r}")
        self.leader = self.agent_selection = agent

    def observe(self, agent):
        seen = self.actions[self.leader] + 1 if self.phase == "follow" else 0
        mask = [1, 1] if agent in self.acting_agents else [1, 0]
        return {
            "observation": np.array([int(agent != self.leader), seen, self.stage], np.int64),
            "action_mask": np.array(mask, np.int8),
        }

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        self._cumulative_rewards[agent] = 0.0
        self.actions[agent] = int(action)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.phase = "follow"
        waiting = [a for a in self.acting_agents if a not in self.actions]
        if waiting:
            self.agent_selection = waiting[0]
        else:
            self._complete_stage()
        self._accumulate_rewards()

    def _complete_stage(self):
        met = {a: float(self.actions[a] == self.actions[self.leader]) for a in self.agents}
        met[self.leader] = (sum(met.values()) - 1) / (len(self.agents) - 1)
        self.rewards = met
        self.episode_returns = {a: self.episode_returns[a] + met[a] for a in self.agents}
        self.last_stage = StageRecord(self.stage, self.leader, dict(self.actions), met, True)
        self.stage += 1
        for info in self.infos.values():
            info.update(stage=self.stage, leader=self.leader, last_stage=self.last_stage.as_dict())
        if self.stage < self.max_cycles:
            self._open_stage()
        else:
            self.phase = "done"
            self.terminations = dict.fromkeys(self.agents, True)
            self.agent_selection = self.agents[0]


@pytest.mark.filterwarnings("ignore:Environment has not defined a render:UserWarning")  # none needed
@pytest.mark.parametrize("mode", MODES)
def test_user_env_with_the_documented_protocol_can_be_mediated(mode):
    assert not isinstance(MeetEnv(), StackelbergEnv)
    api_test(MeetEnv(), num_cycles=12)
    for transfer in (0.0, 0.5):
        api_test(fairlead.mediate(MeetEnv(), transfer=transfer, **MODES[mode]), num_cycles=12)
        parallel_api_test(
            PhaseParallelEnv(fairlead.mediate(MeetEnv(), transfer=transfer, **MODES[mode])), num_cycles=12
        )
    env = fairlead.mediate(MeetEnv(), **MODES[mode])
    env.reset(seed=0)
    for _agent in env.agent_iter():
        obs, _, terminated, truncated, info = env.last()
        env.step(None if terminated or truncated else int(np.flatnonzero(obs["action_mask"])[-1]))
    expected = {"fixed": ["player_1"] * 3, "round_robin": ["player_0", "player_1", "player_2"]}
    if mode in expected:  # the mediator's choice reached the user env through set_leader
        assert info["leaders"] == expected[mode]
    assert [info["returns_before_transfer"][p] for p in env.players] == [3.0, 3.0, 3.0]  # all met


def test_user_env_missing_a_protocol_attribute_is_a_clear_error():
    class NoEncoding(MeetEnv):
        def __init__(self):
            super().__init__()
            del self.obs_encoding

    class NoReturns(MeetEnv):
        def reset(self, seed=None, options=None):
            super().reset(seed, options)
            del self.episode_returns

    with pytest.raises(TypeError, match=r"NoEncoding does not follow the Stackelberg protocol \(missing: obs_encoding"):
        fairlead.mediate(NoEncoding())
    env = fairlead.mediate(NoReturns())  # what it needs to build is there; the rest is checked at reset
    with pytest.raises(TypeError, match=r"NoReturns .* \(missing: episode_returns\); .*stackelberg-protocol.md"):
        env.reset()
