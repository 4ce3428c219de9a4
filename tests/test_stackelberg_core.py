"""The Stackelberg stage protocol of ``fairlead.envs.stackelberg`` (see its module docstring)."""

from __future__ import annotations

import itertools

import numpy as np
import pettingzoo
import pytest
from conftest import config_id, suite_configs

import fairlead
from fairlead.envs.stackelberg import StackelbergEnv
from fairlead.solver import stackelberg_outcome

ENCODINGS = ("discrete", "box")
DARE, CHICKEN = 0, 1
CHICKEN_PAYOFF = np.array([[0.0, 4.0], [1.0, 3.0]])


def _raw(name="chicken_v0", **kwargs):
    return fairlead.make(name, raw=True, **kwargs)


def decode(env, obs):
    """Feature vector [role, leader_action + 1, stage, ...] from either encoding."""
    env = env.unwrapped
    nvec = env.obs_nvec
    if env.obs_encoding == "discrete":
        assert obs.dtype == np.int64 and obs.shape == nvec.shape
        assert np.all((0 <= obs) & (obs < nvec))
        return tuple(int(x) for x in obs)
    assert obs.dtype == np.float32 and obs.shape == (nvec.sum(),)
    assert set(np.unique(obs)) <= {0.0, 1.0}
    features, start = [], 0
    for size in nvec:
        segment = obs[start : start + size]
        assert segment.sum() == 1.0, f"one-hot segment {segment} must have exactly one 1"
        features.append(int(np.argmax(segment)))
        start += size
    return tuple(features)


def play(env, actions):
    """Step the AEC env with ``actions`` (one per turn, in turn order)."""
    for action in actions:
        env.step(action)


# ------------------------------------------------------------------ observations
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("payoff", [CHICKEN_PAYOFF, np.arange(16.0).reshape(4, 4)])
def test_follower_observes_leader_action(encoding, payoff):
    k = len(payoff)
    for leader_action in range(k):
        env = fairlead.make("matrix_game_v0", payoff=payoff, n_agents=3, max_cycles=5, obs_encoding=encoding)
        env.reset(seed=0)
        play(env, [0, 1, 0])  # stage 0
        assert env.agent_selection == "player_0"
        role, seen, stage = decode(env, env.last()[0]["observation"])
        assert (role, seen, stage) == (0, 0, 1)  # the leader has not acted yet
        env.step(leader_action)
        for follower in ("player_1", "player_2"):
            role, seen, stage = decode(env, env.observe(follower)["observation"])
            assert (role, seen, stage) == (1, leader_action + 1, 1)
        # the leader itself also sees its own action once it has played
        assert decode(env, env.observe("player_0")["observation"]) == (0, leader_action + 1, 1)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_box_is_one_hot_of_discrete(encoding):
    disc = _raw(n_agents=3, max_cycles=4)
    box = _raw(n_agents=3, max_cycles=4, obs_encoding="box")
    disc.reset()
    box.reset()
    for action in [1, 0, 1, 0, 1, 1]:
        for agent in disc.possible_agents:
            d = disc.observe(agent)
            b = box.observe(agent)
            expected = np.zeros(disc.obs_nvec.sum(), np.float32)
            offsets = np.concatenate([[0], np.cumsum(disc.obs_nvec)[:-1]])
            expected[offsets + d["observation"]] = 1.0
            np.testing.assert_array_equal(b["observation"], expected)
            np.testing.assert_array_equal(b["action_mask"], d["action_mask"])
        disc.step(action)
        box.step(action)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("n_agents", [3, 4])
