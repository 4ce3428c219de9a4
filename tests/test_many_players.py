"""Many players without a ``k**n`` blow-up: stage rewards in O(n k), the fair-action rule by action counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import API_TEST_WARNINGS, assert_pettingzoo_api
from hypothesis import given, settings
from hypothesis import strategies as st

import fairlead
from fairlead import rules
from fairlead.solver import follower_response, payoff_tensor, symmetric_follower_response


def pairwise_rewards(payoff, actions):
    """The definition: a player's reward is the mean of its pairwise rewards against every other player."""
    n = len(actions)
    return np.array([np.mean([payoff[actions[p], actions[q]] for q in range(n) if q != p]) for p in range(n)])


symmetric_games = st.integers(2, 3).flatmap(
    lambda k: st.tuples(
        st.lists(st.lists(st.integers(-4, 4), min_size=k, max_size=k), min_size=k, max_size=k),
        st.integers(2, 5 if k == 2 else 4),
    )
)


@settings(max_examples=60, deadline=None)
@given(symmetric_games, st.sampled_from(["pessimistic", "optimistic"]))
def test_counting_solver_matches_the_tensor_solver(game, tie_break):
    payoff, n = np.array(game[0], dtype=float), game[1]
    k = len(payoff)
    tensor = payoff_tensor(lambda a: pairwise_rewards(payoff, a), n, k)
    for action in range(k):
        assert symmetric_follower_response(payoff, n, action, tie_break) == follower_response(
            tensor, 0, action, tie_break
        )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda k: st.tuples(
            st.lists(st.lists(st.floats(-100, 100), min_size=k, max_size=k), min_size=k, max_size=k),
            st.lists(st.integers(0, k - 1), min_size=2, max_size=40),
        )
    )
)
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
    env = fairlead.mediate(
        fairlead.make(name, n_agents=n, max_cycles=3),
        selector="catch_up",
        transfer=["unfair_advantage", 1.0],
        agent_history=["unfair_leads", "rank"],
    )
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _agent in env.agent_iter():
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
        _ = game.payoff_tensor


def test_too_many_follower_counts_are_refused_at_construction():
    with pytest.raises(ValueError, match="64 players with 6 actions are too many .*at most 200000"):
        fairlead.make("matrix_game_v0", payoff=np.eye(6), n_agents=64)
    assert fairlead.make("matrix_game_v0", payoff=np.eye(3), n_agents=64)  # 2,080 counts: fine


@pytest.mark.filterwarnings(*API_TEST_WARNINGS)
@pytest.mark.parametrize("n", [30, 64])
def test_many_players_pass_pettingzoos_tests(n):
    from fairlead.envs import chicken_v0

    assert_pettingzoo_api(chicken_v0, {"n_agents": n, "max_cycles": 3})


