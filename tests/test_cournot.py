"""cournot_v0: closed forms through the env, fair-action rule, bounds, PettingZoo API, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pettingzoo
import pytest
from conftest import API_TEST_WARNINGS, assert_pettingzoo_api, cournot_configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairlead
from fairlead.envs import cournot_v0
from fairlead.solver import follower_response, stackelberg_outcome

pytestmark = pytest.mark.filterwarnings(*API_TEST_WARNINGS)


def play_stage(env, quantities) -> dict[str, float]:
    """Play one stage (leader first, then followers in AEC order) and return its rewards."""
    env.reset(seed=0)
    for agent in [env.unwrapped.leader] + [a for a in env.agents if a != env.unwrapped.leader]:
        assert env.agent_selection == agent
        env.step(quantities[env.unwrapped.agent_name_mapping[agent]])
    return dict(env.rewards)


# ------------------------------------------------------------ closed forms (a=12, b=1, c=0)
def test_follower_best_response_to_every_leader_quantity():
    env = cournot_v0.env()
    for q_leader in range(13):
        follower = np.array([play_stage(env, (q_leader, q))["player_1"] for q in range(13)])
        best = set(np.flatnonzero(follower == follower.max()))
        x = (12 - q_leader) / 2
        if q_leader >= 11:  # no quantity sells above cost (c = 0): every quantity earns 0
            assert best == set(range(13)) and follower.max() == 0
        else:
            assert best == {int(np.floor(x)), int(np.ceil(x))}, q_leader
        # the solver's pessimistic reply: the best reply that leaves the leader least
        tensor = env.unwrapped.payoff_tensor
        pessimistic = follower_response(tensor, 0, q_leader)[1]
        assert pessimistic in best
        assert tensor[q_leader, pessimistic, 0] == min(tensor[q_leader, q, 0] for q in best)


def test_reference_solver_gives_the_textbook_stackelberg_outcome():
    env = cournot_v0.env()
    tensor = env.unwrapped.payoff_tensor
    outcome = stackelberg_outcome(tensor, 0, tie_break="pessimistic")
    assert outcome.actions == (6, 3) and outcome.rewards == (18.0, 9.0)
    optimistic = stackelberg_outcome(tensor, 0, tie_break="optimistic")
    assert optimistic.actions == (7, 2) and optimistic.rewards == (21.0, 6.0)
    assert stackelberg_outcome(tensor, 1).actions == (3, 6)  # player_1 leading: mirrored
    # the env pays exactly what the tensor says, for every profile
    for profile in itertools.product(range(13), repeat=2):
        assert list(play_stage(env, profile).values()) == list(tensor[profile])
    # first-mover advantage: leader 18 > Cournot 16 > follower 9 (Cournot (4, 4) pays 16 each)
    assert play_stage(env, (4, 4)) == {"player_0": 16.0, "player_1": 16.0}
    assert play_stage(env, (6, 3)) == {"player_0": 18.0, "player_1": 9.0}
    assert env.unwrapped.last_stage.leader_fair is False  # 6 > Cournot quantity 4


def follower_equilibria(env, q_leader, above_cost=False) -> list[tuple[int, ...]]:
    """Every pure equilibrium of player_0's followers after it produces ``q_leader``
    (only those where the price exceeds the cost if ``above_cost``).

    Brute force over the env's payoff tensor: no follower gains by changing its
    own quantity alone.
    """
    raw = env.unwrapped
    induced = raw.payoff_tensor[q_leader]
    stable = np.ones(induced.shape[:-1], dtype=bool)
    for axis in range(induced.ndim - 1):
        own = induced[..., axis + 1]
        stable &= own >= own.max(axis=axis, keepdims=True) - 1e-9
    return [
        tuple(int(q) for q in e) for e in np.argwhere(stable) if not above_cost or raw.price(q_leader + e.sum()) > raw.c
    ]


@pytest.mark.parametrize("n", [3, 4])
def test_n_player_followers_match_the_continuous_limit(n):
    """Leader at (a-c)/2b = 6: every follower within 1 of (a-c)/(2bn) (a - c = 12)."""
    target = 12 / (2 * n)
    for a, c in [(13.0, 1.0), (12.0, 0.0)]:
        env = cournot_v0.env(n_agents=n, a=a, c=c)
        tensor = env.unwrapped.payoff_tensor
        equilibria = follower_equilibria(env, 6, above_cost=True)
        assert equilibria
        for followers in equilibria:
            assert all(abs(q - target) <= 1 for q in followers), followers
            assert abs(sum(followers) - (n - 1) * target) <= 1
        if c > 0:
            for tie_break in ("pessimistic", "optimistic"):
                profile = follower_response(tensor, 0, 6, tie_break)
                assert profile[1:] in equilibria
                rewards = play_stage(env, profile)
                assert list(rewards.values()) == list(tensor[profile])
        else:  # documented: with c = 0 the pessimistic reply floods the market (price 0)
            flooded = follower_response(tensor, 0, 6, "pessimistic")
            assert 12 - sum(flooded) <= 0 and tensor[flooded][0] == 0


@st.composite
def leader_at_the_continuous_quantity(draw):
    """A market whose Stackelberg leader quantity (a-c)/2b is on the grid (q_max >= it)."""
    n = draw(st.integers(2, 5))
    q_max = draw(st.integers(1, {2: 12, 3: 10, 4: 6, 5: 4}[n]))  # (q_max+1)**n profiles stay small
    q_leader = draw(st.integers(1, q_max))
    b = draw(st.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0]))
    c = draw(st.sampled_from([0.0, 0.5, 2.0, 7.25]))
    return {"n_agents": n, "a": c + 2 * b * q_leader, "b": b, "c": c, "q_max": q_max}, q_leader


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leader_at_the_continuous_quantity())
def test_n_player_rounding_bound(config):
    """The env card's bound: with the leader at (a-c)/2b, in every follower equilibrium where
    the price exceeds the cost, each follower is within 2 of (a-c)/(2bn).

    Checked in its sharp form 2 - 3/n (reached, e.g. n = 4, a = 1.5, b = 0.25, c = 0:
    followers (0, 0, 2) around 0.75): with the price above cost each follower's best
    reply is its continuous one, (A - Q_-i)/2 with A = q_L, rounded by some e_i,
    |e_i| <= 1/2; solving the n - 1 replies gives
    q_i - A/n = 2 e_i - (2/n) sum_j e_j, at most (n-1)/n + (n-2)/n away.
    """
    kwargs, q_leader = config
    env = cournot_v0.env(**kwargs)
    n, b = kwargs["n_agents"], kwargs["b"]
    target = (kwargs["a"] - kwargs["c"]) / (2 * b * n)
    equilibria = follower_equilibria(env, q_leader)
    priced = follower_equilibria(env, q_leader, above_cost=True)
    assert priced
    for followers in priced:
        assert all(abs(q - target) <= 2 - 3 / n + 1e-9 for q in followers), (followers, target)
    # the solver replies with one of the equilibria, and the env pays what its tensor says
    tensor = env.unwrapped.payoff_tensor
    for tie_break in ("pessimistic", "optimistic"):
        profile = follower_response(tensor, 0, q_leader, tie_break)
        assert profile[0] == q_leader and profile[1:] in equilibria
        assert list(play_stage(env, profile).values()) == pytest.approx(list(tensor[profile]))


# ------------------------------------------------------------------ fair action, bounds
@pytest.mark.parametrize(
    "kwargs, fair",
    [
        ({}, 4),  # 12 / 3
        ({"n_agents": 3}, 3),  # 12 / 4
        ({"n_agents": 4}, 2),  # 2.4 rounds down
        ({"n_agents": 6}, 2),  # 12 / 7 = 1.71 rounds up
        ({"a": 15.0, "n_agents": 5}, 3),  # 2.5: halves round up
        ({"a": 14.0, "c": 2.0, "b": 2.0}, 2),  # 12 / 6
        ({"q_max": 1}, 1),  # capped at q_max
    ],
)
def test_fair_quantity_rule(kwargs, fair):
    env = cournot_v0.env(**kwargs)
    assert env.unwrapped.fair_quantity == fair
    n = kwargs.get("n_agents", 2)
    for q_leader, expected in [(fair, True), (fair + 1, False)]:
        if q_leader > env.unwrapped.q_max:
            continue
        play_stage(env, (q_leader,) + (0,) * (n - 1))
        assert env.unwrapped.last_stage.leader_fair is expected
        assert env.unwrapped.infos["player_1"]["last_stage"]["leader_fair"] is expected


def test_fair_rule_follows_the_mediated_leader():
    env = cournot_v0.env(n_agents=3, leader=None)  # leaders set from outside, as the mediator does
    env.reset(seed=0)
    env.unwrapped.set_leader("player_0")
    for action in (3, 0, 0):  # stage 0: player_0 leads with 3 = fair quantity
        env.step(action)
    assert env.unwrapped.last_stage.leader_fair
    env.unwrapped.set_leader("player_2")
    for action in (9, 0, 0):  # player_2 leads, then player_0, player_1 follow
        env.step(action)
    record = env.unwrapped.last_stage
    assert record.leader == "player_2" and record.actions["player_2"] == 9
    assert record.leader_fair is False and record.rewards["player_2"] == 27.0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cournot_configs())
def test_generated_configurations(kwargs):
    assert_pettingzoo_api(cournot_v0, kwargs)
    env = cournot_v0.raw_env(**kwargs)
    low, high = env.stage_reward_range
    tensor = env.payoff_tensor
    assert tensor.min() == pytest.approx(low) and tensor.max() == pytest.approx(high)  # exact bounds
    assert env.return_scale == pytest.approx(kwargs["max_cycles"] * (high - low))
    n = kwargs["n_agents"]
    cournot = (kwargs["a"] - kwargs["c"]) / ((n + 1) * kwargs["b"])
    assert env.fair_quantity == min(kwargs["q_max"], int(np.floor(cournot + 0.5 + 1e-9)))


def test_spaces_and_table_size():
    env = cournot_v0.env()
    assert env.action_space("player_0").n == 13
    assert env.unwrapped.obs_nvec.tolist() == [2, 14, 11] and env.unwrapped.obs_nvec.prod() == 308
    box = cournot_v0.env(n_agents=4, obs_encoding="box")
    assert box.observation_space("player_3")["observation"].shape == (27,)


def test_render_shows_the_price():
    env = cournot_v0.env(render_mode="ansi")
    env.reset()
    env.step(6)
    env.step(3)
    text = env.render()
    assert "player_0=6" in text and "last price 3 for total quantity 9" in text
    assert "fair leader quantity <= 4" in text


def test_registry_and_scenarios():
    assert "cournot_v0" in fairlead.list_envs()
    assert pettingzoo.make("aec", "fairlead/cournot-v0").metadata["name"] == "cournot_v0"
    four = fairlead.make("cournot-4p", raw=True)
    assert len(four.possible_agents) == 4 and (four.a, four.b, four.c, four.q_max) == (12, 1, 0, 12)
    assert fairlead.make("cournot-2p", parallel=True).possible_agents == ["player_0", "player_1"]


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"q_max": 0}, ValueError, r"q_max must be an integer (>= 1|in 1\.\.)"),
        ({"q_max": 2.5}, TypeError, "q_max must be an integer"),
        ({"a": 5.0, "c": 5.0}, ValueError, "a .* must exceed c"),
        ({"a": 3.0, "c": 4.0}, ValueError, "a .* must exceed c"),
        ({"b": 0.0}, ValueError, "b .* must be > 0"),
        ({"b": -1.0}, ValueError, "b .* must be > 0"),
        ({"c": -1.0}, ValueError, "c .* must be >= 0"),
        ({"a": float("nan")}, ValueError, "a must be a finite number"),
        ({"b": float("inf")}, ValueError, "b must be a finite number"),
        ({"a": "12"}, TypeError, "a must be a real number"),
        ({"c": True}, TypeError, "c must be a real number"),
        ({"n_agents": 1}, ValueError, r"n_agents must be an integer (>= 2|in 2\.\.)"),
        ({"max_cycles": 0}, ValueError, r"max_cycles must be an integer (>= 1|in 1\.\.)"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        cournot_v0.env(**kwargs)


def test_out_of_range_quantity_is_rejected():
    env = cournot_v0.raw_env(q_max=4)
    env.reset()
    with pytest.raises(ValueError, match=r"out of range; valid actions are 0..4"):
        env.step(5)