@pytest.mark.parametrize("leader", ["player_0", "player_2"])
def test_followers_do_not_see_each_other(encoding, n_agents, leader):
    """Whatever an earlier follower plays, a later follower's view is identical (every field)."""
    payoff = np.arange(9.0).reshape(3, 3)
    for leader_action in range(3):
        views = []
        for earlier in itertools.product(range(3), repeat=n_agents - 2):
            env = fairlead.make(
                "matrix_game_v0", payoff=payoff, n_agents=n_agents, max_cycles=3, obs_encoding=encoding, leader=leader
            )
            env.reset(seed=1)
            env.step(leader_action)
            play(env, earlier)  # all followers but the last
            last_follower = env.agent_selection
            obs, reward, term, trunc, info = env.last()
            others = {a: env.observe(a) for a in env.agents}
            views.append((last_follower, obs, reward, term, trunc, info, others))
        first = views[0]
        for view in views[1:]:
            assert view[0] == first[0]
            for field_a, field_b in zip(view[1:], first[1:]):
                _assert_same(field_a, field_b)
        # and a follower's view equals the first follower's (same role, same leader action)
        assert decode(env, first[1]["observation"])[:2] == (1, leader_action + 1)


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_parallel_view_keeps_stackelberg_order():
    payoff = np.arange(9.0).reshape(3, 3)
    seen = []
    for reply in range(3):
        par = fairlead.make("matrix_game_v0", parallel=True, payoff=payoff, n_agents=3, max_cycles=2)
        obs, _ = par.reset()
        obs, *_ = par.step({"player_0": 2, "player_1": 0, "player_2": 0})
        assert [decode(par.aec_env, obs[a]["observation"])[:2] for a in ("player_1", "player_2")] == [(1, 3)] * 2
        obs, rewards, *_ = par.step({"player_0": 0, "player_1": reply, "player_2": 1})
        seen.append(rewards)
    # the stage's actions arrive together with the rewards, and differ by player_1's reply
    assert len({tuple(r.values()) for r in seen}) == 3


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_stage_and_role_features(encoding):
    env = _raw(n_agents=3, max_cycles=4, obs_encoding=encoding, leader="round_robin")
    env.reset()
    for stage in range(4):
        leader = f"player_{stage % 3}"
        assert env.leader == leader and env.stage == stage
        for agent in env.possible_agents:
            role, seen, s = decode(env, env.observe(agent)["observation"])
            assert (role, seen, s) == (0 if agent == leader else 1, 0, stage)
        play(env, [1, 0, 0])
    # the final observation shows stage == max_cycles
    for agent in env.possible_agents:
        assert decode(env, env.observe(agent)["observation"])[2] == 4
    assert env.phase == "done" and env.acting_agents == []


def test_spaces_are_identical_for_all_agents():
    for encoding in ENCODINGS:
        env = _raw(n_agents=4, obs_encoding=encoding)
        assert len({id(env.observation_space(a)) for a in env.possible_agents}) == 1
        assert len({id(env.action_space(a)) for a in env.possible_agents}) == 1
        space = env.observation_space("player_0")["observation"]
        if encoding == "discrete":
            np.testing.assert_array_equal(space.nvec, [2, 3, 11])
        else:
            assert space.shape == (2 + 3 + 11,) and space.dtype == np.float32


# ------------------------------------------------------------------ masks and phases
@pytest.mark.parametrize("config", suite_configs(n_agents=(2, 3)), ids=config_id)
def test_masks_of_waiting_agents(config):
    name, kwargs = config
    env = fairlead.make(name, **kwargs)
    env.reset()
    k = env.action_space("player_0").n
    wait = np.eye(k, dtype=np.int8)[0]
    raw = env.unwrapped
    while raw.phase != "done":
        acting = raw.acting_agents
        assert acting == ([raw.leader] if raw.phase == "lead" else [a for a in raw.possible_agents if a != raw.leader])
        for agent in raw.possible_agents:
            mask = env.observe(agent)["action_mask"]
            assert mask.dtype == np.int8 and mask.shape == (k,)
            if agent not in acting:
                np.testing.assert_array_equal(mask, wait)
            else:
                assert mask.any()
        assert env.agent_selection in acting
        env.step(int(np.flatnonzero(env.observe(env.agent_selection)["action_mask"])[-1]))
    for agent in raw.possible_agents:
        np.testing.assert_array_equal(env.observe(agent)["action_mask"], wait)


def test_parallel_view_ignores_waiting_agents_actions():
    results = []
    for waiting_action in (0, 1):
        par = fairlead.make("chicken_v0", parallel=True, n_agents=3, max_cycles=3)
        par.reset()
        trace = []
        while par.agents:
            acting = par.aec_env.unwrapped.acting_agents
            actions = {a: (DARE if a in acting else waiting_action) for a in par.agents}
            obs, rewards, terms, truncs, infos = par.step(actions)
            trace.append((rewards, {a: o["observation"].tolist() for a, o in obs.items()}))
        results.append(trace)
    assert results[0] == results[1]
    assert len(results[0]) == 6


def test_parallel_view_requires_acting_agents():
    par = fairlead.make("chicken_v0", parallel=True, n_agents=3)
    par.reset()
    with pytest.raises(ValueError, match=r"missing \['player_0'\]"):
        par.step({"player_1": 0, "player_2": 0})
    par.step({"player_0": 0})  # waiting agents may be left out
    with pytest.raises(ValueError, match="player_2"):
        par.step({"player_1": 0})