# ------------------------------------------- issue 23, item 8: memory O(n), not O(n**2)
def _peak(build) -> tuple[object, int]:
    """``build()`` and the peak of Python memory (tracemalloc) while it ran, in bytes."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = build()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _start_stage(n: int, agents: int):
    env = fairlead.make("chicken_v0", n_agents=n)
    env.reset(seed=0)
    for _ in range(agents):  # the leader and a few followers
        env.observe(env.agent_selection)
        env.step(0)
    return env


def test_a_game_of_a_few_thousand_players_takes_memory_linear_in_n():
    """Built, reset and a few agents stepped: ~1 kB per player (was an n x n turn-order table: 200 MB here)."""
    n = 5_000
    env, peak = _peak(lambda: _start_stage(n, 4))
    assert peak < 2_000 * n, f"{peak:,} bytes for {n:,} players"
    game = env.unwrapped
    assert game.phase == "follow" and env.agent_selection == "player_4"
    assert game.acting_agents == [f"player_{i}" for i in range(1, n)]


def test_the_turn_order_computed_turn_by_turn_is_the_leader_then_the_followers_by_index():
    env = fairlead.make("chicken_v0", n_agents=5, leader=None)
    for leader in range(5):
        env.reset(seed=0)
        env.unwrapped.set_leader(f"player_{leader}")
        order = []
        for _ in range(5):
            order.append(env.agent_selection)
            env.step(0)
        assert order == [f"player_{leader}"] + [f"player_{i}" for i in range(5) if i != leader]


def test_a_hundred_thousand_players_are_built_reset_and_stepped_in_modest_memory():
    n = 100_000
    env, peak = _peak(lambda: _start_stage(n, 5))
    assert peak < 200e6 and peak < n * n / 50, f"{peak:,} bytes for {n:,} players"  # n**2 bytes would be 10 GB
    obs = env.observe(env.agent_selection)
    assert obs["observation"].tolist() == [1, 1, 0] and obs["action_mask"].tolist() == [1, 1]
    assert env.agent_selection == "player_5" and env.unwrapped.leader == "player_0"


def _play_stage(env, parallel: bool):
    if parallel:
        env.reset(seed=0)
        for _ in range(2):  # lead, follow
            env.step({a: 0 for a in env.agents})
    else:
        env.reset(seed=0)
        for _ in range(len(env.unwrapped.possible_agents)):
            env.step(0)
    return env


@pytest.mark.parametrize("view", ["aec", "parallel", "mediated", "mediated parallel"])
def test_a_whole_game_of_many_players_takes_memory_and_bookkeeping_linear_in_n(view, monkeypatch):
    """One stage (the whole game) of 3,000 players: every follower's step changes no reward and no info, so the
    env, the mediator and the parallel view skip their O(n) per-step bookkeeping (it was O(n**2) per stage),
    and the final infos share one dict of returns (they were n copies of n returns: n**2)."""
    from pettingzoo import AECEnv

    from fairlead.envs.parallel import PhaseParallelEnv
    from fairlead.mediation.mediator import MediatedEnv

    n = 3_000
    calls = {"accumulate": 0, "sync": 0}

    def counted(name, method):
        def wrapper(self, *args):
            calls[name] += 1
            return method(self, *args)

        return wrapper

    monkeypatch.setattr(AECEnv, "_accumulate_rewards", counted("accumulate", AECEnv._accumulate_rewards))
    monkeypatch.setattr(MediatedEnv, "_sync_infos", counted("sync", MediatedEnv._sync_infos))
    env = fairlead.make("chicken_v0", n_agents=n, max_cycles=1)
    if "mediated" in view:
        env = fairlead.mediate(
            env, selector="round_robin", transfer=("unfair_advantage", 1.0), agent_history=["unfair_leads", "leads"]
        )
    if "parallel" in view:
        env = PhaseParallelEnv(env)
    env, peak = _peak(lambda: _play_stage(env, "parallel" in view))
    assert peak < 20_000 * n, f"{peak:,} bytes for {n:,} players"  # n copies of n returns: > 300 MB
    assert calls["accumulate"] <= 8 and calls["sync"] <= 8, calls  # per stage, not per step
    game = (env.aec_env if "parallel" in view else env).unwrapped
    assert game.stage == 1 and game.phase == "done"


class _Transparent(__import__("pettingzoo").utils.BaseWrapper):
    """A user's wrapper that changes nothing, but that the fast path cannot see through: the full path runs."""


