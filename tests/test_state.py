"""The global state (``state()``, ``state_space``) of every env, its parallel view and the mediated env.

Generic over ``suite_configs()`` and over the mediated cases of
``test_mediation_api`` (every selector and the mediator agent): a new env or
selector is covered without touching this file, except that an env with a
game-specific part of the state adds its expectation to ``GAME_STATE``.
PettingZoo's ``api_test`` and ``parallel_api_test`` never call ``state()``;
its ``state_test`` does (and samples actions without masks, so its AEC half
runs where every sampled action is legal; the masked episodes here cover the rest).
"""

from __future__ import annotations

import importlib
import itertools
import warnings

import numpy as np
import pytest
from conftest import API_TEST_WARNINGS, config_id, cournot_configs, resource_collection_configs, suite_configs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_envs_api import matrix_game_configs
from test_mediation_api import CASES, IDS, MODES, MeetEnv, make_mediated

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.envs.stackelberg import StackelbergEnv
from fairlead.mediation.mediator import MediatedEnv

# the module, not the function of the same name that pettingzoo.test exports
pz_state = importlib.import_module("pettingzoo.test.state_test")

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)

ENCODINGS = ("discrete", "box")
CONFIGS = suite_configs()
CONFIG_IDS = [config_id(c) for c in CONFIGS]
# the game-specific codes at the end of the state, per env (default: none)
GAME_STATE = {
    "resource_collection_v0": lambda raw: list(
        itertools.chain(*raw.positions.values(), *raw.resources["fair"], *raw.resources["unfair"])
    ),
}


def _make(name, kwargs, **extra):
    return fairlead.make(name, **{**kwargs, **extra})


@pytest.fixture(params=ENCODINGS)
def encoding(request):
    return request.param


# ------------------------------------------------------------------ reading a state
def decode(vector: np.ndarray, nvec, encoding: str) -> np.ndarray:
    """The discrete codes of ``vector`` (numbers, or one-hot segments of sizes ``nvec``), each checked."""
    nvec = np.asarray(nvec, dtype=np.int64)
    if encoding == "discrete":
        codes = vector.astype(np.int64)
        assert np.array_equal(codes, vector) and len(codes) == len(nvec)
        assert np.all((codes >= 0) & (codes < nvec))
        return codes
    assert len(vector) == nvec.sum()
    if not len(nvec):
        return np.zeros(0, np.int64)
    segments = np.split(vector, np.cumsum(nvec)[:-1])
    for segment in segments:
        assert set(segment.tolist()) <= {0.0, 1.0} and segment.sum() == 1, vector
    return np.array([segment.argmax() for segment in segments])


def expected_codes(raw) -> list[int]:
    """What the state's codes must be, read from the env's public attributes."""
    n = len(raw.possible_agents)
    leader = 0 if raw.leader is None else raw.agent_name_mapping[raw.leader] + 1
    seen = 0 if raw.leader_action is None else raw.leader_action + 1
    last = [0] * n if raw.last_stage is None else [a + 1 for a in raw.last_stage.actions.values()]
    game = GAME_STATE.get(raw.metadata["name"], lambda _: [])(raw)
    return [raw.stage, leader, seen, *last, *game]


def check_env_state(env) -> np.ndarray:
    """``env``'s state (plain env, raw or wrapped), checked against everything it encodes."""
    raw = env.unwrapped
    state = env.state()
    assert state.dtype == np.float32 and raw.state_space.contains(state)
    assert env.state_space is raw.state_space  # built once
    assert np.array_equal(env.state(), state)  # asking changes nothing
    n = len(raw.possible_agents)
    assert decode(state[:-n], raw.state_nvec, raw.obs_encoding).tolist() == expected_codes(raw)
    np.testing.assert_array_equal(state[-n:], np.float32(list(raw.episode_returns.values())))
    return state