# ------------------------------------------------------------------ rewards and end
def test_rewards_arrive_when_stage_completes_chicken():
    env = fairlead.make("chicken_v0", max_cycles=2)
    env.reset()
    env.step(DARE)  # leader
    assert env.rewards == {"player_0": 0.0, "player_1": 0.0}
    assert env.last()[1] == 0.0  # follower has nothing yet
    env.step(CHICKEN)
    assert env.rewards == {"player_0": 4.0, "player_1": 1.0}
    assert env.agent_selection == "player_0"
    assert env.last()[1] == 4.0  # the leader's stage reward at its next turn
    env.step(CHICKEN)
    assert env.rewards == {"player_0": 0.0, "player_1": 0.0}
    assert env.last()[1] == 1.0  # the follower's stage reward at its next turn
    env.step(DARE)  # last stage: player_0 chicken, player_1 dare
    assert env.rewards == {"player_0": 1.0, "player_1": 4.0}
    assert all(env.terminations.values()) and not any(env.truncations.values())
    finals = {}
    for agent in env.agent_iter():
        _, reward, term, trunc, info = env.last()
        assert term and not trunc
        finals[agent] = reward
        env.step(None)
    assert finals == {"player_0": 1.0, "player_1": 4.0}
    assert env.unwrapped.episode_returns == {"player_0": 5.0, "player_1": 5.0}


@pytest.mark.parametrize("config", suite_configs(n_agents=(2, 3)), ids=config_id)
def test_last_gives_stage_reward_and_returns_add_up(config):
    name, kwargs = config
    env = fairlead.make(name, max_cycles=6, leader="round_robin", **kwargs)
    env.reset(seed=3)
    raw = env.unwrapped
    rng = np.random.default_rng(0)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    from_last = dict.fromkeys(env.possible_agents, 0.0)
    expected_last = dict.fromkeys(env.possible_agents, 0.0)
    records = []
    for agent in env.agent_iter():
        obs, reward, term, trunc, info = env.last()
        assert reward == pytest.approx(expected_last[agent])
        from_last[agent] += reward
        expected_last[agent] = 0.0
        if term or trunc:
            assert term and not trunc
            env.step(None)
            continue
        assert not trunc
        stage_before = raw.stage
        env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        if raw.stage != stage_before:  # the stage completed with this step
            record = raw.last_stage
            records.append(record)
            assert record.stage == stage_before
            assert record.rewards == env.rewards
            for a, r in env.rewards.items():
                totals[a] += r
                expected_last[a] += r
        else:
            assert all(r == 0.0 for r in env.rewards.values())
    assert len(records) == 6
    assert [r.leader for r in records] == [f"player_{s % kwargs['n_agents']}" for s in range(6)]
    assert raw.episode_returns == pytest.approx(totals)
    assert from_last == pytest.approx(totals)


def test_episode_returns_in_final_info():
    env = fairlead.make("prisoners_dilemma_v0", max_cycles=3)
    env.reset()
    play(env, [0, 1, 1, 0, 1, 1])  # (C,D): 0/5, (D,C) 5/0, (D,D) 1/1
    for agent in env.possible_agents:
        assert env.infos[agent]["episode_returns"] == {"player_0": 6.0, "player_1": 6.0}
        assert env.infos[agent]["stage"] == 3
    assert env.unwrapped.episode_returns == {"player_0": 6.0, "player_1": 6.0}
    assert env.unwrapped.return_scale == 3 * 5.0
    env.reset()
    assert env.unwrapped.episode_returns == {"player_0": 0.0, "player_1": 0.0}
    assert env.unwrapped.last_stage is None