@pytest.mark.parametrize("mediated", [False, True], ids=["env", "mediated"])
@pytest.mark.parametrize("parallel", [False, True], ids=["aec", "parallel"])
def test_skipping_the_bookkeeping_of_quiet_steps_changes_nothing(mediated, parallel):
    """Every reward, cumulative reward, info and observation of a game is the same with the fast path as with
    the full one (forced by a wrapper it does not look through), in every view."""
    from fairlead.envs.parallel import PhaseParallelEnv

    def trace(wrap: bool):
        env = fairlead.make("cournot_v0", n_agents=7, max_cycles=4, c=1.0)  # negative profits: -0.0 too
        env = _Transparent(env) if wrap else env
        if mediated:
            env = fairlead.mediate(
                env,
                selector="catch_up",
                transfer=("unfair_advantage", 2.0),
                settle="stage",
                agent_history=["unfair_leads", "rank"],
            )
            env = _Transparent(env) if wrap else env
        rng, seen = np.random.default_rng(1), []
        if parallel:
            env = PhaseParallelEnv(env)
            seen.append(repr(env.reset(seed=3)))
            while env.agents:
                actions = {a: int(rng.choice(np.flatnonzero(o["action_mask"]))) for a, o in seen_obs(env).items()}
                seen.append(repr(env.step(actions)))
            return seen
        env.reset(seed=3)
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, info = env.last()
            seen.append(repr((agent, obs, reward, terminated, truncated, info, env.rewards, env._cumulative_rewards)))
            env.step(None if terminated or truncated else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        return seen

    def seen_obs(env):
        return {a: env.aec_env.observe(a) for a in env.agents}

    fast, full = trace(False), trace(True)
    assert fast == full


def test_the_payoff_cache_of_many_players_stays_bounded(monkeypatch):
    from fairlead.envs import matrix

    monkeypatch.setattr(matrix, "PAYOFF_CACHE_ENTRIES", 10_000)
    n = 3_000
    env = fairlead.make("chicken_v0", n_agents=n, max_cycles=6)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    while env.agents:
        env.step(None if env.terminations[env.agent_selection] else int(rng.integers(2)))
    assert 0 < len(env.unwrapped._payoff_cache) * n <= 10_000 + n


def test_the_fair_action_rule_of_many_players_enumerates_counts_not_profiles():
    n = 100_000  # C(n - 2 + 2, 1) = n follower counts; the profiles would be n x (n - 1)
    payoff = fairlead.make("chicken_v0", raw=True).payoff
    reply, peak = _peak(lambda: symmetric_follower_response(payoff, n, 0))
    assert peak < 100e6, f"{peak:,} bytes"
    assert len(reply) == n and reply[0] == 0 and sorted(reply[1:]) == list(reply[1:])
    with pytest.raises(ValueError, match=r"200001 players with 2 actions are too many .*at most 200000"):
        fairlead.make("chicken_v0", n_agents=200_001)


def test_resource_collection_refuses_more_agents_than_its_pay_table_allows():
    from fairlead.envs import resource_collection_v0 as rc

    assert rc.MAX_AGENTS == 2_000 and "2 <= n <= 2,000" in rc.__doc__
    with pytest.raises(
        ValueError,
        match=r"n_agents=2,001 is more than resource_collection_v0 allows \(2,000, "
        r"MAX_AGENTS\): its unfair resources' pay is an n x n table",
    ):
        rc.env(n_agents=2_001, grid_size=(100, 100))
    with pytest.raises(ValueError, match=r"n_agents=100,000 is more than"):
        rc.env(n_agents=100_000, grid_size=(1000, 1000))


@pytest.mark.parametrize("metric", ["pairwise_equality", "equality", "mean_abs_difference"])
def test_pairwise_fairness_of_too_many_players_is_refused_with_the_limit(metric):
    from fairlead import fairness

    assert fairness.MAX_PAIRWISE_AGENTS == 5_000
    returns = np.arange(5_001.0)
    with pytest.raises(
        ValueError,
        match=r"compares every pair of the 5,001 players' returns, .* it is computed for "
        r"at most 5,000 players .*use a metric that is O\(n\) \(cv, jain",
    ):
        fairness.fairness(returns, metric, **({"scale": 1e4} if metric == "pairwise_equality" else {}))
    assert fairness.fairness(np.arange(1_000.0), "jain") > 0
    assert np.isfinite(fairness.fairness(np.arange(100_000.0) + 1, "cv"))  # the O(n) metrics: any n
    with pytest.raises(ValueError, match=rf"metric '{metric}' \(the mediator agent's reward\) compares every pair"):
        fairlead.mediate(
            fairlead.make("chicken_v0", n_agents=5_001, leader=None), mediator_as_agent=True, metric=metric
        )
    fairlead.mediate(fairlead.make("chicken_v0", n_agents=5_001, leader=None), mediator_as_agent=True, metric="jain")
