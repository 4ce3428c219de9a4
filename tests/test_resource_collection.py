"""resource_collection_v0: collection rules, pay, preferences, respawn, fair-action rule, API, bad input."""

from __future__ import annotations

import numpy as np
import pettingzoo
import pytest
from conftest import API_TEST_WARNINGS, assert_pettingzoo_api, resource_collection_configs
from hypothesis import HealthCheck, given, settings

import fairlead
from fairlead.envs import resource_collection_v0 as rc

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)
STAY, UP, DOWN, LEFT, RIGHT = rc.STAY, rc.UP, rc.DOWN, rc.LEFT, rc.RIGHT


def make(layout, seed=0, **kwargs):
    env = rc.env(layout=layout, **kwargs)
    env.reset(seed=seed)
    return env


def stage(env, moves: dict[str, int]):
    """Play one stage with a move per agent (leader first, then followers in AEC order).

    In an env built with ``leader=None`` the first agent of ``moves`` is made the leader.
    """
    if env.unwrapped.leader is None:
        env.unwrapped.set_leader(next(iter(moves)))
    for _ in moves:
        env.step(moves[env.agent_selection])
    return env.unwrapped.last_stage


# ----------------------------------------------------------------------- scripted episode
def test_scripted_episode_with_known_rewards():
    layout = {"agents": [[0, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[1, 1]]}
    env = make(layout, max_cycles=5, render_mode="ansi", leader=None)  # stage() sets each leader
    raw = env.unwrapped
    # stage 0: the leader walks onto the fair resource alone, nothing is collected
    record = stage(env, {"player_0": RIGHT, "player_1": UP})
    assert record.rewards == {"player_0": 0.0, "player_1": 0.0} and record.leader_fair
    # stage 1: the follower steps on the unfair resource alone: still nothing
    record = stage(env, {"player_0": STAY, "player_1": LEFT})
    assert record.rewards == {"player_0": 0.0, "player_1": 0.0} and record.leader_fair
    assert raw.positions == {"player_0": (0, 1), "player_1": (1, 1)}
    # stage 2: both on the fair resource: 4 / 2 each; it respawns on a free cell
    record = stage(env, {"player_0": STAY, "player_1": UP})
    assert record.rewards == {"player_0": 2.0, "player_1": 2.0} and record.leader_fair
    new_fair = raw.resources["fair"][0]
    assert new_fair not in {(0, 1), (1, 1)} and raw.resources["unfair"] == [(1, 1)]
    # stage 3: both step down on the unfair resource: leader 0.75 * 4, follower 0.25 * 4
    record = stage(env, {"player_0": DOWN, "player_1": DOWN})
    assert record.rewards == {"player_0": 3.0, "player_1": 1.0}
    # ending on the unfair resource is an unfair leader move, whatever else the move does
    assert record.leader_fair is False
    # stage 4: player_1 leads; both wait on the empty cell (the resource respawned away)
    record = stage(env, {"player_1": STAY, "player_0": STAY})
    assert record.rewards == {"player_0": 0.0, "player_1": 0.0} and record.leader_fair
    assert raw.episode_returns == {"player_0": 5.0, "player_1": 3.0}
    assert all(env.terminations.values()) and raw.phase == "done"
    text = env.render()
    assert "0,1" in text and "F" in text and "U" in text and "returns: player_0=5, player_1=3" in text


# --------------------------------------------------------------------- collection and pay
def test_collection_needs_cooperation():
    layout = {"agents": [[0, 0], [0, 2], [2, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[2, 1]]}
    env = make(layout, n_agents=4, cooperation=3, grid_size=(3, 3))
    record = stage(env, {"player_0": RIGHT, "player_1": LEFT, "player_2": STAY, "player_3": STAY})
    assert sum(record.rewards.values()) == 0  # two of the three needed
    record = stage(env, {"player_0": STAY, "player_1": STAY, "player_2": UP, "player_3": STAY})
    assert sum(record.rewards.values()) == 0  # player_2 is next to it, not on it
    record = stage(env, {"player_0": STAY, "player_1": STAY, "player_2": RIGHT, "player_3": STAY})
    assert sum(record.rewards.values()) == 0  # (1, 1) is not the resource
    record = stage(env, {"player_0": STAY, "player_1": STAY, "player_2": UP, "player_3": STAY})
    assert record.rewards == dict.fromkeys(env.possible_agents, 1.0)  # three on it: collected
    # with cooperation 1 a single agent collects
    alone = make({"agents": [[0, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[2, 1]]}, cooperation=1)
    record = stage(alone, {"player_0": RIGHT, "player_1": LEFT})
    assert record.rewards == {"player_0": 2.0 + 3.0, "player_1": 2.0 + 1.0}  # each alone on one


def test_fair_resources_split_equally_and_unfair_resources_pay_the_leader():
    layout = {"agents": [[0, 0], [0, 2], [2, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[2, 1]]}
    env = make(layout, n_agents=4, fair_value=6.0, unfair_value=9.0, unfair_share=0.5, leader=None)
    # one pair collects the fair resource: all four agents get 6 / 4, collectors or not
    record = stage(env, {"player_0": RIGHT, "player_1": LEFT, "player_2": STAY, "player_3": STAY})
    assert record.rewards == dict.fromkeys(env.possible_agents, 1.5)
    # the other pair collects the unfair one while player_3 leads: it gets 0.5 * 9,
    # every other agent (collector or not) 0.5 * 9 / 3
    record = stage(env, {"player_3": LEFT, "player_0": STAY, "player_1": STAY, "player_2": RIGHT})
    assert record.rewards == {"player_0": 1.5, "player_1": 1.5, "player_2": 1.5, "player_3": 4.5}
    # a leader that is not among the collectors still gets the large share
    again = make(layout, n_agents=4, fair_value=6.0, unfair_value=9.0, unfair_share=0.5)
    record = stage(again, {"player_0": STAY, "player_1": STAY, "player_2": RIGHT, "player_3": LEFT})
    assert record.rewards == {"player_0": 4.5, "player_1": 1.5, "player_2": 1.5, "player_3": 1.5}
    # both kinds in the same stage add up
    both = make(layout, n_agents=4, fair_value=6.0, unfair_value=9.0, unfair_share=0.5)
    record = stage(both, {"player_0": RIGHT, "player_1": LEFT, "player_2": RIGHT, "player_3": LEFT})
    assert record.rewards == {"player_0": 6.0, "player_1": 3.0, "player_2": 3.0, "player_3": 3.0}


def test_preferences_scale_only_the_preferring_agents_unfair_pay():
    layout = {"agents": [[0, 0], [0, 2], [2, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[2, 1]]}
    moves = {"player_0": RIGHT, "player_1": LEFT, "player_2": RIGHT, "player_3": LEFT}
    base = stage(make(layout, n_agents=4), moves).rewards
    assert base == {"player_0": 1.0 + 3.0, **dict.fromkeys(["player_1", "player_2", "player_3"], 1.0 + 1 / 3)}
    weights = [2.0, 1.0, 0.0, 3.0]
    scaled = stage(make(layout, n_agents=4, preference=weights), moves).rewards
    for agent, w in zip(scaled, weights):
        assert scaled[agent] == pytest.approx(1.0 + w * (base[agent] - 1.0))  # fair part unscaled
    strong = make(layout, n_agents=4, preference="strong")
    assert strong.unwrapped.preference_weights.tolist() == [3.0] * 4
    assert stage(strong, moves).rewards["player_1"] == pytest.approx(1.0 + 1.0)
    # fair pay ignores preferences entirely
    fair_only = {"player_0": RIGHT, "player_1": LEFT, "player_2": STAY, "player_3": STAY}
    assert stage(make(layout, n_agents=4, preference=weights), fair_only).rewards == dict.fromkeys(
        strong.possible_agents, 1.0
    )
    presets = [rc.raw_env(preference=p).preference_weights[0] for p in ("neutral", "mild", "strong")]
    assert presets == [1.0, 1.5, 3.0]


def test_respawn_is_seeded_and_lands_on_a_free_cell():
    layout = {"agents": [[0, 0], [0, 2], [3, 3]], "fair": [[0, 1]], "unfair": [[2, 1]]}
    spots = set()
    for seed in range(12):
        env = make(layout, n_agents=3, grid_size=(4, 4), seed=seed)
        record = stage(env, {"player_0": RIGHT, "player_1": LEFT, "player_2": STAY})
        assert record.rewards == dict.fromkeys(env.possible_agents, 4 / 3)
        raw = env.unwrapped
        (cell,) = raw.resources["fair"]
        assert raw.resources["unfair"] == [(2, 1)]  # the other resource stays
        assert cell not in set(raw.positions.values()) | {(2, 1)}
        spots.add(cell)
        twin = make(layout, n_agents=3, grid_size=(4, 4), seed=seed)
        stage(twin, {"player_0": RIGHT, "player_1": LEFT, "player_2": STAY})
        assert twin.unwrapped.resources == raw.resources  # same seed, same respawn
    assert len(spots) >= 5  # drawn at random among the 13 free cells


def test_random_start_is_seeded_and_on_distinct_cells():
    env = rc.env(n_agents=4)
    env.reset(seed=7)
    raw = env.unwrapped
    cells = list(raw.positions.values()) + raw.resources["fair"] + raw.resources["unfair"]
    assert len(set(cells)) == 6
    first = (raw.positions, raw.resources)
    env.reset(seed=7)
    assert (raw.positions, raw.resources) == first
    starts = set()
    for seed in range(10):
        env.reset(seed=seed)
        starts.add(tuple(raw.positions.values()))
    assert len(starts) > 1


# --------------------------------------------------------------- fair-action rule, features
@pytest.mark.parametrize(
    "leader_cell, move, fair, heads",
    [
        ((0, 0), RIGHT, True, 2),  # ends on the fair resource (0, 1)
        ((2, 2), LEFT, False, 3),  # ends on the unfair resource (2, 1)
        ((2, 1), STAY, False, 3),  # waits on the unfair resource
        ((0, 1), STAY, True, 2),  # waits on the fair resource
        ((1, 0), DOWN, False, 3),  # closer to the unfair one only
        ((1, 0), UP, True, 2),  # closer to the fair one only
        ((1, 2), LEFT, True, 2),  # closer to both: fair
        ((1, 0), STAY, True, 1),  # waits on an empty cell: neither
    ],
)
def test_fair_action_rule(leader_cell, move, fair, heads):
    layout = {"agents": [list(leader_cell), [2, 0]], "fair": [[0, 1]], "unfair": [[2, 1]]}
    env = make(layout)
    env.step(move)
    assert env.observe("player_1")["observation"][-1] == heads  # what the follower sees
    record = stage(env, {"player_1": STAY})
    assert record.leader_fair is fair
    assert env.infos["player_0"]["last_stage"]["leader_fair"] is fair


@pytest.mark.parametrize(
    "kwargs, fair",
    [
        ({}, False),  # neutral weights, share 0.75 > 1/2: favours the leader
        ({"preference": [0.0, 1.0]}, True),  # the leader gets nothing from it
        ({"preference": [1.0, 4.0]}, True),  # 0.75 * 1 < 0.25 * 4: pays the follower more
        ({"preference": [1.0, 2.9]}, False),  # 0.75 > 0.25 * 2.9
        ({"unfair_share": 0.5}, True),  # an equal split favours nobody
        ({"n_agents": 3, "unfair_share": 0.4}, False),  # 0.4 > 0.6 / 2
        ({"n_agents": 3, "unfair_share": 1 / 3}, True),
    ],
)
def test_unfair_move_only_when_the_resource_favours_the_leader(kwargs, fair):
    n = kwargs.get("n_agents", 2)
    agents = [[2, 2]] + [[2, 0]] * (n - 1)
    env = make({"agents": agents, "fair": [[0, 1]], "unfair": [[2, 1]]}, **kwargs)
    env.step(LEFT)  # the leader ends on the unfair resource
    assert env.observe("player_1")["observation"][-1] == 3  # heads for an unfair resource, either way
    record = stage(env, dict.fromkeys([f"player_{i}" for i in range(1, n)], STAY))
    assert record.leader_fair is fair


def test_observation_features():
    layout = {"agents": [[2, 0], [2, 2], [0, 2]], "fair": [[0, 0]], "unfair": [[2, 2]]}
    env = make(layout, n_agents=3, max_cycles=4)
    obs = env.observe("player_0")
    # role leader, no move seen, stage 0, fair step up, 0 partners, unfair step right, 1 partner (player_1)
    assert obs["observation"].tolist() == [0, 0, 0, UP, 0, RIGHT, 1, 0]
    assert obs["action_mask"].tolist() == [1, 1, 0, 0, 1]  # bottom-left corner
    # vertical first when both axes help equally: (2, 2) to the fair (0, 0) is up
    assert env.observe("player_1")["observation"].tolist() == [1, 0, 0, UP, 0, STAY, 0, 0]
    assert env.observe("player_1")["action_mask"].tolist() == [1, 0, 0, 0, 0]  # waiting
    env.step(RIGHT)  # leader heads for the unfair resource
    follower = env.observe("player_1")
    assert follower["observation"].tolist() == [1, RIGHT + 1, 0, UP, 0, STAY, 0, 3]
    assert follower["action_mask"].tolist() == [1, 1, 0, 1, 0]  # bottom-right corner
    assert env.observe("player_2")["observation"][3:7].tolist() == [LEFT, 0, DOWN, 1]
    box = make(layout, n_agents=3, max_cycles=4, obs_encoding="box")
    one_hot = box.observe("player_0")["observation"]
    nvec = box.unwrapped.obs_nvec
    assert one_hot.shape == (nvec.sum(),) and one_hot.sum() == len(nvec)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    assert np.flatnonzero(one_hot).tolist() == (offsets + [0, 0, 0, UP, 0, RIGHT, 1, 0]).tolist()


def test_spaces_and_table_sizes():
    for n in (2, 4):
        raw = rc.raw_env(n_agents=n)
        assert raw.obs_nvec.tolist() == [2, 6, 11, 5, 2, 5, 2, 4]
        assert int(raw.obs_nvec.prod()) == 52_800
        box = rc.raw_env(n_agents=n, obs_encoding="box")
        assert box.observation_space("player_0")["observation"].shape == (37,)
    assert int(rc.raw_env(n_agents=4, cooperation=3, max_cycles=20).obs_nvec.prod()) == 2 * 6 * 21 * 100 * 9


@pytest.mark.parametrize(
    "kwargs, high",
    [
        ({}, 3.0),  # one resource per stage (2 agents), best: the unfair leader share
        ({"n_agents": 4}, 3.0 + 1.0),  # two resources per stage: unfair share + fair quarter
        ({"n_agents": 4, "preference": "strong"}, 9.0 + 1.0),
        ({"n_agents": 4, "cooperation": 3}, 3.0),
        ({"n_agents": 4, "cooperation": 1, "n_fair": 2, "grid_size": (3, 4)}, 3.0 + 1.0 + 1.0),
    ],
)
def test_stage_reward_range(kwargs, high):
    raw = rc.raw_env(**kwargs)
    assert raw.stage_reward_range == (0.0, pytest.approx(high))
    assert raw.return_scale == pytest.approx(10 * high)


# ------------------------------------------------------------------ generated configurations


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource_collection_configs())
def test_generated_configurations(kwargs):
    assert_pettingzoo_api(rc, kwargs)
    # rewards stay within stage_reward_range and resources never share a cell
    env = rc.env(**{**kwargs, "max_cycles": 30, "cooperation": 1})
    env.reset(seed=1)
    low, high = env.unwrapped.stage_reward_range
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        assert low <= reward <= high + 1e-9
        resources = env.unwrapped.resources["fair"] + env.unwrapped.resources["unfair"]
        assert len(set(resources)) == kwargs["n_fair"] + kwargs["n_unfair"]
        env.step(None if terminated or truncated else env.action_space(agent).sample(obs["action_mask"]))


def test_registry_and_scenarios():
    assert "resource_collection_v0" in fairlead.list_envs()
    aec = pettingzoo.make("aec", "fairlead/resource_collection-v0")
    assert aec.metadata["name"] == "resource_collection_v0"
    strong = fairlead.make("resource-collection-4p-strong", raw=True)
    assert len(strong.possible_agents) == 4 and strong.preference_weights.tolist() == [3.0] * 4
    for name in ("resource-collection-2p", "resource-collection-2p-strong", "resource-collection-4p"):
        par = fairlead.make(name, parallel=True)
        par.reset(seed=0)
        assert par.metadata["name"] == "resource_collection_v0"


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"grid_size": (1, 3)}, ValueError, r"1x3 has 3 cells, too few for 2 agents plus 2 resources"),
        ({"n_agents": 8}, ValueError, r"use at least 10 cells, e.g. grid_size=\(4, 4\)"),
        ({"grid_size": 3}, ValueError, r"grid_size must be \(rows, columns\)"),
        ({"grid_size": (0, 9)}, ValueError, r"grid rows must be an integer (>= 1|in 1\.\.)"),
        ({"cooperation": 3}, ValueError, r"cooperation=3 exceeds n_agents=2.*choose 1..2"),
        ({"cooperation": 0}, ValueError, r"cooperation must be an integer (>= 1|in 1\.\.)"),
        ({"fair_value": -1.0}, ValueError, "fair_value must be a finite number > 0"),
        ({"unfair_value": 0}, ValueError, "unfair_value must be a finite number > 0"),
        ({"fair_value": float("nan")}, ValueError, "fair_value must be a finite number > 0"),
        ({"unfair_value": "4"}, TypeError, "unfair_value must be a real number"),
        ({"unfair_share": 1.5}, ValueError, r"unfair_share must be in \[1/n, 1\] = \[0.5, 1\]"),
        ({"unfair_share": 0.3}, ValueError, r"unfair_share must be in \[1/n, 1\]"),
        ({"unfair_share": -0.5}, ValueError, "unfair_share must be a finite number > 0"),
        ({"n_fair": 0}, ValueError, r"n_fair must be an integer (>= 1|in 1\.\.)"),
        ({"n_unfair": -1}, ValueError, r"n_unfair must be an integer (>= 1|in 1\.\.)"),
        ({"preference": "strnog"}, ValueError, r"unknown preference preset 'strnog' \(did you mean 'strong'\?\)"),
        ({"preference": "STRONG"}, ValueError, r"\(did you mean 'strong'\?\); choose one of 'neutral'"),
        ({"preference": "greedy"}, ValueError, "'neutral', 'mild', 'strong' or give 2 weights"),
        ({"preference": [1.0]}, ValueError, r"preference needs one weight per agent \(2\)"),
        ({"preference": [1.0, -2.0]}, ValueError, "preference weights must be >= 0"),
        ({"preference": [1.0, float("inf")]}, ValueError, r"preference\[1\] must be a finite number"),
        ({"preference": [1.0, "x"]}, TypeError, r"preference\[1\] must be a real number.*or give 2 weights"),
        ({"preference": [True, 1.0]}, TypeError, r"preference\[0\] must be a real number"),
        ({"preference": [1.0, 2j]}, TypeError, r"preference\[1\] must be a real number"),
        ({"preference": [1e308, 1e308], "unfair_value": 100.0}, ValueError, "return_scale = inf"),
        ({"fair_value": 1e308, "n_agents": 2, "max_cycles": 100}, ValueError, "fair_value, unfair_value"),
        ({"layout": {"agents": [[0, 0], [1, 1]]}}, ValueError, "layout must be a dict"),
        (
            {"layout": {"agents": [[0, 0]], "fair": [[0, 1]], "unfair": [[1, 1]]}},
            ValueError,
            r"layout\['agents'\] must list 2 cells",
        ),
        (
            {"layout": {"agents": [[0, 0], [0, 3]], "fair": [[0, 1]], "unfair": [[1, 1]]}},
            ValueError,
            r"layout\['agents'\] has a cell outside the 3x3 grid",
        ),
        (
            {"layout": {"agents": [[0, 0], [0, 0.5]], "fair": [[0, 1]], "unfair": [[1, 1]]}},
            ValueError,
            "of integers",
        ),
        (
            {"layout": {"agents": [[0, 0], [0, 0]], "fair": [[1, 1]], "unfair": [[1, 1]]}},
            ValueError,
            "layout puts two resources on one cell",
        ),
        ({"n_agents": 1}, ValueError, r"n_agents must be an integer (>= 2|in 2\.\.)"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        rc.env(**kwargs)


def test_moves_off_the_grid_are_masked_and_rejected():
    env = make({"agents": [[0, 0], [2, 2]], "fair": [[0, 1]], "unfair": [[1, 1]]})
    assert env.observe("player_0")["action_mask"].tolist() == [1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"action 1 is masked now; legal actions: \[0, 2, 4\]"):
        env.unwrapped.step(UP)
    with pytest.raises(ValueError, match=r"out of range; valid actions are 0..4 \(stay, up, down, left, right\)"):
        env.unwrapped.step(5)