# ------------------------------------------------------------------ leader protocol
def test_set_leader_in_lead_phase():
    env = fairlead.make("chicken_v0", n_agents=3, max_cycles=2, leader=None)
    env.reset()
    raw = env.unwrapped
    assert raw.leader is None and raw.acting_agents == [] and raw.phase == "lead"
    assert all(decode(env, env.observe(a)["observation"])[0] == 1 for a in env.agents)  # nobody leads yet
    assert all(env.observe(a)["action_mask"].tolist() == [1, 0] for a in env.agents)  # everyone waits
    with pytest.raises(RuntimeError, match="stage 0 has no leader yet.*set_leader"):
        env.step(DARE)
    raw.set_leader("player_2")
    assert raw.leader == "player_2" and env.agent_selection == "player_2"
    assert raw.acting_agents == ["player_2"]
    assert env.infos["player_0"]["leader"] == "player_2"
    assert decode(env, env.observe("player_2")["observation"])[0] == 0
    assert decode(env, env.observe("player_0")["observation"])[0] == 1
    raw.set_leader("player_1")  # may change its mind before the leader acts
    assert env.agent_selection == "player_1"
    env.step(DARE)
    assert raw.phase == "follow" and raw.acting_agents == ["player_0", "player_2"]
    with pytest.raises(RuntimeError, match="phase 'lead'.*'follow'"):
        raw.set_leader("player_0")
    play(env, [CHICKEN, CHICKEN])
    assert raw.last_stage.leader == "player_1"
    assert raw.last_stage.rewards == {"player_0": 2.0, "player_1": 4.0, "player_2": 2.0}
    assert raw.leader is None  # the next stage waits for set_leader again
    raw.set_leader("player_0")
    play(env, [0, 0, 0])
    assert [r.leader for r in raw.stage_records] == ["player_1", "player_0"]
    with pytest.raises(RuntimeError, match="'done'"):
        raw.set_leader("player_0")


def test_an_env_with_its_own_leader_rule_refuses_set_leader():
    env = fairlead.make("chicken_v0", n_agents=3, max_cycles=2, leader="round_robin")
    env.reset()
    with pytest.raises(RuntimeError, match=r"chooses its leaders itself \(RoundRobinSelector\(\)\).*leader=None"):
        env.unwrapped.set_leader("player_2")
    assert env.unwrapped.leader == "player_0"


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("catch_up", ["player_0", "player_1", "player_2", "player_0"]),  # the lowest return leads, ties to index
        (
            fairlead.mediation.CallableSelector(lambda view: view.agents[-1 - view.stage % 2]),
            ["player_2", "player_1", "player_2", "player_1"],
        ),
    ],
)
def test_any_selector_is_an_env_leader_rule(rule, expected):
    env = _raw(n_agents=3, max_cycles=4, leader=rule)
    env.reset(seed=0)
    leaders = []
    while env.phase != "done":
        leaders.append(env.leader)
        play(env, [DARE, CHICKEN, CHICKEN])  # the leader dares, the followers swerve
    assert leaders == expected


def test_random_leader_rule_is_seeded():
    def leaders(seed):
        env = _raw(n_agents=3, max_cycles=6, leader="random")
        env.reset(seed=seed)
        out = []
        while env.phase != "done":
            out.append(env.leader)
            play(env, [0, 0, 0])
        return out

    assert leaders(1) == leaders(1) and len(set(leaders(1) + leaders(2))) > 1


@pytest.mark.parametrize("bad", ["player_3", "mediator", 0, None])
def test_set_leader_rejects_non_agents(bad):
    env = _raw(n_agents=3)
    env.reset()
    with pytest.raises(ValueError, match=r"valid agents are \['player_0', 'player_1', 'player_2'\]"):
        env.set_leader(bad)
    assert env.leader == "player_0"


def test_round_robin_and_fixed_leader_rules():
    env = _raw(n_agents=3, max_cycles=7, leader="round_robin")
    env.reset()
    leaders = []
    while env.phase != "done":
        leaders.append(env.leader)
        play(env, [0, 0, 0])
    assert leaders == [f"player_{s % 3}" for s in range(7)]
    env = _raw(n_agents=3, max_cycles=3, leader="player_1")
    env.reset()
    leaders = []
    while env.phase != "done":
        leaders.append(env.leader)
        assert env.agent_selection == "player_1"
        play(env, [0, 0, 0])
    assert leaders == ["player_1"] * 3