def check_mediated_state(env) -> np.ndarray:
    """A mediated env's state: the wrapped env's, the mediator's observation, the flag, own histories."""
    state = env.state()
    assert state.dtype == np.float32 and env.state_space.contains(state)
    assert np.array_equal(env.state(), state)
    game, encoding, n = env.env.unwrapped, env.obs_encoding, len(env.players)
    inner_size = env.env.state_space.shape[0]
    inner = check_env_state(env.env)
    np.testing.assert_array_equal(state[:inner_size], inner)
    codes = decode(inner[:-n], game.state_nvec, encoding)
    assert codes[1] == (0 if env.leader is None else env.player_index[env.leader] + 1)  # the mediated leader
    np.testing.assert_array_equal(inner[-n:], np.float32(list(env.episode_returns.values())))
    rest = state[inner_size:]
    size = env.mediator_observation.space.shape[0]
    mediator = env.mediator_observation.encode(*env.observation_inputs())
    np.testing.assert_array_equal(rest[:size], mediator.astype(np.float32))
    if env.mediator_as_agent:
        np.testing.assert_array_equal(rest[:size], env.observe("mediator")["observation"].astype(np.float32))
    flag = [2] if env.leader_phase.name else []
    history = list(env.agent_history.nvec)
    own = decode(rest[size:], flag + history * n, encoding)
    if flag:
        assert own[0] == int(env.phase == env.leader_phase.name)
    if history:  # each player's part is what its own observation shows
        tail = history + ([2] if env.leader_phase.player_flag else [])
        width = len(tail) if encoding == "discrete" else sum(tail)
        for i, player in enumerate(env.players):
            seen = decode(env.observe(player)["observation"][-width:], tail, encoding)[: len(history)]
            start = len(flag) + i * len(history)
            assert own[start : start + len(history)].tolist() == seen.tolist()
    return state


def play(env, seed: int, check) -> list[np.ndarray]:
    """One AEC episode of masked random actions (seeded); ``check(env)`` after reset and after every step.

    Also checks that the state changes only when the phase or the stage does
    (a follower's or a voter's action stays hidden until its phase ends).
    """
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    states = [check(env)]
    for _agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        where = (env.unwrapped.stage, env.unwrapped.phase)
        env.step(None if terminated or truncated else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        states.append(check(env))
        if (env.unwrapped.stage, env.unwrapped.phase) == where:
            np.testing.assert_array_equal(states[-1], states[-2])
    return states


def assert_parallel_matches_aec(make_aec, seed: int = 0) -> None:
    """The parallel view's state after every step is the AEC env's after the same phase."""
    par, aec = PhaseParallelEnv(make_aec()), make_aec()
    assert par.state_space == aec.state_space
    rng = np.random.default_rng(seed)
    obs, _ = par.reset(seed=seed)
    aec.reset(seed=seed)
    np.testing.assert_array_equal(par.state(), aec.state())
    while par.agents:
        acting = list(par.aec_env.acting_agents)
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in par.agents}
        obs, *_ = par.step(actions)
        for agent in acting:
            aec.step(actions[agent])
        assert par.state_space.contains(par.state())
        np.testing.assert_array_equal(par.state(), aec.state())


def pettingzoo_state_test(env, par, cycles: int, unmasked_ok: bool) -> None:
    """PettingZoo's state_test (its AEC half only if unmasked sampling is legal), with no state warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if unmasked_ok:
            pz_state.state_test(env, par, num_cycles=cycles)
        else:
            pz_state.test_state_space(env)
            pz_state.test_parallel_env(par)
    assert [str(w.message) for w in caught if "state" in str(w.message).lower()] == []


def every_action_legal(raw) -> bool:
    """Whether the game never masks an acting agent's action (the base class's default)."""
    return type(raw)._legal_actions is StackelbergEnv._legal_actions


# ------------------------------------------------------------------ plain envs
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_state_through_episodes(config, encoding):
    name, kwargs = config
    for seed in range(3):
        states = play(_make(name, kwargs, obs_encoding=encoding), seed, check_env_state)
        again = play(_make(name, kwargs, obs_encoding=encoding), seed, check_env_state)
        assert all(np.array_equal(a, b) for a, b in zip(states, again)) and len(states) == len(again)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_state_layout(config, encoding):
    """Sizes: the codes' nvec, then one return per agent; discrete codes as numbers, box as one-hot."""
    name, kwargs = config
    raw = _make(name, kwargs, obs_encoding=encoding).unwrapped
    n, k = len(raw.possible_agents), raw.num_actions
    game = len(raw.state_nvec) - 3 - n
    assert raw.state_nvec[: 3 + n].tolist() == [raw.max_cycles + 1, n + 1, k + 1] + [k + 1] * n
    assert (game > 0) == (name in GAME_STATE)
    width = len(raw.state_nvec) if encoding == "discrete" else raw.state_nvec.sum()
    assert raw.state_space.shape == (width + n,) and raw.state_space.dtype == np.float32
    low, high = raw.stage_reward_range
    assert raw.state_space.low[-1] <= min(0.0, raw.max_cycles * low)
    assert raw.state_space.high[-1] >= max(0.0, raw.max_cycles * high)


