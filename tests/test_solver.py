"""The Stackelberg reference solver (``fairlead.solver``) and the matrix games' fair-action flags."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairlead
from fairlead.solver import StackelbergOutcome, follower_response, payoff_tensor, stackelberg_outcome


def tensor(name, n_agents=2, **kwargs):
    return fairlead.make(name, raw=True, n_agents=n_agents, **kwargs).payoff_tensor


def bimatrix_tensor(row, col):
    """(k, k, 2) tensor of a two-player game from the row and column player's matrices."""
    return np.stack([np.asarray(row, float), np.asarray(col, float)], axis=-1)


# ------------------------------------------------------------------ published games
@pytest.mark.parametrize("leader", [0, 1])
def test_chicken_leader_dares(leader):
    out = stackelberg_outcome(tensor("chicken_v0"), leader)
    assert isinstance(out, StackelbergOutcome)
    follower = 1 - leader
    assert out.leader == leader
    assert out.actions[leader] == 0 and out.actions[follower] == 1  # Dare, Chicken
    assert out.rewards[leader] == 4.0 and out.rewards[follower] == 1.0


@pytest.mark.parametrize("leader", [0, 1])
@pytest.mark.parametrize("tie_break", ["pessimistic", "optimistic"])
def test_prisoners_dilemma_both_defect(leader, tie_break):
    out = stackelberg_outcome(tensor("prisoners_dilemma_v0"), leader, tie_break)
    assert out.actions == (1, 1) and out.rewards == (1.0, 1.0)


@pytest.mark.parametrize("leader", [0, 1])
def test_stag_hunt_both_hunt_stag(leader):
    out = stackelberg_outcome(tensor("stag_hunt_v0"), leader)
    assert out.actions == (0, 0) and out.rewards == (2.0, 2.0)


def test_battle_of_sexes_leader_gets_its_favourite():
    payoffs = tensor("battle_of_sexes_v0")
    out = stackelberg_outcome(payoffs, 0)
    assert out.actions == (0, 0) and out.rewards == (3.0, 2.0)  # Bach
    out = stackelberg_outcome(payoffs, 1)
    assert out.actions == (1, 1) and out.rewards == (2.0, 3.0)  # Stravinsky


def test_payoff_tensor_layout():
    payoffs = tensor("chicken_v0", n_agents=3)
    assert payoffs.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(payoffs[0, 1, 1], [4.0, 2.0, 2.0])
    np.testing.assert_allclose(payoffs[1, 0, 0], [1.0, 2.0, 2.0])
    t = payoff_tensor(lambda a: a * 10.0 + np.arange(len(a)), 2, 3)
    assert t.shape == (3, 3, 2)
    np.testing.assert_array_equal(t[2, 1], [20.0, 11.0])


# ------------------------------------------------------------------ tie-breaks
def test_pessimistic_vs_optimistic():
    # Follower (column) is indifferent after leader action 0: (0,0) pays the leader 5,
    # (0,1) pays it 0. Leader action 1 gives (1, 0) with 3 for the leader for sure.
    row = [[5, 0], [3, 1]]
    col = [[2, 2], [1, 0]]
    payoffs = bimatrix_tensor(row, col)
    assert follower_response(payoffs, 0, 0, "pessimistic") == (0, 1)
    assert follower_response(payoffs, 0, 0, "optimistic") == (0, 0)
    assert follower_response(payoffs, 0, 0) == (0, 1)  # pessimistic is the default
    pess = stackelberg_outcome(payoffs, 0)
    opt = stackelberg_outcome(payoffs, 0, tie_break="optimistic")
    assert pess.actions == (1, 0) and pess.rewards == (3.0, 1.0)
    assert opt.actions == (0, 0) and opt.rewards == (5.0, 2.0)


def test_remaining_ties_go_to_lowest_indices():
    # every profile pays everybody the same: lowest leader action, lexicographically smallest reply
    payoffs = np.ones((3, 3, 3, 3))
    out = stackelberg_outcome(payoffs, 1)
    assert out.actions == (0, 0, 0)
    assert follower_response(payoffs, 2, 2) == (0, 0, 2)


def test_leader_ties_go_to_lowest_action():
    payoffs = np.zeros((3, 3, 2))
    payoffs[..., 0] = np.array([[1, 1, 1]] * 3)
    payoffs[..., 1] = np.array([[0, 0, 1]] * 3)  # follower always prefers action 2
    assert stackelberg_outcome(payoffs, 0).actions == (0, 2)