# ------------------------------------------------------------------ payoffs
@pytest.mark.parametrize("leader", ["player_0", "player_1", "player_2"])
def test_three_player_chicken_is_mean_of_pairwise(leader):
    # pairwise (row's reward): DD 0, DC 4, CD 1, CC 3
    by_hand = {
        (DARE, DARE, DARE): (0, 0, 0),
        (DARE, CHICKEN, CHICKEN): (4, 2, 2),  # D vs C,C: 4,4; C vs D,C: 1,3
        (DARE, DARE, CHICKEN): (2, 2, 1),  # D vs D,C: 0,4; C vs D,D: 1,1
        (CHICKEN, CHICKEN, CHICKEN): (3, 3, 3),
        (CHICKEN, DARE, CHICKEN): (2, 4, 2),
        (CHICKEN, CHICKEN, DARE): (2, 2, 4),
        (CHICKEN, DARE, DARE): (1, 2, 2),  # C vs D,D: 1,1; D vs C,D: 4,0
    }
    for actions, expected in by_hand.items():
        env = _raw(n_agents=3, max_cycles=1, leader=None)
        env.reset()
        env.set_leader(leader)
        order = [leader] + [a for a in env.possible_agents if a != leader]
        for agent in order:
            assert env.agent_selection == agent
            env.step(actions[env.agent_name_mapping[agent]])
        assert env.last_stage.actions == {f"player_{i}": a for i, a in enumerate(actions)}
        assert env.last_stage.rewards == {f"player_{i}": float(r) for i, r in enumerate(expected)}


@pytest.mark.parametrize("n_agents", [2, 4, 5])
def test_mean_pairwise_general(n_agents):
    payoff = np.array([[1.5, -2.0, 7.0], [0.25, 3.0, -1.0], [4.0, 0.0, 2.0]])
    env = fairlead.make("matrix_game_v0", raw=True, payoff=payoff, n_agents=n_agents, max_cycles=1)
    rng = np.random.default_rng(7)
    for _ in range(10):
        env.reset()
        actions = rng.integers(0, 3, n_agents)
        play(env, actions.tolist())
        for p in range(n_agents):
            expected = np.mean([payoff[actions[p], actions[q]] for q in range(n_agents) if q != p])
            assert env.last_stage.rewards[f"player_{p}"] == pytest.approx(expected)


