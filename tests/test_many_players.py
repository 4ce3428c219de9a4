"""Many players without a ``k**n`` blow-up: stage rewards in O(n k), the fair-action rule by action counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairlead
from conftest import API_TEST_WARNINGS, assert_pettingzoo_api
from fairlead import rules
from fairlead.solver import follower_response, payoff_tensor, symmetric_follower_response


def pairwise_rewards(payoff, actions):
    """The definition: a player's reward is the mean of its pairwise rewards against every other player."""
    n = len(actions)
    return np.array([np.mean([payoff[actions[p], actions[q]] for q in range(n) if q != p]) for p in range(n)])


symmetric_games = st.integers(2, 3).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.integers(-4, 4), min_size=k, max_size=k), min_size=k, max_size=k),
    st.integers(2, 5 if k == 2 else 4)))


@settings(max_examples=60, deadline=None)
@given(symmetric_games, st.sampled_from(["pessimistic", "optimistic"]))
def test_counting_solver_matches_the_tensor_solver(game, tie_break):
    payoff, n = np.array(game[0], dtype=float), game[1]
    k = len(payoff)
    tensor = payoff_tensor(lambda a: pairwise_rewards(payoff, a), n, k)
    for action in range(k):
        assert symmetric_follower_response(payoff, n, action, tie_break) == follower_response(
            tensor, 0, action, tie_break)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4).flatmap(lambda k: st.tuples(
    st.lists(st.lists(st.floats(-100, 100), min_size=k, max_size=k), min_size=k, max_size=k),
    st.lists(st.integers(0, k - 1), min_size=2, max_size=40))))
def test_stage_rewards_are_mean_pairwise_rewards(game):
    payoff, actions = np.array(game[0]), np.array(game[1])
    out = np.empty(len(actions))
    rules.symmetric_stage_rewards(payoff, actions, np.zeros(len(payoff), np.int64), out)
    np.testing.assert_allclose(out, pairwise_rewards(payoff, actions), rtol=1e-12, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), max_size=2000))
def test_array_sum_is_numpys_sum_bit_for_bit(values):
    x = np.array(values, dtype=float)
    assert rules.array_sum(x, len(x)) == np.sum(x)
    if len(x):
        assert rules.array_sum(x, len(x)) / len(x) == x.mean()


@pytest.mark.parametrize("n", [30, 64])
@pytest.mark.parametrize("name", ["chicken_v0", "prisoners_dilemma_v0", "stag_hunt_v0"])
def test_many_players_play_a_mediated_episode(name, n):
    env = fairlead.mediate(fairlead.make(name, n_agents=n, max_cycles=3), selector="catch_up",
                           transfer=["unfair_advantage", 1.0], agent_history=["unfair_leads", "rank"])
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        env.step(None if terminated or truncated else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert len(info["returns_before_transfer"]) == n
    assert abs(sum(info["transfer"].values())) < 1e-9


@pytest.mark.parametrize("n", [30, 64])
def test_the_counted_follower_reply_is_an_equilibrium(n):
    """No follower gains by deviating alone from the reply the counting solver finds (checked by the rules)."""
    game = fairlead.make("chicken_v0", raw=True, n_agents=n)
    for action in range(2):
        profile = np.array(symmetric_follower_response(game.payoff, n, action))
        base = game.stage_payoff(profile)
        for follower, other in itertools.product(range(1, n), range(2)):
            deviation = profile.copy()
            deviation[follower] = other
            assert game.stage_payoff(deviation)[follower] <= base[follower] + 1e-9
    assert game.fair_actions().tolist() == [[False, True]] * n  # daring first is unfair, however many follow


def test_a_payoff_tensor_too_large_is_refused_with_the_reason():
    game = fairlead.make("chicken_v0", raw=True, n_agents=40)
    with pytest.raises(ValueError, match="2\\*\\*40 .*symmetric matrix game needs none"):
        game.payoff_tensor


def test_too_many_follower_counts_are_refused_at_construction():
    with pytest.raises(ValueError, match="64 players with 6 actions are too many .*at most 200000"):
        fairlead.make("matrix_game_v0", payoff=np.eye(6), n_agents=64)
    assert fairlead.make("matrix_game_v0", payoff=np.eye(3), n_agents=64)  # 2,080 counts: fine


@pytest.mark.filterwarnings(*API_TEST_WARNINGS)
@pytest.mark.parametrize("n", [30, 64])
def test_many_players_pass_pettingzoos_tests(n):
    from fairlead.envs import chicken_v0

    assert_pettingzoo_api(chicken_v0, {"n_agents": n, "max_cycles": 3})