# ------------------------------------------------------------------ three players
def test_three_player_followers_play_an_equilibrium():
    """Chicken with 3 players (mean pairwise payoffs), worked by hand.

    Leader player_0 dares: the followers' game has pure equilibria (D,C), (C,D), (C,C)
    (a follower facing a swerving other follower is indifferent: mean(0,4) = mean(1,3)).
    The leader earns 2 after (D,C)/(C,D) and 4 after (C,C): pessimistic picks the first
    lexicographic worst (D,C) -> (0, 0, 1) with rewards 2/2/1; optimistic (C,C) -> 4/2/2.
    Leader swerves: equilibria (D,D) (leader 1) and (D,C),(C,D) (leader 2): pessimistic
    gives 1, so daring (2) is better.
    """
    payoffs = tensor("chicken_v0", n_agents=3)
    pess = stackelberg_outcome(payoffs, 0)
    assert pess.actions == (0, 0, 1) and pess.rewards == (2.0, 2.0, 1.0)
    opt = stackelberg_outcome(payoffs, 0, "optimistic")
    assert opt.actions == (0, 1, 1) and opt.rewards == (4.0, 2.0, 2.0)
    assert follower_response(payoffs, 0, 1) == (1, 0, 0)
    # the same holds with player_2 leading (symmetric game)
    assert stackelberg_outcome(payoffs, 2).actions == (0, 1, 0)


def test_followers_equilibrium_not_best_joint_reply():
    # 3 players, 2 actions: followers are in a PD among themselves whatever the leader does
    pd = np.array([[3.0, 0.0], [5.0, 1.0]])
    payoffs = np.zeros((2, 2, 2, 3))
    for a0, a1, a2 in itertools.product(range(2), repeat=3):
        payoffs[a0, a1, a2] = [a0 + a1 + a2, pd[a1, a2] + a0, pd[a2, a1] + a0]
    out = stackelberg_outcome(payoffs, 0)
    assert out.actions == (1, 1, 1) and out.rewards == (3.0, 2.0, 2.0)


# ------------------------------------------------------------------ no pure equilibrium
def _pennies_followers(leader_action_with_equilibrium=None):
    """3 players; the two followers play matching pennies (no pure equilibrium)."""
    payoffs = np.zeros((2, 2, 2, 3))
    for a0, a1, a2 in itertools.product(range(2), repeat=3):
        match = 1.0 if a1 == a2 else -1.0
        payoffs[a0, a1, a2] = [a1 + a2, match, -match]
        if a0 == leader_action_with_equilibrium:
            payoffs[a0, a1, a2] = [1.0, 0.0, 0.0]  # everybody indifferent: all stable
    return payoffs


def test_no_pure_follower_equilibrium():
    payoffs = _pennies_followers()
    assert follower_response(payoffs, 0, 0) is None
    assert follower_response(payoffs, 0, 1) is None
    with pytest.raises(ValueError, match="no leader action leaves the followers a pure"):
        stackelberg_outcome(payoffs, 0)


def test_leader_actions_without_equilibrium_are_skipped():
    payoffs = _pennies_followers(leader_action_with_equilibrium=1)
    assert follower_response(payoffs, 0, 0) is None
    out = stackelberg_outcome(payoffs, 0)
    assert out.actions == (1, 0, 0) and out.rewards == (1.0, 0.0, 0.0)


def test_matrix_env_counts_no_equilibrium_as_fair():
    # 3 players, mean pairwise payoffs: after leader action 1 the followers have no pure equilibrium
    payoff = [[-2, 1, -2], [-2, -1, 3], [1, 0, -2]]
    env = fairlead.make("matrix_game_v0", payoff=payoff, n_agents=3, max_cycles=1)
    raw = env.unwrapped
    assert follower_response(raw.payoff_tensor, 0, 1) is None
    assert follower_response(raw.payoff_tensor, 0, 0) is not None
    env.reset()
    for action in (1, 0, 0):
        env.step(action)
    assert raw.last_stage.leader_fair is True