# The published stage games each env card cites, row player (player_0) first:
# {(row action, column action): (row payoff, column payoff)}, and the subgame-perfect
# stage outcome: (player_0's action when it leads, leader's payoff, follower's payoff).
PUBLISHED = {
    # Axelrod, The Evolution of Cooperation (1984): T=5, R=3, P=1, S=0
    "prisoners_dilemma_v0": (
        {
            ("Cooperate", "Cooperate"): (3, 3),
            ("Cooperate", "Defect"): (0, 5),
            ("Defect", "Cooperate"): (5, 0),
            ("Defect", "Defect"): (1, 1),
        },
        ("Defect", 1, 1),
    ),
    # OpenSpiel matrix_cd (Dare/Chicken)
    "chicken_v0": (
        {
            ("Dare", "Dare"): (0, 0),
            ("Dare", "Chicken"): (4, 1),
            ("Chicken", "Dare"): (1, 4),
            ("Chicken", "Chicken"): (3, 3),
        },
        ("Dare", 4, 1),
    ),
    # OpenSpiel matrix_sh
    "stag_hunt_v0": (
        {("Stag", "Stag"): (2, 2), ("Stag", "Hare"): (0, 1), ("Hare", "Stag"): (1, 0), ("Hare", "Hare"): (1, 1)},
        ("Stag", 2, 2),
    ),
    # OpenSpiel matrix_bos: player_0 prefers Bach, player_1 Stravinsky
    "battle_of_sexes_v0": (
        {
            ("Bach", "Bach"): (3, 2),
            ("Stravinsky", "Stravinsky"): (2, 3),
            ("Bach", "Stravinsky"): (0, 0),
            ("Stravinsky", "Bach"): (0, 0),
        },
        ("Bach", 3, 2),
    ),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_payoffs_and_stackelberg_outcomes(name):
    """Every action profile played through the env pays the published table, whoever leads,
    and the solver on the payoffs the env paid gives the published leader/follower outcome."""
    table, (leader_choice, leader_pay, follower_pay) = PUBLISHED[name]
    names = fairlead.make(name).unwrapped.action_names
    assert {a for pair in table for a in pair} == set(names)
    for leader in (0, 1):
        paid = np.zeros((2, 2, 2))
        for a0, a1 in itertools.product(range(2), repeat=2):
            env = fairlead.make(name, max_cycles=1, leader=f"player_{leader}")
            env.reset(seed=0)
            play(env, [a0, a1] if leader == 0 else [a1, a0])
            stage = env.unwrapped.last_stage
            assert stage.leader == f"player_{leader}"
            assert stage.actions == {"player_0": a0, "player_1": a1}
            paid[a0, a1] = env.rewards["player_0"], env.rewards["player_1"]
        assert {(names[a0], names[a1]): tuple(paid[a0, a1]) for a0, a1 in np.ndindex(2, 2)} == table
        outcome = stackelberg_outcome(paid, leader)
        follower = 1 - leader
        assert (outcome.rewards[leader], outcome.rewards[follower]) == (leader_pay, follower_pay)
        if leader == 0:
            assert names[outcome.actions[0]] == leader_choice


def test_bimatrix_payoffs_follow_player_identity():
    # a user bimatrix: payoff[0] is player_0's, payoff[1] player_1's, rows = player_0's action
    payoff = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[-1, -2, -3], [-4, -5, -6], [-7, -8, -9]]]
    env = fairlead.make("matrix_game_v0", payoff=payoff, leader="player_1", max_cycles=1)
    env.reset()
    play(env, [2, 1])  # player_1 leads with 2, then player_0 plays 1
    assert env.unwrapped.last_stage.rewards == {"player_0": 6.0, "player_1": -6.0}


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"n_agents": 1}, ValueError, ["n_agents", ">= 2", "got 1"]),
        ({"n_agents": 0}, ValueError, ["n_agents", ">= 2"]),
        ({"n_agents": 2.0}, TypeError, ["n_agents", "integer"]),
        ({"n_agents": "3"}, TypeError, ["n_agents", "integer"]),
        ({"n_agents": True}, TypeError, ["n_agents", "integer"]),
        ({"max_cycles": 0}, ValueError, ["max_cycles", ">= 1", "got 0"]),
        ({"max_cycles": -5}, ValueError, ["max_cycles", ">= 1"]),
        ({"max_cycles": 2.5}, TypeError, ["max_cycles", "integer"]),
        ({"max_cycles": 10**20}, ValueError, ["max_cycles", "at most 2147483646", "got 100000000000000000000"]),
        ({"n_agents": 2**40}, ValueError, ["n_agents", "at most"]),
        ({"obs_encoding": "onehot"}, ValueError, ["obs_encoding", "'onehot'", "discrete", "box"]),
        ({"leader": "player_7"}, ValueError, ["leader", "'player_7'", "round_robin", "player_0"]),
        ({"leader": "lottery"}, ValueError, ["leader rule", "'lottery'", "round_robin", "catch_up", "None"]),
        ({"leader": "vote"}, ValueError, ["vote phase", "fairlead.mediate"]),
        ({"leader": "learned"}, TypeError, ["needs policy="]),
        ({"leader": 3}, TypeError, ["selector must be a name"]),
        ({"render_mode": "human"}, ValueError, ["render_mode", "'human'", "ansi"]),
        ({"render_mode": "rgb_array"}, ValueError, ["render_mode", "ansi"]),
    ],
)
@pytest.mark.parametrize("name", ["chicken_v0", "matrix_game_v0"])
def test_bad_constructor_arguments(name, kwargs, error, fragments):
    if name == "matrix_game_v0":
        kwargs = {"payoff": [[1, 0], [0, 1]], **kwargs}
    with pytest.raises(error) as info:
        fairlead.make(name, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    "payoff, n_agents, fragments",
    [
        ([[1, 2, 3], [4, 5, 6]], 2, ["k x k", "(2, 3)"]),
        ([1, 2, 3, 4], 2, ["k x k", "(4,)"]),
        ([[5.0]], 2, ["k >= 2", "(1, 1)"]),
        ([[[1, 2], [3, 4]]] * 3, 2, ["2 x k x k", "(3, 2, 2)"]),
        ([[[1, 2, 3], [3, 4, 5]], [[1, 2, 3], [3, 4, 5]]], 2, ["(2, 2, 3)"]),
        ([[1, float("nan")], [0, 1]], 2, ["finite"]),
        ([[1, float("inf")], [0, 1]], 3, ["finite"]),
        ([[[1, 0], [0, 1]], [[1, 0], [0, -np.inf]]], 2, ["finite"]),
        ([[[3, 0], [0, 2]], [[2, 0], [0, 3]]], 3, ["bimatrix", "2 players", "n_agents=3"]),
        ([[1, 2], [3]], 2, ["numeric"]),
    ],
)
def test_bad_payoff(payoff, n_agents, fragments):
    with pytest.raises(ValueError) as info:
        fairlead.make("matrix_game_v0", payoff=payoff, n_agents=n_agents)
    message = str(info.value)
    assert "payoff" in message or "bimatrix" in message
    for fragment in fragments:
        assert fragment in message


def test_bad_action_names():
    with pytest.raises(ValueError, match="action_names needs 2 names, got 3"):
        fairlead.make("matrix_game_v0", payoff=[[1, 0], [0, 1]], action_names=("a", "b", "c"))


