"""SuperSuit's wrappers on fairlead envs, plain and mediated (default suite: SuperSuit is a core dependency).

Which wrappers apply (docs/libraries/supersuit.md):

* reward and action wrappers keep fairlead's ``{"observation", "action_mask"}``
  dict and work on every env and every mediation mode;
* SuperSuit's observation wrappers need a ``Box``: fold the dict into one
  float ``Box`` first (:func:`fold`, the mask kept as the last entries), then
  ``dtype_v0``, ``normalize_obs_v0``, ``flatten_v0``, ``reshape_v0``,
  ``frame_stack_v1``, ``delay_observations_v0``, ``max_observation_v0``,
  ``pad_observations_v0`` and ``agent_indicator_v0`` apply. ``api_test``
  plays random unmasked actions on a folded env, so these run on envs where
  every action is legal when an agent acts (not the vote phase);
* ``sticky_actions_v0`` and ``frame_skip_v0`` replay an earlier action: fine
  where the action set does not change meaning, not with a vote phase;
* the vector-env route (``pettingzoo_env_to_vec_env_v1``, SB3's entry) takes
  fairlead's phase-based parallel view through
  ``fairlead.integrations.FlatBoxParallelEnv``.
"""

from __future__ import annotations

import numpy as np
import pytest
import supersuit as ss
from conftest import API_TEST_WARNINGS
from gymnasium import spaces
from pettingzoo.test import api_test, parallel_api_test, seed_test

import fairlead
from fairlead.envs.parallel import PhaseParallelEnv
from fairlead.integrations import FlatBoxParallelEnv
from fairlead.mediation import MEDIATOR, MediatedEnv

pytestmark = pytest.mark.filterwarnings(
    *API_TEST_WARNINGS,
    "ignore:The agent .* has an observation space .*:UserWarning",  # SuperSuit's observation wrappers
    # reshape_v0 makes the mediator's observation (returns in [-1, 1]) look like an image to api_test
    "ignore:The observation contains negative numbers and is in the shape of a graphical observation:UserWarning",
)

ENCODINGS = ("discrete", "box")


def chicken(encoding, n_agents=2):
    return fairlead.make("chicken_v0", n_agents=n_agents, max_cycles=3, obs_encoding=encoding)


ENVS = {
    "plain": lambda enc: chicken(enc),
    "selector": lambda enc: fairlead.mediate(chicken(enc), selector="catch_up", transfer=0.5),
    "mediator_agent": lambda enc: fairlead.mediate(chicken(enc), mediator_as_agent=True, transfer=0.5),
    "vote": lambda enc: fairlead.mediate(chicken(enc, n_agents=3), selector="vote", transfer=0.5),
}
ALL_LEGAL = ("plain", "selector", "mediator_agent")  # every action is legal when an agent acts


def fold(env):
    """SuperSuit's observation_lambda_v0: ``{"observation", "action_mask"}`` -> one float32 Box (obs ++ mask)."""

    def space(dict_space):
        obs, mask = dict_space["observation"], dict_space["action_mask"]
        if isinstance(obs, spaces.MultiDiscrete):
            low, high = np.zeros(obs.shape, np.float32), (obs.nvec - 1).astype(np.float32)
        else:
            low, high = obs.low.astype(np.float32), obs.high.astype(np.float32)
        return spaces.Box(
            np.concatenate([low, np.zeros(mask.shape, np.float32)]),
            np.concatenate([high, np.ones(mask.shape, np.float32)]),
            dtype=np.float32,
        )

    def observation(obs, _space):
        return np.concatenate([obs["observation"].astype(np.float32), obs["action_mask"].astype(np.float32)])

    return ss.observation_lambda_v0(env, observation, space)


def folded_size(env) -> int:
    folded = fold(env)
    return max(folded.observation_space(a).shape[0] for a in env.possible_agents)