def test_returns_rounded_to_float32_stay_in_the_box():
    """A float64 sum of stage rewards can round, in float32, one step past float32(max_cycles * highest)."""
    high = 0.8660239832741873  # found by search: 7 stages of mean pairwise rewards land there
    env = fairlead.make("matrix_game_v0", payoff=[[high, high], [high, 0.0]], n_agents=5, max_cycles=7)
    env.reset(seed=0)
    for _ in env.agent_iter():
        _, _, terminated, truncated, _ = env.last()
        env.step(None if terminated or truncated else 0)
    state = check_env_state(env)
    assert np.all(state[-5:] > np.float32(7 * high))


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_parallel_view_state(config, encoding):
    name, kwargs = config
    par = fairlead.make(name, parallel=True, obs_encoding=encoding, **kwargs)
    assert par.state_space is par.aec_env.unwrapped.state_space
    assert_parallel_matches_aec(lambda: _make(name, kwargs, obs_encoding=encoding))


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_pettingzoo_state_test(config, encoding):
    name, kwargs = config
    env = _make(name, kwargs, obs_encoding=encoding)
    par = fairlead.make(name, parallel=True, obs_encoding=encoding, **kwargs)
    pettingzoo_state_test(env, par, env.unwrapped.max_cycles + 2, every_action_legal(env.unwrapped))


@pytest.mark.parametrize(
    "name, configs",
    [
        ("matrix_game_v0", matrix_game_configs()),
        ("cournot_v0", cournot_configs()),
        ("resource_collection_v0", resource_collection_configs()),
    ],
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_configurations(name, configs, data):
    kwargs = data.draw(configs, label="kwargs")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    env = fairlead.make(name, **kwargs)
    states = play(env, seed, check_env_state)
    assert len(states) == len(env.possible_agents) * (kwargs["max_cycles"] + 1) + 1  # through the end


# ------------------------------------------------------------------ mediated envs
@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_mediated_state_through_episodes(config, mode, setting):
    states = play(make_mediated(config, mode, setting), 0, check_mediated_state)
    again = play(make_mediated(config, mode, setting), 0, check_mediated_state)
    assert len(states) == len(again) and all(np.array_equal(a, b) for a, b in zip(states, again))
    assert_parallel_matches_aec(lambda: make_mediated(config, mode, setting))


@pytest.mark.parametrize("config, mode, setting", CASES, ids=IDS)
def test_mediated_pettingzoo_state_test(config, mode, setting):
    env = make_mediated(config, mode, setting)
    unmasked_ok = mode != "vote" and every_action_legal(env.env.unwrapped)  # votes are agent indices
    pettingzoo_state_test(
        env, PhaseParallelEnv(make_mediated(config, mode, setting)), 2 * env.max_cycles + 2, unmasked_ok
    )


@pytest.mark.parametrize(
    "name, configs",
    [
        ("cournot_v0", cournot_configs()),
        ("resource_collection_v0", resource_collection_configs()),
    ],
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_configurations_mediated(name, configs, data):
    kwargs = data.draw(configs, label="kwargs")
    mode = data.draw(st.sampled_from(list(MODES)), label="mode")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    env = fairlead.make(name, **kwargs)
    # a game whose every stage pays the same (return_scale 0) has no default reward for the mediator agent
    assume(mode != "mediator_agent" or env.unwrapped.return_scale > 0)
    play(fairlead.mediate(env, **MODES[mode]), seed, check_mediated_state)


def test_mediated_env_over_an_env_without_a_state_has_none():
    """A user env without state_space: no state_space (hasattr False, as PettingZoo tests), state() says why."""
    env = fairlead.mediate(MeetEnv(), selector="round_robin")
    par = PhaseParallelEnv(fairlead.mediate(MeetEnv(), selector="round_robin"))
    assert not hasattr(env, "state_space") and not hasattr(par, "state_space")
    env.reset()
    par.reset()
    for state in (env.state, par.state):
        with pytest.raises(NotImplementedError, match="no global state"):
            state()


# ------------------------------------------------------------------ speed
def test_stepping_never_computes_the_state(monkeypatch):
    """state() is computed on request only, so the envs' speed does not depend on it."""

    def refuse(self):
        raise AssertionError("state() was computed without being asked for")

    monkeypatch.setattr(StackelbergEnv, "state", refuse)
    monkeypatch.setattr(MediatedEnv, "state", refuse)
    for name, kwargs in CONFIGS:
        play(_make(name, kwargs, max_cycles=3), 0, lambda env: None)
        par = fairlead.make(name, parallel=True, max_cycles=3, **kwargs)
        obs, _ = par.reset(seed=0)
        while par.agents:
            obs, *_ = par.step({a: int(np.flatnonzero(obs[a]["action_mask"])[0]) for a in par.agents})
        for mode in ("vote", "mediator_agent"):
            play(fairlead.mediate(_make(name, kwargs, max_cycles=3), **MODES[mode]), 0, lambda env: None)