def test_missing_payoff():
    with pytest.raises(TypeError, match="payoff"):
        fairlead.make("matrix_game_v0")


@pytest.mark.parametrize(
    "typo, suggestion",
    [("chiken_v0", "chicken_v0"), ("prisoner_dilemma_v0", "prisoners_dilemma_v0"), ("stag_hunt_v1", "stag_hunt_v0")],
)
def test_unknown_env_name_suggests_nearest(typo, suggestion):
    with pytest.raises(ValueError) as info:
        fairlead.make(typo)
    message = str(info.value)
    assert f"unknown environment or scenario {typo!r}" in message
    assert f"did you mean {suggestion!r}" in message
    assert "chicken_v0" in message  # lists the valid names


# Wrapped env (what fairlead.make / pettingzoo.make return) and the bare raw_env alike.
RAW_AND_WRAPPED = [pytest.param(True, id="raw"), pytest.param(False, id="wrapped")]


@pytest.mark.parametrize("raw", RAW_AND_WRAPPED)
@pytest.mark.parametrize("action", [2, -1, 17])
def test_out_of_range_action(raw, action):
    env = fairlead.make("chicken_v0", raw=raw)
    env.reset()
    with pytest.raises(ValueError) as info:
        env.step(action)
    message = str(info.value)
    assert f"action {action} is out of range" in message
    assert "0..1" in message and "Dare, Chicken" in message
    assert env.agent_selection == "player_0" and env.unwrapped.phase == "lead"  # nothing lost


@pytest.mark.parametrize("raw", RAW_AND_WRAPPED)
@pytest.mark.parametrize("action", [1.0, "1", None, [1]])
def test_non_integer_action(raw, action):
    env = fairlead.make("chicken_v0", raw=raw)
    env.reset()
    with pytest.raises(TypeError, match="must be an integer in 0..1"):
        env.step(action)
    assert env.agent_selection == "player_0"


@pytest.mark.parametrize("raw", [True, False])
def test_bool_action_rejected(raw):
    env = fairlead.make("chicken_v0", raw=raw)
    env.reset()
    with pytest.raises(TypeError, match="must be an integer in 0..1, got True"):
        env.step(True)


@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("action", [np.int64(1), np.int8(1), np.uint16(1), 1])
def test_numpy_integer_actions_accepted(raw, action):
    env = fairlead.make("chicken_v0", raw=raw)
    env.reset()
    env.step(action)
    assert env.unwrapped.phase == "follow"


@pytest.mark.parametrize("raw", [True, False])
def test_zero_dim_array_action_accepted(raw):
    """An action the env's own action space contains is accepted."""
    env = fairlead.make("chicken_v0", raw=raw)
    env.reset()
    assert env.action_space("player_0").contains(np.array(1))
    env.step(np.array(1))
    env.step(np.array(0, dtype=np.int32))
    assert env.unwrapped.last_stage.actions == {"player_0": 1, "player_1": 0}
    assert isinstance(env.unwrapped.last_stage.actions["player_0"], int)
    with pytest.raises(TypeError, match="must be an integer"):
        env.step(np.array([1]))  # a 1-element vector is not an action
    with pytest.raises(TypeError, match="must be an integer"):
        env.step(np.array(1.0))


class _GuardedGame(StackelbergEnv):
    """3 actions; action 2 ("guard") is legal only for the leader."""

    metadata = {**StackelbergEnv.metadata, "name": "guarded_v0"}
    action_names = ("a", "b", "guard")

    def __init__(self, **kwargs):
        super().__init__(n_agents=3, num_actions=3, max_cycles=2, **kwargs)

    def _legal_actions(self, agent_index):
        if self.possible_agents[agent_index] == self.leader:
            return np.ones(3, np.int8)
        return np.array([1, 1, 0], np.int8)

    def _play_stage(self, leader, actions):
        return actions.astype(float), True

    @property
    def stage_reward_range(self):
        return 0.0, 2.0