DICT_KEEPING = {
    "clip_reward_v0": lambda env: ss.clip_reward_v0(env, lower_bound=0, upper_bound=2),
    "reward_lambda_v0": lambda env: ss.reward_lambda_v0(env, lambda reward: 2 * reward),
    "action_lambda_v1": lambda env: ss.action_lambda_v1(env, lambda action, _space: action, lambda space: space),
    "pad_action_space_v0": ss.pad_action_space_v0,
    "nan_noop_v0": lambda env: ss.nan_noop_v0(env, 0),
}
BOX_OBSERVATION = {
    "fold": fold,
    "dtype_v0": lambda env: ss.dtype_v0(fold(env), np.float64),
    "normalize_obs_v0": lambda env: ss.normalize_obs_v0(fold(env), env_min=-1.0, env_max=1.0),
    "flatten_v0": lambda env: ss.flatten_v0(fold(env)),
    # one target shape for all agents: pad first (the mediator agent's observation is shorter)
    "reshape_v0": lambda env: ss.reshape_v0(ss.pad_observations_v0(fold(env)), (folded_size(env), 1)),
    "frame_stack_v1": lambda env: ss.frame_stack_v1(fold(env), 2),
    "delay_observations_v0": lambda env: ss.delay_observations_v0(fold(env), 1),
    "max_observation_v0": lambda env: ss.max_observation_v0(fold(env), 2),
    "pad_observations_v0": lambda env: ss.pad_observations_v0(fold(env)),
    "pad_both": lambda env: ss.pad_action_space_v0(ss.pad_observations_v0(fold(env))),
}
REPLAYING = {
    "sticky_actions_v0": lambda env: ss.sticky_actions_v0(env, repeat_action_probability=0.5),
    "frame_skip_v0": lambda env: ss.frame_skip_v0(env, 2),
}