# ------------------------------------------------------------------ against brute force
def brute_force(payoffs, leader, tie_break):
    """Direct transcription of the documented rule (independent of the solver's vectorisation)."""
    k, n = payoffs.shape[0], payoffs.ndim - 1
    followers = [i for i in range(n) if i != leader]
    best = None
    for la in range(k):
        equilibria = []
        for reply in itertools.product(range(k), repeat=n - 1):
            profile = list(reply)
            profile.insert(leader, la)
            stable = True
            for f in followers:
                for dev in range(k):
                    alt = list(profile)
                    alt[f] = dev
                    if payoffs[tuple(alt)][f] > payoffs[tuple(profile)][f] + 1e-9:
                        stable = False
            if stable:
                equilibria.append(tuple(profile))
        if not equilibria:
            continue
        values = [payoffs[p][leader] for p in equilibria]
        target = min(values) if tie_break == "pessimistic" else max(values)
        chosen = next(p for p, v in zip(equilibria, values) if abs(v - target) <= 1e-9)
        if best is None or payoffs[chosen][leader] > best[0] + 1e-9:
            best = (payoffs[chosen][leader], chosen)
    return None if best is None else best[1]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 3).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(2, 3),
            st.integers(0, n - 1),
            st.sampled_from(["pessimistic", "optimistic"]),
            st.integers(0, 2**32 - 1),
        )
    )
)
def test_matches_brute_force(args):
    n, k, leader, tie_break, seed = args
    rng = np.random.default_rng(seed)
    payoffs = rng.integers(-2, 3, size=(k,) * n + (n,)).astype(float)  # small ints: many ties
    expected = brute_force(payoffs, leader, tie_break)
    if expected is None:
        with pytest.raises(ValueError):
            stackelberg_outcome(payoffs, leader, tie_break)
    else:
        out = stackelberg_outcome(payoffs, leader, tie_break)
        assert out.actions == expected
        assert out.rewards == tuple(payoffs[expected])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "payoffs, leader, tie_break, fragments",
    [
        (np.zeros((2, 2)), 0, "pessimistic", ["shape", "(2, 2)"]),
        (np.zeros((2, 3, 2)), 0, "pessimistic", ["shape", "(2, 3, 2)"]),
        (np.zeros((2, 2, 3)), 0, "pessimistic", ["shape", "(2, 2, 3)"]),
        (np.zeros((2,)), 0, "pessimistic", ["shape"]),
        (np.zeros((2, 2, 2)), 2, "pessimistic", ["leader", "0..1", "got 2"]),
        (np.zeros((2, 2, 2)), -1, "pessimistic", ["leader", "0..1"]),
        (np.zeros((2, 2, 2)), 0, "strong", ["tie_break", "'strong'", "pessimistic", "optimistic"]),
    ],
)
def test_bad_input(payoffs, leader, tie_break, fragments):
    for call in (
        lambda: stackelberg_outcome(payoffs, leader, tie_break),
        lambda: follower_response(payoffs, leader, 0, tie_break),
    ):
        with pytest.raises(ValueError) as info:
            call()
        for fragment in fragments:
            assert fragment in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_payoffs_rejected(bad):
    payoffs = np.zeros((2, 2, 2))
    payoffs[0, 0, 1] = bad
    for call in (lambda: stackelberg_outcome(payoffs, 0), lambda: follower_response(payoffs, 1, 0)):
        with pytest.raises(ValueError, match="payoffs must be finite"):
            call()


@pytest.mark.parametrize("leader_action", [5, 2, -1])
def test_leader_action_out_of_range(leader_action):
    with pytest.raises(ValueError, match=f"leader_action must be in 0..1, got {leader_action}"):
        follower_response(np.zeros((2, 2, 2)), 0, leader_action)


# ------------------------------------------------------------------ fair-action flags in the env
def stage_flags(name, leader, **kwargs):
    """leader_fair of the completed stage for each (leader action, follower action)."""
    flags = {}
    n = kwargs.get("n_agents", 2)
    for la in range(2):
        for fa in range(2):
            env = fairlead.make(name, max_cycles=1, leader=leader, **kwargs)
            env.reset()
            env.step(la)
            for _ in range(n - 1):
                env.step(fa)
            record = env.unwrapped.last_stage
            assert env.infos["player_0"]["last_stage"]["leader_fair"] == record.leader_fair
            flags[la, fa] = record.leader_fair
    return flags


@pytest.mark.parametrize("leader", ["player_0", "player_1"])
@pytest.mark.parametrize("n_agents", [2, 3])
def test_chicken_fair_flags(leader, n_agents):
    flags = stage_flags("chicken_v0", leader, n_agents=n_agents)
    # the flag judges the leader's action, whatever the followers then do
    assert flags == {(0, 0): False, (0, 1): False, (1, 0): True, (1, 1): True}


@pytest.mark.parametrize("leader", ["player_0", "player_1"])
def test_prisoners_dilemma_fair_flags(leader):
    assert set(stage_flags("prisoners_dilemma_v0", leader).values()) == {True}


def test_stag_hunt_fair_flags():
    assert set(stage_flags("stag_hunt_v0", "player_0").values()) == {True}


def test_battle_of_sexes_fair_flags():
    # own favourite is unfair: Bach (0) for player_0, Stravinsky (1) for player_1
    p0 = stage_flags("battle_of_sexes_v0", "player_0")
    assert p0 == {(0, 0): False, (0, 1): False, (1, 0): True, (1, 1): True}
    p1 = stage_flags("battle_of_sexes_v0", "player_1")
    assert p1 == {(0, 0): True, (0, 1): True, (1, 0): False, (1, 1): False}


def test_fair_flag_agrees_with_solver():
    """A leader action is fair iff, after the followers' pessimistic reply, the leader gets <= their mean."""
    payoff = [[2.0, -1.0, 0.5], [3.0, 0.0, -2.0], [1.0, 1.0, 1.0]]
    for n in (2, 3):
        env = fairlead.make("matrix_game_v0", raw=True, payoff=payoff, n_agents=n)
        for leader in range(n):
            for action in range(3):
                profile = follower_response(env.payoff_tensor, leader, action)
                rewards = env.payoff_tensor[profile]
                expected = rewards[leader] <= np.delete(rewards, leader).mean() + 1e-9
                assert env.leader_action_is_fair(leader, action) == expected