def test_masked_action():
    env = _GuardedGame()
    env.reset()
    np.testing.assert_array_equal(env.observe("player_0")["action_mask"], [1, 1, 1])
    for waiting in ("player_1", "player_2"):
        np.testing.assert_array_equal(env.observe(waiting)["action_mask"], [1, 0, 0])
    env.step(2)
    np.testing.assert_array_equal(env.observe("player_0")["action_mask"], [1, 0, 0])
    np.testing.assert_array_equal(env.observe("player_1")["action_mask"], [1, 1, 0])
    with pytest.raises(ValueError) as info:
        env.step(2)
    assert "player_1's action 2 is masked" in str(info.value)
    assert "legal actions: [0, 1]" in str(info.value)
    assert env.agent_selection == "player_1"  # nothing lost: it may act again
    env.step(1)
    env.step(0)
    assert env.last_stage.rewards == {"player_0": 2.0, "player_1": 1.0, "player_2": 0.0}


# player_0 in the top-left corner: "up" (1) and "left" (3) would leave the grid
CORNER = {"agents": [[0, 0], [2, 2]], "fair": [[0, 2]], "unfair": [[2, 0]]}


@pytest.mark.parametrize("parallel", [False, True], ids=["wrapped", "parallel"])
@pytest.mark.parametrize(
    "name, kwargs, action, message",
    [
        (
            "resource_collection_v0",
            {"layout": CORNER},
            1,
            r"player_0's action 1 is masked now; legal actions: \[0, 2, 4\]",
        ),
        ("chicken_v0", {}, 2, r"player_0's action 2 is out of range; valid actions are 0..1 \(Dare, Chicken\)"),
    ],
    ids=["masked", "out-of-range"],
)
def test_illegal_action_through_public_envs(parallel, name, kwargs, action, message):
    """What users get (order-enforcing wrapper, phase-based parallel view) raises the env's own error."""
    env = fairlead.make(name, parallel=parallel, **kwargs)
    env.reset(seed=0)
    aec = env.aec_env if parallel else env
    mask = aec.observe("player_0")["action_mask"]
    assert action >= len(mask) or not mask[action]
    assert isinstance(aec, pettingzoo.utils.wrappers.OrderEnforcingWrapper)
    with pytest.raises(ValueError, match=message):
        env.step({"player_0": action, "player_1": 0} if parallel else action)
    assert aec.agent_selection == "player_0" and aec.unwrapped.phase == "lead"  # nothing lost
    env.step({"player_0": 0, "player_1": 0} if parallel else 0)
    assert aec.unwrapped.phase == "follow" and aec.unwrapped.stage == 0


@pytest.mark.parametrize("bad, message", [(5, "out of range"), (2.0, "must be an integer")])
def test_parallel_step_is_all_or_nothing(bad, message):
    """An illegal follower action applies no action of the phase; the corrected step then works."""
    par = fairlead.make("chicken_v0", parallel=True, n_agents=3, max_cycles=2)
    par.reset(seed=0)
    par.step({"player_0": 0, "player_1": 0, "player_2": 0})  # the leader dares
    game = par.aec_env.unwrapped
    with pytest.raises(
        (ValueError, TypeError), match=f"player_2's action .*{message}.*no action of this phase was applied"
    ):
        par.step({"player_0": 0, "player_1": 1, "player_2": bad})
    assert game.phase == "follow" and game.stage == 0 and par.aec_env.agent_selection == "player_1"
    _, rewards, _, _, _ = par.step({"player_0": 0, "player_1": 1, "player_2": 1})
    assert game.last_stage.actions == {"player_0": 0, "player_1": 1, "player_2": 1}
    assert rewards == game.last_stage.rewards


@pytest.mark.parametrize("raw", RAW_AND_WRAPPED)
def test_step_after_end(raw):
    env = fairlead.make("chicken_v0", max_cycles=1, raw=raw)
    env.reset()
    for _agent in env.agent_iter():
        env.step(None if env.last()[2] else 0)
    assert env.agents == []
    for action in (0, None):
        with pytest.raises(RuntimeError, match=r"episode is over; call reset\(\)"):
            env.step(action)
    env.reset()  # and the env is usable again
    env.step(0)


def test_live_action_after_termination_before_removal():
    env = fairlead.make("chicken_v0", max_cycles=1)
    env.reset()
    play(env, [0, 1])
    assert env.terminations["player_0"]
    with pytest.raises(ValueError, match="only valid action is None"):
        env.step(0)


def test_parallel_step_after_end():
    par = fairlead.make("chicken_v0", parallel=True, max_cycles=1)
    par.reset()
    par.step({"player_0": 0, "player_1": 0})
    par.step({"player_0": 0, "player_1": 0})
    assert par.agents == []
    with pytest.raises(RuntimeError, match="episode is over"):
        par.step({"player_0": 0, "player_1": 0})
