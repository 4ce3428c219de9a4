"""JAM-QL's mechanisms on their own: the players' own history features, the action-based
end-game transfer, and the vector-valued mediator (estimates, choice, checkpoints)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairlead
from fairlead.envs.stackelberg import StageRecord
from fairlead.mediation import MediatorView, mediate
from fairlead.mediation.observation import AGENT_HISTORY_FEATURES, UNFAIR_LEAD_CAP
from fairlead.mediation.transfer import parse_transfer, unfair_advantage, unfair_advantages
from fairlead.trainers.qlearning import QConfig
from fairlead.trainers.vector_mediator import VectorMediator

DARE, CHICKEN = 0, 1


def players(n):
    return [f"player_{i}" for i in range(n)]


# ---------------------------------------------------------------- agent history
def expected_features(agent, past, names):
    """The documented own-history features of ``agent`` after the stage records ``past``."""
    ps = list(past[0].rewards) if past else None
    values = []
    for name in names:
        if name == "unfair_leads":  # unfair leads in which the leader came out ahead of the followers' mean
            gained = [
                r
                for r in past
                if r.leader == agent
                and not r.leader_fair
                and r.rewards[agent] > np.mean([v for p, v in r.rewards.items() if p != agent])
            ]
            values.append(min(len(gained), UNFAIR_LEAD_CAP))
        elif name == "leads":
            values.append(min(sum(r.leader == agent for r in past), 2))
        else:
            if not past:
                values.append(0)
                continue
            returns = {p: sum(r.rewards[p] for r in past) for p in ps}
            values.append(sum(returns[p] < returns[agent] for p in ps))
    return values


@pytest.mark.parametrize("names", [("unfair_leads",), AGENT_HISTORY_FEATURES, ("rank",)])
@pytest.mark.parametrize("selector", ["random", "vote"])
@pytest.mark.parametrize("encoding", ["discrete", "box"])
def test_players_see_their_own_history_as_the_records_give_it(names, selector, encoding):
    n, stages = 3, 8
    env = mediate(
        fairlead.make("chicken_v0", n_agents=n, max_cycles=stages, obs_encoding=encoding),
        selector,
        agent_history=names,
        seed=1,
    )
    base_space = fairlead.make("chicken_v0", n_agents=n, max_cycles=stages, obs_encoding=encoding).observation_space(
        "player_0"
    )["observation"]
    nvec = env.agent_history.nvec
    assert nvec.tolist() == [{"unfair_leads": UNFAIR_LEAD_CAP + 1, "leads": 3, "rank": n}[f] for f in names]
    rng = np.random.default_rng(0)
    seen = set()
    for episode in range(6):
        env.reset(seed=episode)
        past = []
        for agent in env.agent_iter():
            obs, _, terminated, _, _ = env.last()
            record = env.unwrapped.last_stage
            if record is not None and (not past or past[-1] is not record):
                past.append(record)
            expected = expected_features(agent, past, names)
            tail = obs["observation"][base_space.shape[0] :]
            if encoding == "discrete":
                got = tail[: len(names)].tolist()
            else:
                offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
                got = [int(np.argmax(tail[o : o + k])) for o, k in zip(offsets, nvec)]
                assert tail[: nvec.sum()].sum() == len(names)  # one-hot
            assert got == expected
            seen.update(zip(names, got))
            assert env.observation_space(agent).contains(obs)
            env.step(None if terminated else int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert {value for name, value in seen if name == names[0]} >= {0, 1}  # the features vary


def test_agent_history_names_are_checked():
    base = fairlead.make("chicken_v0")
    with pytest.raises(ValueError, match=r"unknown agent_history feature 'rnak' \(did you mean 'rank'\?\)"):
        mediate(base, agent_history=("rnak",))
    with pytest.raises(ValueError, match="names a feature twice"):
        mediate(base, agent_history=("rank", "rank"))
    with pytest.raises(TypeError, match="agent_history must be a tuple"):
        mediate(base, agent_history=3)


# ---------------------------------------------------------------- action transfer
def record(t, leader, rewards, fair, ps):
    return StageRecord(t, leader, dict.fromkeys(ps, 0), dict(zip(ps, map(float, rewards))), fair)


def test_a_lone_unfair_leader_pays_back_kappa_times_its_advantage():
    ps = players(4)
    stages = [
        record(0, "player_1", [1, 4, 2, 3], False, ps),  # advantage 4 - mean(1, 2, 3) = 2
        record(1, "player_2", [0, 0, 9, 0], True, ps),
    ]  # fair: never charged
    returns = np.array([1.0, 4.0, 11.0, 3.0])
    assert unfair_advantages(returns, stages).tolist() == [0, 2, 0, 0]
    for kappa in (0.5, 1.0, 2.0):
        t = unfair_advantage(returns, kappa, stages)
        assert t[1] == pytest.approx(-kappa * 2) and t[[0, 2, 3]] == pytest.approx([kappa * 2 / 3] * 3)
    # an unfair stage in which the leader did no better than the followers costs nothing
    behind = [record(0, "player_0", [1, 4, 4, 4], False, ps)]
    assert unfair_advantage(returns, 2.0, behind).tolist() == [0, 0, 0, 0]


@given(
    st.integers(2, 5),
    st.lists(
        st.tuples(st.integers(0, 4), st.booleans(), st.lists(st.floats(-10, 10), min_size=5, max_size=5)),
        min_size=0,
        max_size=8,
    ),
    st.floats(0, 10),
)
def test_action_transfer_is_zero_sum_and_charges_only_unfair_leaders(n, raw, kappa):
    ps = players(n)
    stages = [record(t, ps[leader % n], rewards[:n], fair, ps) for t, (leader, fair, rewards) in enumerate(raw)]
    returns = np.array([sum(s.rewards[p] for s in stages) for p in ps])
    transfer = parse_transfer(("unfair_advantage", kappa))
    t = transfer(returns, stages)
    assert abs(t.sum()) <= 1e-9 * max(1.0, np.abs(t).sum())
    u = unfair_advantages(returns, stages)
    assert (u >= 0).all()
    charged = {ps.index(s.leader) for s in stages if not s.leader_fair}
    assert all(u[i] == 0 for i in range(n) if i not in charged)
    assert t.tolist() == pytest.approx((-kappa * n / (n - 1) * (u - u.mean())).tolist(), abs=1e-9)


def test_in_chicken_the_action_transfer_makes_daring_a_loss_and_pays_it_to_the_follower():
    env = mediate(fairlead.make("chicken_v0", n_agents=2, max_cycles=2), "fixed", transfer=("unfair_advantage", 2.0))
    env.reset()
    env.step(DARE), env.step(CHICKEN)  # 4 / 1: the leader took 3 unfairly
    env.step(CHICKEN), env.step(DARE)  # 1 / 4: a fair lead
    assert env.infos["player_0"]["transfer"] == {"player_0": -6.0, "player_1": 6.0}
    assert env.infos["player_0"]["returns_before_transfer"] == {"player_0": 5.0, "player_1": 5.0}


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 4),
    st.integers(1, 6),
    st.sampled_from([0.5, 1.0, ("unfair_advantage", 2.0), ("unfair_advantage", 4.0)]),
    st.integers(0, 2**31),
)
def test_a_transfer_settled_stage_by_stage_pays_the_end_game_transfer_in_installments(n, cycles, transfer, seed):
    """settle="stage": every stage's payment is zero-sum and is the change in the transfer of the stages so far,
    so the payments add up to the end-game transfer and the returns after transfer are the same."""
    envs = {
        settle: mediate(
            fairlead.make("chicken_v0", n_agents=n, max_cycles=cycles), "random", transfer=transfer, settle=settle
        )
        for settle in ("end", "stage")
    }
    paid, final = {}, {}
    for settle, env in envs.items():
        env.reset(seed=seed)
        rng, paid[settle] = np.random.default_rng(seed), []
        while env.agents:
            stages, done = len(env.stage_records), env.terminations[env.agent_selection]
            env.step(None if done else int(rng.integers(2)))
            if len(env.stage_records) > stages:  # a stage completed: what its step paid beyond the env's rewards
                record = env.stage_records[-1]
                paid[settle].append([env.rewards[p] - record.rewards[p] for p in env.possible_agents])
                final[settle] = dict(env.infos["player_0"])
    end, stage = np.array(paid["end"]), np.array(paid["stage"])
    assert np.all(end[:-1] == 0.0)  # the end-game transfer is paid with the last stage only
    assert np.allclose(stage.sum(axis=1), 0.0, atol=1e-9)  # every installment is zero-sum
    assert np.allclose(stage.sum(axis=0), end.sum(axis=0), atol=1e-9)
    assert final["end"]["transfer"] == final["stage"]["transfer"]  # the same transfer, bit for bit
    assert final["end"]["returns_after_transfer"] == final["stage"]["returns_after_transfer"]


def test_in_chicken_a_stage_settled_transfer_charges_the_unfair_leader_in_the_stage_it_dares():
    env = mediate(
        fairlead.make("chicken_v0", n_agents=2, max_cycles=2),
        "fixed",
        transfer=("unfair_advantage", 2.0),
        settle="stage",
    )
    env.reset()
    env.step(DARE), env.step(CHICKEN)  # 4 / 1: the leader took 3 unfairly and pays 6 now
    assert env.rewards == {"player_0": -2.0, "player_1": 7.0}
    env.step(CHICKEN), env.step(DARE)  # 1 / 4: a fair lead costs nothing
    assert env.rewards == {"player_0": 1.0, "player_1": 4.0}
    assert env.infos["player_0"]["transfer"] == {"player_0": -6.0, "player_1": 6.0}


def test_settle_must_be_end_or_stage():
    for bad in ("now", None, 1):
        with pytest.raises(ValueError, match=r"settle must be one of 'end', 'stage'.*got"):
            mediate(fairlead.make("chicken_v0"), "fixed", settle=bad)


def test_transfer_rules_with_and_without_stages_both_work():
    def two_args(returns, beta):
        return -beta * (returns - returns.mean())

    def three_args(returns, strength, stages):
        return np.zeros_like(returns) + len(stages) * 0

    returns = np.array([3.0, 1.0])
    assert parse_transfer((two_args, 0.5))(returns, ()).tolist() == [-0.5, 0.5]
    assert parse_transfer((three_args, 0.5))(returns, (1, 2)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\], got 1.5"):
        parse_transfer(1.5)
    assert parse_transfer(["unfair_advantage", 3]).describe() == ["unfair_advantage", 3.0]
    assert parse_transfer(0.25).describe() == 0.25


# ---------------------------------------------------------------- vector mediator
def mediator(n=3, T=4, gamma=1.0, **kwargs):
    return VectorMediator(n, T, QConfig(alpha=0.5, gamma=gamma), np.random.default_rng(0), **kwargs)


def view(stage, returns, leaders=(), fair=()):
    ps = tuple(players(len(returns)))
    return MediatorView(
        stage,
        ps,
        dict(zip(ps, map(float, returns))),
        tuple(leaders),
        tuple(fair),
        np.zeros(1, np.int64),
        np.random.default_rng(0),
    )


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0])
def test_estimates_move_towards_the_discounted_reward_vector_to_come(gamma):
    ps = players(2)
    m = mediator(n=2, T=2, gamma=gamma, use_reputation=False)
    stages = [record(0, "player_0", [4, 1], False, ps), record(1, "player_1", [1, 4], True, ps)]
    m.learn(stages, ps)
    later = np.array([1.0, 4.0])
    assert m.values[1, 1, 0].tolist() == pytest.approx((0.5 * later).tolist())
    assert m.values[0, 0, 0].tolist() == pytest.approx((0.5 * (np.array([4.0, 1.0]) + gamma * later)).tolist())
    assert not m.values[0, 1].any() and not m.values[1, 0].any()  # only the leaders that led


def test_reputation_keys_the_estimate_of_an_agent_that_led_before():
    ps = players(2)
    m = mediator(n=2, T=3, gamma=0.0)
    stages = [
        record(0, "player_0", [4, 1], False, ps),
        record(1, "player_1", [1, 4], True, ps),
        record(2, "player_0", [4, 1], False, ps),
    ]
    m.learn(stages, ps)
    assert m.values[2, 0, 2].tolist() == [2.0, 0.5]  # player_0 at stage 2 with an unfair last lead
    assert not m.values[2, 0, 0].any()


def test_greedy_choice_is_the_fairest_predicted_final_returns():
    m = mediator(n=3, T=2, use_reputation=False)
    m.values[1, :, 0] = [[3, 0, 0], [0, 3, 0], [0, 0, 3]]  # whoever leads gains 3
    assert m.select(view(1, [0, 5, 5])) == "player_0"  # the one behind catches up
    assert m.select(view(1, [5, 5, 2])) == "player_2"
    assert m.select(view(1, [0, 0, 0])) == "player_0"  # ties: the lowest index
    blind = mediator(n=3, T=2, use_returns=False, use_reputation=False)
    blind.values[1, :, 0] = [[3, 0, 0], [1, 1, 1], [0, 0, 3]]
    assert blind.select(view(1, [0, 5, 5])) == "player_1"  # without history: the fairest stage alone


def test_exploration_only_while_training_and_state_round_trips():
    m = mediator(n=4, T=3)
    m.values[0, :, 0] = np.eye(4)[::-1] * 0  # all equal: greedy is player_0
    m.explore, m.epsilon = True, 1.0
    picks = {m.select(view(0, [0, 0, 0, 0])) for _ in range(50)}
    assert picks == set(players(4))
    m.explore = False
    assert {m.select(view(0, [0, 0, 0, 0])) for _ in range(5)} == {"player_0"}
    m.values[...] = np.random.default_rng(1).normal(size=m.values.shape)
    copy = mediator(n=4, T=3)
    copy.load_state_dict(m.state_dict())
    assert np.array_equal(copy.values, m.values)
    assert copy.rng.bit_generator.state == m.rng.bit_generator.state
    with pytest.raises(ValueError, match="this run needs"):
        mediator(n=2, T=3).load_state_dict(m.state_dict())