def episode_rewards(env, seed=0) -> tuple[dict[str, float], dict]:
    """Play one episode with seeded random legal actions: each agent's summed ``last()`` rewards, final info."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        totals[agent] += reward
        legal = np.flatnonzero(obs["action_mask"]) if isinstance(obs, dict) else np.arange(2)
        env.step(None if terminated or truncated else int(rng.choice(legal)))
    return totals, info


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("env_name", ENVS)
@pytest.mark.parametrize("wrapper", DICT_KEEPING)
def test_reward_and_action_wrappers_compose(wrapper, env_name, encoding):
    env = DICT_KEEPING[wrapper](ENVS[env_name](encoding))
    api_test(env, num_cycles=20)
    assert env.observation_space(env.possible_agents[0])["action_mask"] is not None  # the dict survives
    if env_name != "plain":
        assert isinstance(env.unwrapped, MediatedEnv)
        assert env.phase == env.unwrapped.phase  # the protocol stays reachable through the wrapper


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("env_name", ALL_LEGAL)
@pytest.mark.parametrize("wrapper", BOX_OBSERVATION)
def test_observation_wrappers_compose_after_folding(wrapper, env_name, encoding):
    env = BOX_OBSERVATION[wrapper](ENVS[env_name](encoding))
    api_test(env, num_cycles=20)
    env.reset(seed=0)
    for agent in env.possible_agents:
        assert env.observation_space(agent).contains(env.observe(agent))


@pytest.mark.parametrize("env_name", ["plain", "selector"])
def test_agent_indicator_on_box_observations(env_name):
    api_test(ss.agent_indicator_v0(fold(ENVS[env_name]("box"))), num_cycles=20)


def test_agent_indicator_with_the_mediator_agent_needs_padding():
    env = fold(ENVS["mediator_agent"]("box"))
    with pytest.raises(AssertionError, match="pad_observations"):
        ss.agent_indicator_v0(env)
    api_test(ss.agent_indicator_v0(ss.pad_observations_v0(env)), num_cycles=20)


@pytest.mark.parametrize("env_name", ALL_LEGAL)
@pytest.mark.parametrize("wrapper", REPLAYING)
def test_action_replaying_wrappers_compose(wrapper, env_name):
    api_test(REPLAYING[wrapper](ENVS[env_name]("discrete")), num_cycles=20)


def test_padding_gives_the_mediator_agent_the_players_spaces():
    env = ss.pad_action_space_v0(ss.pad_observations_v0(fold(ENVS["mediator_agent"]("box"))))
    first = env.possible_agents[0]
    assert MEDIATOR in env.possible_agents
    for agent in env.possible_agents:  # what Tianshou's wrapper and SuperSuit's vector envs require
        assert env.observation_space(agent) == env.observation_space(first)
        assert env.action_space(agent) == env.action_space(first)


def test_clip_reward_clips_every_agent_including_the_transfer():
    plain = ENVS["selector"]("discrete")
    clipped = ss.clip_reward_v0(ENVS["selector"]("discrete"), lower_bound=0, upper_bound=2)
    (raw, _), (capped, _) = episode_rewards(plain), episode_rewards(clipped)
    assert raw != capped  # Chicken pays 3 and 4: there is something to clip
    assert all(0 <= r <= 2 * 3 for r in capped.values())  # at most 2 per stage over 3 stages


def test_wrappers_inside_the_mediator():
    """mediate(wrapper(game)): the mediator sees (and transfers) the wrapped rewards."""
    for inner in (ss.clip_reward_v0(chicken("discrete"), 0, 2), ss.reward_lambda_v0(chicken("box"), lambda r: r / 4)):
        env = fairlead.mediate(inner, selector="round_robin", transfer=1.0)
        api_test(env, num_cycles=20)
        totals, info = episode_rewards(env)
        after = info["returns_after_transfer"]
        assert len(set(after.values())) == 1  # full transfer: equal after transfer
        assert totals == pytest.approx(after)


def test_seeded_wrapped_envs_are_reproducible():
    seed_test(lambda: ss.frame_stack_v1(fold(ENVS["selector"]("box")), 2), num_cycles=20)
    seed_test(lambda: ss.sticky_actions_v0(ENVS["mediator_agent"]("discrete"), 0.5), num_cycles=20)


# ------------------------------------------------------------------ the vector-env route (SB3's entry)
def flat_parallel(env_name="selector"):
    return FlatBoxParallelEnv(PhaseParallelEnv(ENVS[env_name]("box")))


def test_flat_box_parallel_view_passes_the_parallel_api_test():
    env = flat_parallel()
    parallel_api_test(env, num_cycles=12)
    observations, _ = env.reset(seed=0)
    space = env.observation_space("player_0")
    assert isinstance(space, spaces.Box) and space.dtype == np.float32
    assert all(space.contains(o) for o in observations.values())
    leader_mask = observations["player_0"][-2:]  # the mask is folded in: player_0 acts first
    assert leader_mask.tolist() == [1.0, 1.0] and observations["player_1"][-2:].tolist() == [1.0, 0.0]


def test_flat_box_refuses_what_a_vector_env_cannot_take():
    with pytest.raises(ValueError, match="same spaces"):
        flat_parallel("mediator_agent")
    with pytest.raises(TypeError, match="obs_encoding='box'"):
        FlatBoxParallelEnv(PhaseParallelEnv(ENVS["selector"]("discrete")))


def test_pettingzoo_env_to_vec_env_on_the_flat_parallel_view():
    vec = ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(flat_parallel()), 2, num_cpus=0)
    try:
        observations, _ = vec.reset(seed=0)
        assert observations.shape == (4, vec.observation_space.shape[-1])  # 2 copies x 2 players
        rng = np.random.default_rng(0)
        totals = np.zeros(4)
        steps = 0
        while True:
            observations, rewards, terminations, truncations, infos = vec.step(rng.integers(0, 2, size=4))
            totals += rewards
            steps += 1
            if terminations.all():
                break
            assert not truncations.any()
        assert steps == 6  # 3 stages x 2 phases; the vector env then resets itself
        for slot, agent in enumerate(["player_0", "player_1"] * 2):
            assert totals[slot] == pytest.approx(infos[slot]["returns_after_transfer"][agent])
        assert observations[:, -2:].tolist() == [[1, 1], [1, 0], [1, 1], [1, 0]]  # a new episode began
    finally:
        vec.close()
